"""The scenario use cases against the in-memory unit of work."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opencdmo.adapters import scenario_file
from opencdmo.errors import Conflict
from opencdmo.services import scenarios
from tests.fakes import FakeUnitOfWork


def test_import_stores_everything_and_commits_once(sample_text: str) -> None:
    uow = FakeUnitOfWork()
    counts = scenarios.import_scenario(uow, scenario_file.parse_scenario(sample_text))
    assert uow.committed == 1
    assert counts["sites"] == 2
    assert counts["batches"] == 7
    assert [order.number for order in uow.orders.items] == ["PO-2027-001", "PO-2027-002", "PO-2027-003"]


def test_import_refuses_a_database_that_holds_a_network(sample_text: str) -> None:
    uow = FakeUnitOfWork()
    scenarios.import_scenario(uow, scenario_file.parse_scenario(sample_text))
    with pytest.raises(Conflict, match="--replace"):
        scenarios.import_scenario(uow, scenario_file.parse_scenario(sample_text))
    assert uow.committed == 1
    assert uow.store.row_counts()["orders"] == 3


def test_import_with_replace_swaps_the_network(sample_text: str) -> None:
    uow = FakeUnitOfWork()
    scenarios.import_scenario(uow, scenario_file.parse_scenario(sample_text))
    smaller = scenario_file.parse_scenario(sample_text)
    del smaller.orders[1:]
    steps: list[str] = []
    counts = scenarios.import_scenario(uow, smaller, replace=True, progress=steps.append)
    assert counts["orders"] == 1
    assert "clearing the stored network" in steps
    assert uow.committed == 2


def test_summary_of_the_order_book(sample_text: str) -> None:
    uow = FakeUnitOfWork()
    scenarios.import_scenario(uow, scenario_file.parse_scenario(sample_text))
    summary = scenarios.summarise(uow)
    assert [line.name for line in summary.sponsors] == ["Northwind Biologics", "Helix Vaccines"]
    northwind = summary.sponsors[0]
    assert (northwind.programs, northwind.orders, northwind.batches) == (2, 2, 5)
    assert northwind.order_value == Decimal("3") * 2400000 + 2 * Decimal("650000.50")
    assert summary.batches_by_status["planned"] == 2
    assert summary.batches_by_status["cancelled"] == 1
    assert summary.batches_by_modality == {"monoclonal-antibody": 3, "sterile-injectable": 2, "vaccine": 2}
    assert str(summary.first_release) == "2027-01-04"
    assert str(summary.last_due) == "2027-09-30"
    assert summary.sites[0].suites_by_kind == {"downstream": 1, "qc-lab": 1, "upstream": 2}
    assert not summary.is_empty


def test_summary_of_an_empty_database() -> None:
    summary = scenarios.summarise(FakeUnitOfWork())
    assert summary.is_empty
    assert summary.first_release is None
