"""Planning use cases on the in-memory fakes: translation to the engine, KPIs, storage rules, re-planning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.errors import DomainError, NotFound
from opencdmo.scheduling import Machine, Renewable, Violation, check
from opencdmo.services import planning, scenarios
from opencdmo.services.plan_model import build_model, horizon_origin, plannable
from tests import factories
from tests.fakes import FakeUnitOfWork

FAST = planning.PlanOptions(time_limit=2.0, workers=1, strategy="cpsat", created_by="tester")
NOW = datetime(2027, 1, 10, tzinfo=UTC)


@pytest.fixture
def uow(sample_text: str) -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    scenarios.import_scenario(fake, scenario_file.parse_scenario(sample_text))
    return fake


def _statuses(uow: FakeUnitOfWork) -> dict[str, str]:
    return {batch.lot_number: batch.status.value for order in uow.orders.items for batch in order.batches}


def test_a_plan_is_checked_stored_with_its_kpis_and_schedules_the_planned_batches(uow: FakeUnitOfWork) -> None:
    report = planning.plan_network(uow, FAST, now=NOW)

    version = uow.schedules.get()
    assert version is not None
    assert report.version == version.number == 1
    assert version.created_by == "tester"
    assert version.status in ("optimal", "feasible")
    assert version.lower_bound is not None
    assert version.objective is not None
    assert version.lower_bound <= version.objective
    planned_lots = {op.batch.lot_number for op in version.operations if op.batch is not None}
    # released, in-QC and cancelled batches are not planned; in-progress, scheduled and planned ones are
    assert planned_lots == {"NWB101-27-001", "NWB101-27-002", "NWB101-27-003", "HXV7-27-002"}
    assert report.kpis.batches == 4
    statuses = _statuses(uow)
    assert statuses["NWB101-27-003"] == statuses["HXV7-27-002"] == "scheduled"
    assert statuses["NWB101-27-001"] == "in-progress"
    assert uow.committed == 2  # the import, then the plan


def test_plan_respects_hold_times_downtime_and_qc_labs(uow: FakeUnitOfWork) -> None:
    planning.plan_network(uow, FAST, now=NOW)
    version = uow.schedules.get()
    assert version is not None
    for batch, items in version.batch_operations().items():
        stages = [op for op in items if op.kind is domain.OperationKind.STAGE]
        for before, after, stage in zip(stages, stages[1:], batch.order.program.process.stages, strict=False):
            if stage.max_hold_hours is not None:
                assert after.start - before.end <= timedelta(hours=stage.max_hold_hours)
        qc = [op for op in items if op.kind is domain.OperationKind.QC_RELEASE]
        assert len(qc) == 1
        assert qc[0].start >= stages[-1].end
        assert qc[0].suite.kind is domain.SuiteKind.QC_LAB
    for op in version.operations:
        for window in op.suite.downtime:
            assert not (op.start < window.end and window.start < op.end), (op, window)


def test_in_progress_batch_starts_its_first_stage_at_the_origin(uow: FakeUnitOfWork) -> None:
    planning.plan_network(uow, FAST, now=NOW)
    version = uow.schedules.get()
    assert version is not None
    first = next(op for op in version.operations if op.batch and op.batch.lot_number == "NWB101-27-001")
    assert first.start == version.origin == datetime(2027, 1, 4, tzinfo=UTC)
    assert first.fixed


def test_a_plan_that_fails_the_check_is_not_stored(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "check", lambda problem, schedule: [Violation("setup", "made-up violation")])
    before = _statuses(uow)
    with pytest.raises(planning.PlanRejected, match="made-up violation"):
        planning.plan_network(uow, FAST)
    assert uow.schedules.items == []
    assert _statuses(uow) == before
    assert uow.committed == 1


def test_nothing_to_plan_is_refused() -> None:
    empty = FakeUnitOfWork()
    with pytest.raises(planning.Conflict, match="nothing to plan"):
        planning.plan_network(empty, FAST)


def test_bad_options_are_refused_with_the_flag_named() -> None:
    with pytest.raises(planning.InputError, match="--strategy"):
        planning.PlanOptions(strategy="magic")
    with pytest.raises(planning.InputError, match="--time-limit"):
        planning.PlanOptions(time_limit=0)


def test_changeovers_distinguish_a_campaign_from_another_product_of_the_same_family() -> None:
    suite = factories.suite(same_product_hours=12, default_changeover_hours=36)
    site = factories.site(
        suites=[
            suite,
            factories.suite(
                "QC",
                kind="qc-lab",
                capabilities=frozenset(),
                construction=None,
                qc_analysts=4,
                same_product_hours=0,
                default_changeover_hours=0,
            ),
        ]
    )
    family = factories.family()
    process = factories.process(stages=[factories.stage("production")], qc_release_hours=24, qc_analysts=2)
    sponsor = factories.sponsor()
    one = factories.program(name="P1", sponsor=sponsor, product_family=family, process=process)
    two = factories.program(name="P2", sponsor=sponsor, product_family=family, process=process)
    orders = [factories.order(number="A", program=one), factories.order(number="B", program=two)]
    for order in orders:
        order.add_batch(f"{order.number}-1")
    batches = plannable(orders)
    model = build_model([site], batches, origin=horizon_origin(batches), objective=planning.PLAN_OBJECTIVE)
    machine = model.problem.resources[0]
    assert isinstance(machine, Machine)
    assert machine.setup_time(0, 0) == 12 * 60  # same product: a campaign
    assert machine.setup_time(0, 1) == 36 * 60  # another product of the same family: full cleaning
    lab = model.problem.resources[1]
    assert isinstance(lab, Renewable)
    assert lab.capacity == 4
    qc = model.problem.tasks[1]
    assert qc.modes[0].demands == (2,)
    assert qc.modes[0].duration == 24 * 60
    job = model.problem.jobs[0]
    assert job.due == model.minutes(domain.due_at(orders[0]))
    assert job.weight == 40  # 40,000 a day late, in thousands


def test_a_stage_no_suite_can_run_is_refused() -> None:
    site = factories.site(suites=[factories.suite(kind="downstream")])
    order = factories.order()
    order.add_batch("L-1")
    with pytest.raises(DomainError, match="can run in no suite"):
        build_model([site], plannable([order]), origin=NOW, objective=planning.PLAN_OBJECTIVE)


def _operation(batch: domain.Batch, suite: domain.Suite, start: datetime, hours: int) -> domain.Operation:
    return domain.Operation(
        kind=domain.OperationKind.STAGE, suite=suite, start=start, end=start + timedelta(hours=hours), batch=batch
    )


def test_kpis_count_lateness_penalties_changeovers_and_utilization() -> None:
    suite = factories.suite(downtime=[domain.DowntimeWindow(factories.at(2), factories.at(3), "maintenance")])
    early = factories.order(number="A", due_date=factories.at(10).date(), late_penalty_per_day=Decimal(1000))
    late = factories.order(
        number="B",
        program=factories.program(name="OTHER"),
        due_date=factories.at(1).date(),
        late_penalty_per_day=Decimal(2400),
    )
    first, second = early.add_batch("A-1"), late.add_batch("B-1")
    cleaning = domain.Operation(
        kind=domain.OperationKind.CLEANING, suite=suite, start=factories.at(1, 12), end=factories.at(2)
    )
    operations = [
        _operation(first, suite, factories.at(1), 12),
        cleaning,
        _operation(second, suite, factories.at(3), 36),
    ]
    kpis, loads = domain.measure(operations, [suite], origin=factories.at(1))
    assert kpis.batches == 2
    assert kpis.on_time == 1
    assert kpis.on_time_rate == 0.5
    # B-1 was due at the end of March 1st and ends at noon on March 4th: 60 hours late
    assert kpis.total_tardiness_hours == 60.0
    assert kpis.weighted_tardiness == Decimal("6000.00")  # 2.5 days × 2,400
    assert kpis.changeovers == 1
    assert kpis.cleaning_hours == 12.0
    (load,) = loads
    assert load.busy_hours == 48.0
    assert load.available_hours == 84.0 - 24.0  # origin to the end of the plan, minus a day of downtime
    assert operations[2].late
    assert not operations[0].late


def test_an_operation_must_belong_to_a_batch_unless_it_is_cleaning() -> None:
    suite = factories.suite()
    with pytest.raises(DomainError, match="belong to a batch"):
        domain.Operation(kind=domain.OperationKind.STAGE, suite=suite, start=factories.at(1), end=factories.at(2))
    with pytest.raises(DomainError, match="after start"):
        domain.Operation(kind=domain.OperationKind.CLEANING, suite=suite, start=factories.at(2), end=factories.at(1))


def test_suite_down_replans_around_the_window_and_keeps_started_operations(uow: FakeUnitOfWork) -> None:
    planning.plan_network(uow, FAST, now=NOW)
    base = uow.schedules.get()
    assert base is not None
    busy = next(op for op in base.operations if op.kind is domain.OperationKind.STAGE and op.start > base.origin)
    start, end = busy.start - timedelta(hours=1), busy.start + timedelta(days=10)
    result = planning.reschedule(uow, planning.SuiteDown(busy.suite.name, start, end), FAST, now=NOW)

    new = uow.schedules.get()
    assert new is not None
    assert new.number == 2
    assert new.based_on == 1
    assert new.kind is domain.VersionKind.RESCHEDULE
    for op in new.operations:
        if op.suite is busy.suite and op.kind is not domain.OperationKind.CLEANING:
            assert op.end <= start or op.start >= end, op
    started = {(op.batch.lot_number, op.step): op.start for op in base.operations if op.batch and op.start < start}
    for op in new.operations:
        if op.batch is not None and (op.batch.lot_number, op.step) in started:
            assert op.start == started[op.batch.lot_number, op.step]
            assert op.fixed
    assert any(move.lot == busy.batch.lot_number for move in result.moved) if busy.batch else False
    assert new.moved == len(result.moved) >= 1
    assert any(window.start <= start and window.end == end for window in busy.suite.downtime)


def test_a_failed_batch_is_cancelled_and_replaced(uow: FakeUnitOfWork) -> None:
    planning.plan_network(uow, FAST, now=NOW)
    result = planning.reschedule(uow, planning.BatchFailed("NWB101-27-002"), FAST, now=NOW)
    assert result.replacement == "NWB101-27-002-R1"
    statuses = _statuses(uow)
    assert statuses["NWB101-27-002"] == "cancelled"
    assert statuses["NWB101-27-002-R1"] == "scheduled"
    new = uow.schedules.get()
    assert new is not None
    lots = {op.batch.lot_number for op in new.operations if op.batch is not None}
    assert "NWB101-27-002-R1" in lots
    assert new.kpis.batches == 4  # the failed batch no longer counts for delivery


def test_reschedule_without_a_plan_or_with_an_unknown_suite_is_refused(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound, match="opencdmo schedule"):
        planning.reschedule(uow, planning.BatchFailed("NWB101-27-002"), FAST)
    planning.plan_network(uow, FAST, now=NOW)
    with pytest.raises(NotFound, match="NO-SUCH"):
        planning.reschedule(uow, planning.SuiteDown("NO-SUCH", NOW, NOW + timedelta(days=1)), FAST)


def test_every_stored_plan_passes_the_engines_check(uow: FakeUnitOfWork) -> None:
    """The translation back to operations loses nothing: re-solving the same model reproduces a valid plan."""
    batches = plannable(uow.orders.items)
    model = build_model(uow.sites.items, batches, origin=horizon_origin(batches), objective=planning.PLAN_OBJECTIVE)
    from opencdmo.scheduling import solve

    result = solve(model.problem, time_limit=2, workers=1, strategy="cpsat")
    assert result.schedule is not None
    assert check(model.problem, result.schedule) == []
    operations = model.operations(result.schedule)
    assert sum(op.kind is not domain.OperationKind.CLEANING for op in operations) == len(model.problem.tasks)
