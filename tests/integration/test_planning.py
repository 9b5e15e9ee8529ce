"""Planning on SQLite and PostgreSQL: versions stored and read back, sponsor scope, re-planning, replacing imports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Forbidden
from opencdmo.services import planning, scenarios

FAST = planning.PlanOptions(time_limit=2.0, workers=1, strategy="cpsat")


def _load(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))


def test_a_stored_plan_reads_back_with_its_kpis_and_operations(app: App, sample_text: str) -> None:
    _load(app, sample_text)
    made = planning.plan_network(app.unit_of_work(), FAST)
    read = planning.latest_plan(app.unit_of_work())
    assert read.version == made.version == 1
    assert read.kpis == made.kpis
    assert read.lower_bound == made.lower_bound
    assert sorted((line.lot, line.step, line.start) for line in read.operations) == sorted(
        (line.lot, line.step, line.start) for line in made.operations
    )
    assert {line.suite for line in read.suites} == {line.suite for line in made.suites}
    with app.unit_of_work() as uow:
        statuses = uow.batches.count_by_status()
    assert statuses[domain.BatchStatus.SCHEDULED] == 3  # one was scheduled already, two were planned


def test_a_sponsor_sees_only_its_own_operations(app: App, sample_text: str) -> None:
    _load(app, sample_text)
    planning.plan_network(app.unit_of_work(), FAST)
    with app.unit_of_work() as uow:
        helix = next(s for s in uow.sponsors.list() if s.name == "Helix Vaccines")
    seen = planning.latest_plan(app.unit_of_work(Scope(sponsor_id=helix.id)))
    assert seen.operations
    assert {line.sponsor for line in seen.operations} == {"Helix Vaccines"}
    assert all(line.kind != "cleaning" for line in seen.operations)
    # Its KPIs count its own batches only, and no suite's load is shown (it would reveal others' work).
    helix_batches = {line.lot for line in seen.operations if line.lot}
    assert seen.kpis.batches == len(helix_batches) == 1
    assert seen.suites == []
    staff = planning.latest_plan(app.unit_of_work())
    assert staff.kpis.batches > seen.kpis.batches
    assert staff.suites


def test_reschedule_after_a_breakdown_is_stored_as_a_new_version(app: App, sample_text: str) -> None:
    _load(app, sample_text)
    base = planning.plan_network(app.unit_of_work(), FAST)
    target = next(line for line in base.operations if line.kind == "stage" and line.start > base.origin)
    down = planning.SuiteDown(target.suite, target.start, target.start + timedelta(days=7))
    result = planning.reschedule(app.unit_of_work(), down, FAST)
    assert result.plan.version == 2
    assert result.based_on == 1
    assert result.moved
    read = planning.latest_plan(app.unit_of_work())
    assert sum(line.moved for line in read.operations) == len(result.moved)
    for line in read.operations:
        if line.suite == target.suite and line.kind != "cleaning":
            assert line.end <= down.start or line.start >= down.end
    exported = scenarios.export_scenario(app.unit_of_work())
    suite = next(s for s in exported.suites if s.name == target.suite)
    assert any(window.reason.startswith("breakdown") for window in suite.downtime)


def test_a_replacing_import_clears_the_stored_plans(app: App, sample_text: str) -> None:
    _load(app, sample_text)
    planning.plan_network(app.unit_of_work(), FAST)
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text), replace=True)
    with app.unit_of_work() as uow:
        assert uow.schedules.get() is None
        assert uow.schedules.next_number() == 1


def test_a_sponsor_scope_cannot_store_a_plan(app: App, sample_text: str) -> None:
    """A sponsor sees only its own batches: a plan made in its scope would drop everyone else's."""
    _load(app, sample_text)
    with app.unit_of_work() as uow:
        helix = next(s for s in uow.sponsors.list() if s.name == "Helix Vaccines")
    with pytest.raises(Forbidden, match="only CDMO staff"):
        planning.plan_network(app.unit_of_work(Scope(sponsor_id=helix.id)), FAST)
    with app.unit_of_work() as uow:
        assert uow.schedules.list() == []
