"""Process templates, sponsors, programs and orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from opencdmo import domain
from opencdmo.errors import DomainError
from tests import factories


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"duration_hours": 0}, "duration_hours"),
        ({"duration_hours": 2.5}, "duration_hours"),
        ({"suite_kind": "qc-lab"}, "suite_kind"),
        ({"suite_kind": "warehouse"}, "suite_kind"),
        ({"max_hold_hours": -1}, "max_hold_hours"),
        ({"name": "x" * 81}, "name"),
    ],
)
def test_invalid_stages(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        factories.stage(**overrides)
    assert raised.value.field == field


def test_a_stage_can_take_longer_or_shorter_in_a_particular_suite() -> None:
    fast, usual = factories.suite("FAST"), factories.suite("USUAL")
    stage = factories.stage(duration_hours=336)
    stage.set_duration_in(fast, 312)
    assert stage.duration_in(fast) == 312
    assert stage.duration_in(usual) == 336
    with pytest.raises(DomainError, match="already set"):
        stage.set_duration_in(fast, 300)


def test_a_suite_duration_needs_a_suite_that_can_run_the_stage() -> None:
    downstream = factories.suite("DSP", kind="downstream")
    stage = factories.stage()
    with pytest.raises(DomainError, match="cannot run this stage"):
        stage.set_duration_in(downstream, 100)
    assert stage.suite_durations == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stages": []}, "at least one stage"),
        ({"stages": [factories.stage("a"), factories.stage("a")]}, "unique"),
        ({"stages": [factories.stage("a"), factories.stage("b", max_hold_hours=4)]}, "last stage"),
        ({"qc_release_hours": -1}, "qc_release_hours"),
        ({"qc_release_hours": 100, "qc_analysts": 0}, "analyst"),
    ],
)
def test_invalid_processes(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        factories.process(**overrides)


def test_sponsor_and_program_values_are_checked() -> None:
    with pytest.raises(DomainError, match="size"):
        factories.sponsor(size="huge")
    with pytest.raises(DomainError, match="modality"):
        factories.program(modality="homeopathy")
    with pytest.raises(DomainError, match="phase"):
        factories.program(phase="phase-4")
    assert {m.value for m in domain.Modality} >= {"monoclonal-antibody", "cell-therapy", "medical-device"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"batch_count": 0}, "batch_count"),
        ({"batch_count": "3"}, "batch_count"),
        ({"due_date": date(2027, 1, 3)}, "due_date"),
        ({"release_date": "2027-01-04"}, "release_date"),
        ({"priority": 0}, "priority"),
        ({"priority": 6}, "priority"),
        ({"late_penalty_per_day": -1}, "late_penalty_per_day"),
        ({"price_per_batch": "1.005"}, "price_per_batch"),
        ({"price_per_batch": "lots"}, "price_per_batch"),
        ({"number": ""}, "number"),
    ],
)
def test_invalid_orders(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        factories.order(**overrides)
    assert raised.value.field == field


def test_an_order_is_for_a_program_of_its_own_sponsor() -> None:
    other_program = factories.program(sponsor=factories.sponsor("Helix Vaccines"))
    with pytest.raises(DomainError, match="another sponsor") as raised:
        factories.order(sponsor=factories.sponsor("Northwind"), program=other_program)
    assert raised.value.field == "program"


def test_money_is_exact_to_the_cent() -> None:
    order = factories.order(price_per_batch="1250000.5", late_penalty_per_day=0.1, batch_count=3)
    assert order.price_per_batch == Decimal("1250000.50")
    assert order.late_penalty_per_day == Decimal("0.10")
    assert order.value == Decimal("3750001.50")


def test_an_order_never_has_more_active_batches_than_ordered() -> None:
    order = factories.order(batch_count=2)
    order.add_batch("L-1")
    second = order.add_batch("L-2")
    with pytest.raises(DomainError, match="for 2 batch"):
        order.add_batch("L-3")
    second.cancel("contaminated seed train")
    replacement = order.add_batch("L-3")  # a cancelled batch frees its place
    assert [batch.lot_number for batch in order.active_batches] == ["L-1", "L-3"]
    assert replacement.sponsor is order.sponsor


def test_lot_numbers_are_unique_within_an_order() -> None:
    order = factories.order()
    order.add_batch("L-1")
    with pytest.raises(DomainError, match="already used"):
        order.add_batch("L-1")
    assert len(order.batches) == 1
