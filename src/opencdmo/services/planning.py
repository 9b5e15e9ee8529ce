"""Planning the network: solve the stored order book on the stored network, check the plan, store it as a
new schedule version with its KPIs; and re-plan after a disruption (a suite down, a batch failed).

The translation to the engine is in :mod:`opencdmo.services.plan_model`. Every plan is checked with the
engine's independent :func:`opencdmo.scheduling.check` before it is stored: a plan that fails the check
raises :class:`PlanRejected` and nothing is stored. Storing a plan moves its planned batches to scheduled.

The lower bound stored with a version is the engine's when it proves one, else the relaxation bound of
:func:`opencdmo.services.plan_model.relaxation_bound` (each batch alone, no queueing).

Objective: the engine minimises the late penalties (weighted tardiness) plus one unit per minute of cleaning;
a re-plan adds one unit per minute an operation moves away from the plan it repairs, so it moves few.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from opencdmo import domain
from opencdmo.domain.schedules import CLEANING_STEP, midnight
from opencdmo.errors import Conflict, InputError, NotFound
from opencdmo.scheduling import STRATEGIES, Objective, Progress, Result, Schedule, check, greedy, solve
from opencdmo.services._names import can_name_a_record
from opencdmo.services.plan_model import (
    Key,
    Placement,
    PlanModel,
    Window,
    build_model,
    horizon_origin,
    plannable,
    relaxation_bound,
)
from opencdmo.services.unit_of_work import UnitOfWork

Steps = Callable[[str], None]
OnSolution = Callable[[Progress], None]

PLAN_OBJECTIVE = Objective(weighted_tardiness=1, setup_time=1)
REPLAN_OBJECTIVE = Objective(weighted_tardiness=1, setup_time=1, deviation=1)


class PlanRejected(Conflict):
    """The solver found no plan, or its plan broke a rule of the network: nothing was stored."""


def _quiet(_step: str) -> None:
    return None


@dataclass(frozen=True)
class PlanOptions:
    time_limit: float = 10.0
    workers: int = 2
    seed: int = 0
    strategy: str = "auto"
    created_by: str = "planner"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InputError(f"--strategy: unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if self.time_limit <= 0:
            raise InputError("--time-limit: must be more than 0 seconds")
        if self.workers < 1:
            raise InputError("--workers: must be at least 1")


# Plain values out: what the CLI prints, the Gantt draws and a later API returns.


@dataclass(frozen=True)
class OperationLine:
    kind: str
    step: str
    suite: str
    site: str
    start: datetime
    end: datetime
    lot: str = ""
    order: str = ""
    sponsor: str = ""
    product: str = ""
    family: str = ""
    due: datetime | None = None
    late: bool = False
    moved: bool = False
    fixed: bool = False


@dataclass(frozen=True)
class SuiteLine:
    suite: str
    site: str
    utilization: float
    busy_hours: float
    cleaning_hours: float
    changeovers: int


@dataclass(frozen=True)
class PlanReport:
    """A stored schedule version in a planner's words."""

    version: int
    kind: str
    status: str
    strategy: str
    objective: int | None
    lower_bound: int | None
    solve_seconds: float
    seconds: float
    origin: datetime
    kpis: domain.PlanKpis
    suites: list[SuiteLine] = field(default_factory=list)
    operations: list[OperationLine] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures of ``opencdmo schedule --json``."""
        kpis = self.kpis
        return {
            "version": self.version,
            "status": self.status,
            "strategy": self.strategy,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "batches": kpis.batches,
            "on_time_rate": round(kpis.on_time_rate, 4),
            "total_tardiness_hours": kpis.total_tardiness_hours,
            "weighted_tardiness": float(kpis.weighted_tardiness),
            "changeovers": kpis.changeovers,
            "cleaning_hours": kpis.cleaning_hours,
            "mean_utilization": kpis.mean_utilization,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class Move:
    lot: str
    step: str
    from_suite: str
    to_suite: str
    from_start: datetime
    to_start: datetime

    @property
    def shift_hours(self) -> float:
        return (self.to_start - self.from_start) / timedelta(hours=1)

    @property
    def suite_changed(self) -> bool:
        return self.from_suite != self.to_suite


@dataclass(frozen=True)
class AtRisk:
    """A batch that now finishes after its due date; ``newly`` when the plan before had it on time."""

    lot: str
    order: str
    sponsor: str
    due: datetime
    finish: datetime
    newly: bool

    @property
    def late_hours(self) -> float:
        return (self.finish - self.due) / timedelta(hours=1)


@dataclass(frozen=True)
class RescheduleReport:
    plan: PlanReport
    based_on: int
    disruption: str
    moved: list[Move]
    at_risk: list[AtRisk]
    replacement: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            **self.plan.summary(),
            "based_on": self.based_on,
            "disruption": self.disruption,
            "moved_operations": len(self.moved),
            "moved": [
                {
                    "lot": move.lot,
                    "step": move.step,
                    "from_suite": move.from_suite,
                    "to_suite": move.to_suite,
                    "from_start": move.from_start.isoformat(),
                    "to_start": move.to_start.isoformat(),
                }
                for move in self.moved
            ],
            "due_dates_at_risk": [
                {
                    "lot": risk.lot,
                    "order": risk.order,
                    "due": risk.due.isoformat(),
                    "finish": risk.finish.isoformat(),
                    "newly": risk.newly,
                }
                for risk in self.at_risk
            ],
            "replacement": self.replacement,
        }


# Disruptions.


@dataclass(frozen=True)
class SuiteDown:
    """A suite cannot run from ``start`` to ``end`` (a breakdown); recorded as downtime of the suite."""

    suite: str
    start: datetime
    end: datetime

    def describe(self) -> str:
        return f"suite {self.suite} down {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class BatchFailed:
    """Batch ``lot`` failed at ``at`` (default: the end of its first operation in the current plan).

    It is cancelled, what it already ran stays in the plan, and a replacement batch of its order is planned.
    """

    lot: str
    at: datetime | None = None

    def describe(self) -> str:
        return f"batch {self.lot} failed"


Disruption = SuiteDown | BatchFailed


# Use cases.


@dataclass
class _Network:
    sites: list[domain.Site]
    orders: list[domain.Order]

    @property
    def suites(self) -> list[domain.Suite]:
        return [suite for site in self.sites for suite in site.suites]


def _load(uow: UnitOfWork) -> _Network:
    uow.product_families.list()
    uow.processes.list()  # stages and their durations, before programs point at them
    return _Network(sites=uow.sites.list(), orders=uow.orders.list())


def plan_network(
    uow: UnitOfWork,
    options: PlanOptions | None = None,
    *,
    progress: Steps = _quiet,
    on_solution: OnSolution | None = None,
    now: datetime | None = None,
) -> PlanReport:
    """Plan every planned, scheduled and in-progress batch; store the checked plan as a new version."""
    options = options or PlanOptions()
    clock = time.perf_counter()
    with uow:
        progress("reading the network and the order book")
        network = _load(uow)
        batches = plannable(network.orders)
        if not batches:
            raise Conflict("there is nothing to plan: no batch is planned, scheduled or in progress")
        previous = uow.schedules.get()
        prefer: dict[domain.Batch, domain.Suite] = {}
        if previous is not None:
            for operation in uow.schedules.operations(previous):
                if operation.batch is not None and operation.kind is domain.OperationKind.STAGE:
                    prefer.setdefault(operation.batch, operation.suite)
        progress(f"building the problem: {len(batches):,} batches")
        model = build_model(
            network.sites, batches, origin=horizon_origin(batches), objective=PLAN_OBJECTIVE, prefer=prefer
        )
        progress(f"solving: {len(model.problem.tasks):,} operations on {len(model.resources)} suites")
        result = _solve(model, options, on_solution)
        schedule = _checked(model, result)
        progress("measuring and storing the plan")
        operations = model.operations(schedule)
        version = _version(uow, model, result, options, operations, network, now=now)
        for batch in batches:
            if batch.status is domain.BatchStatus.PLANNED:
                batch.schedule()
        uow.schedules.add(version)
        uow.commit()
        return _report(version, operations, network, result, time.perf_counter() - clock)


def reschedule(
    uow: UnitOfWork,
    disruption: Disruption,
    options: PlanOptions | None = None,
    *,
    progress: Steps = _quiet,
    on_solution: OnSolution | None = None,
    now: datetime | None = None,
) -> RescheduleReport:
    """Re-plan the newest version after ``disruption``: operations started before it stay where they are,
    the rest are re-planned with a penalty for every minute they move; the new version is stored."""
    options = options or PlanOptions()
    clock = time.perf_counter()
    with uow:
        progress("reading the network, the order book and the current plan")
        network = _load(uow)
        base = uow.schedules.get()
        if base is None:
            raise NotFound("schedule version", "to re-plan (run 'opencdmo schedule' first)")
        base_operations = [op for op in uow.schedules.operations(base) if op.batch is not None]
        placements: dict[Key, Placement] = {
            (op.batch.lot_number, op.step): Placement(op.suite, op.start)
            for op in base_operations
            if op.batch is not None
        }
        replacement: domain.Batch | None = None
        extra: dict[domain.Suite, list[Window]] = {}
        if isinstance(disruption, SuiteDown):
            moment = _suite_down(network, disruption, base_operations, extra)
            failed: domain.Batch | None = None
        else:
            failed, moment = _batch_failed(uow, disruption, base_operations)
            replacement = _replace(uow, failed, moment)
        pinned = {key: place for key, place in placements.items() if place.start < moment}
        reference = {key: place.start for key, place in placements.items() if place.start >= moment}
        batches = plannable(network.orders)
        if failed is not None:
            batches.append(failed)
        progress(f"building the problem: {len(batches):,} batches, {len(pinned):,} operations already started")
        model = build_model(
            network.sites,
            batches,
            origin=base.origin,
            objective=REPLAN_OBJECTIVE,
            pinned=pinned,
            not_before=moment,
            extra_downtime=extra,
            reference=reference,
        )
        progress("repairing the current plan")
        initial = repair(model, placements)
        progress(f"solving: {len(model.problem.tasks):,} operations, {len(model.pinned):,} fixed")
        result = _solve(model, options, on_solution, initial=initial)
        schedule = _checked(model, result)
        moves = _moves(model, schedule, placements)
        moved_tasks = {model.index()[(move.lot, move.step)] for move in moves}
        operations = model.operations(schedule, moved=moved_tasks)
        for suite, windows in extra.items():
            for start, end in windows:
                suite.add_downtime(domain.DowntimeWindow(start=start, end=end, reason="breakdown (re-plan)"))
        version = _version(
            uow,
            model,
            result,
            options,
            operations,
            network,
            now=now,
            kind=domain.VersionKind.RESCHEDULE,
            based_on=base.number,
            disruption=disruption.describe() + (f"; replaced by {replacement.lot_number}" if replacement else ""),
            moved=len(moves),
        )
        for batch in batches:
            if batch.status is domain.BatchStatus.PLANNED:
                batch.schedule()
        at_risk = _at_risk(operations, base_operations)
        uow.schedules.add(version)
        uow.commit()
        report = _report(version, operations, network, result, time.perf_counter() - clock)
        return RescheduleReport(
            plan=report,
            based_on=base.number,
            disruption=version.disruption,
            moved=moves,
            at_risk=at_risk,
            replacement=replacement.lot_number if replacement else None,
        )


def latest_plan(uow: UnitOfWork, number: int | None = None) -> PlanReport:
    """A stored version (the newest by default), with the operations the caller may see."""
    with uow:
        network = _load(uow)
        version = uow.schedules.get(number)
        if version is None:
            raise NotFound("schedule version", number if number is not None else "(none stored yet)")
        operations = uow.schedules.operations(version)
        if uow.sponsor_id is None:
            return _report(version, operations, network, None, version.seconds)
        # A sponsor sees the KPIs of its own batches only, and no suite's load: both would tell it how busy
        # the network is with other sponsors' work.
        own_kpis, _loads = domain.measure(operations, [], version.origin)
        return replace(_report(version, operations, network, None, version.seconds), kpis=own_kpis, suites=[])


# Reading stored versions as the caller may see them. A sponsor sees the KPIs of its own batches only, never a
# suite's load, the objective, the bound or the disruption: each speaks of the other sponsors' work too.


@dataclass(frozen=True)
class VersionLine:
    """A stored schedule version. ``own_only`` when its figures are those of the caller's own batches (a sponsor):
    then ``objective``, ``lower_bound`` and ``disruption`` are None and ``moved`` counts its own operations."""

    number: int
    kind: str
    created_at: datetime
    created_by: str
    status: str
    strategy: str
    origin: datetime
    time_limit: float
    workers: int
    seed: int
    seconds: float
    objective: int | None
    lower_bound: int | None
    kpis: domain.PlanKpis
    based_on: int | None
    disruption: str | None
    moved: int
    own_only: bool

    @property
    def on_time_rate(self) -> float:
        return self.kpis.on_time_rate


@dataclass(frozen=True)
class VersionDetail:
    """A version with the load of each manufacturing suite (empty for a sponsor)."""

    line: VersionLine
    suites: list[SuiteLine]


@dataclass(frozen=True)
class Placed:
    """Where and when one step of a batch runs in a version."""

    lot: str
    step: str
    suite: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class KpiDelta:
    """Version b's KPIs minus version a's."""

    batches: int
    on_time: int
    on_time_rate: float
    total_tardiness_hours: float
    weighted_tardiness: Decimal
    changeovers: int
    cleaning_hours: float
    mean_utilization: float

    @classmethod
    def between(cls, a: domain.PlanKpis, b: domain.PlanKpis) -> KpiDelta:
        return cls(
            batches=b.batches - a.batches,
            on_time=b.on_time - a.on_time,
            on_time_rate=round(b.on_time_rate - a.on_time_rate, 4),
            total_tardiness_hours=round(b.total_tardiness_hours - a.total_tardiness_hours, 2),
            weighted_tardiness=b.weighted_tardiness - a.weighted_tardiness,
            changeovers=b.changeovers - a.changeovers,
            cleaning_hours=round(b.cleaning_hours - a.cleaning_hours, 2),
            mean_utilization=round(b.mean_utilization - a.mean_utilization, 4),
        )


@dataclass(frozen=True)
class Comparison:
    """What changed from version ``a`` to version ``b``, step by step of each batch (cleaning is not compared):
    ``moved`` steps start at another time or run in another suite, ``added`` ones are only in b, ``removed`` ones
    only in a."""

    a: VersionLine
    b: VersionLine
    moved: list[Move]
    added: list[Placed]
    removed: list[Placed]
    unchanged: int
    delta: KpiDelta


@dataclass(frozen=True)
class DueLine:
    """An order due soon with batches still to finish."""

    order: str
    sponsor: str
    program: str
    due_date: date
    open_batches: int


@dataclass(frozen=True)
class LateOrder:
    """An order with a batch that finishes after the order's due date in the plan."""

    order: str
    sponsor: str
    due: datetime
    finish: datetime

    @property
    def late_hours(self) -> float:
        return (self.finish - self.due) / timedelta(hours=1)


@dataclass(frozen=True)
class KpiOverview:
    """The key figures of the newest plan and of the order book, in the caller's scope.

    ``backlog`` counts the batches not yet finished (released, rejected and cancelled ones are) by status;
    ``suites`` is empty for a sponsor, and ``version`` is None until a plan is stored.
    """

    version: VersionLine | None
    suites: list[SuiteLine]
    backlog: dict[str, int]
    upcoming: list[DueLine]
    at_risk: list[LateOrder]

    @property
    def backlog_total(self) -> int:
        return sum(self.backlog.values())


def list_versions(uow: UnitOfWork) -> list[VersionLine]:
    """Every stored schedule version, oldest first."""
    with uow:
        return [_version_line(uow, version) for version in uow.schedules.list()]


def get_version(uow: UnitOfWork, number: int | None = None) -> VersionDetail:
    """Version ``number`` (the newest when None) with the suites' load (staff only)."""
    with uow:
        version = _stored(uow, number)
        line = _version_line(uow, version)
        suites = [] if line.own_only else _suite_lines(version, _site_names(uow.sites.list()))
        return VersionDetail(line=line, suites=suites)


def operations(
    uow: UnitOfWork,
    number: int | None = None,
    *,
    suite: str | None = None,
    order: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[OperationLine]:
    """The operations of version ``number`` (the newest when None) the caller may see, in time order: those in
    the suite named ``suite``, of the order numbered ``order``, or overlapping ``start``..``end``. An unknown
    suite or order gives no operations rather than an error, so a sponsor learns nothing from a guess."""
    for value, name in ((start, "start"), (end, "end")):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise InputError(f"{name}: give a time with a time zone, e.g. 2027-03-01T06:00Z")
    if start is not None and end is not None and end <= start:
        raise InputError("end: must be after start")
    with uow:
        version = _stored(uow, number)
        if not all(can_name_a_record(name) for name in (suite, order) if name is not None):
            return []
        site_of = _site_names(uow.sites.list())
        found = uow.schedules.operations_in(version, suite=suite, order=order, start=start, end=end)
        return [_line(operation, site_of) for operation in found]


def compare_versions(uow: UnitOfWork, a: int, b: int) -> Comparison:
    """How version ``b`` differs from version ``a``, as far as the caller may see."""
    with uow:
        first, second = _stored(uow, a), _stored(uow, b)
        before = _placed(uow, first)
        after = _placed(uow, second)
        moved = [
            Move(was.lot, was.step, was.suite, now.suite, was.start, now.start)
            for key, was in before.items()
            if (now := after.get(key)) is not None and (now.suite != was.suite or now.start != was.start)
        ]
        added = [placed for key, placed in after.items() if key not in before]
        removed = [placed for key, placed in before.items() if key not in after]
        line_a, line_b = _version_line(uow, first), _version_line(uow, second)
    return Comparison(
        a=line_a,
        b=line_b,
        moved=sorted(moved, key=lambda move: (move.from_start, move.lot, move.step)),
        added=added,
        removed=removed,
        unchanged=sum(1 for key in before if key in after) - len(moved),
        delta=KpiDelta.between(line_a.kpis, line_b.kpis),
    )


def kpi_overview(uow: UnitOfWork, *, today: date | None = None, upcoming: int = 10) -> KpiOverview:
    """The newest plan's KPIs, the backlog, the next ``upcoming`` orders due from ``today`` (UTC) and the orders
    at risk of being late in the newest plan, all in the caller's scope."""
    today = today or datetime.now(UTC).date()
    with uow:
        version = uow.schedules.get()
        line = None if version is None else _version_line(uow, version)
        suites: list[SuiteLine] = []
        at_risk: list[LateOrder] = []
        if version is not None and line is not None:
            if not line.own_only:
                suites = _suite_lines(version, _site_names(uow.sites.list()))
            at_risk = [
                LateOrder(order=number, sponsor=sponsor, due=midnight(due + timedelta(days=1)), finish=finish)
                for number, sponsor, due, finish in uow.schedules.late_orders(version)
            ]
        counts = uow.batches.count_by_status()
        unfinished = [status for status in domain.BatchStatus if status not in domain.FINAL_STATUSES]
        backlog = {status.value: counts.get(status, 0) for status in unfinished}
        due_soon = [
            DueLine(
                order=order.number,
                sponsor=order.sponsor.name,
                program=order.program.name,
                due_date=order.due_date,
                open_batches=sum(1 for batch in order.batches if not batch.is_final),
            )
            for order in uow.orders.upcoming(on_or_after=today, limit=upcoming)
        ]
    return KpiOverview(version=line, suites=suites, backlog=backlog, upcoming=due_soon, at_risk=at_risk)


def _stored(uow: UnitOfWork, number: int | None) -> domain.ScheduleVersion:
    version = uow.schedules.get(number)
    if version is None:
        raise NotFound("schedule version", number if number is not None else "(none stored yet)")
    return version


def _placed(uow: UnitOfWork, version: domain.ScheduleVersion) -> dict[tuple[str, str], Placed]:
    return {(row[0], row[1]): Placed(*row) for row in uow.schedules.placements(version)}


def _version_line(uow: UnitOfWork, version: domain.ScheduleVersion) -> VersionLine:
    own_only = uow.sponsor_id is not None
    kpis, moved = version.kpis, version.moved
    if own_only:
        own = uow.schedules.operations_in(version)
        # measure() marks late operations: give it copies, so reading never writes to the stored plan.
        kpis, _loads = domain.measure([replace(operation, id=None) for operation in own], [], version.origin)
        moved = sum(1 for operation in own if operation.moved)
    return VersionLine(
        number=version.number,
        kind=version.kind.value,
        created_at=version.created_at,
        created_by=version.created_by,
        status=version.status,
        strategy=version.strategy,
        origin=version.origin,
        time_limit=version.time_limit,
        workers=version.workers,
        seed=version.seed,
        seconds=version.seconds,
        objective=None if own_only else version.objective,
        lower_bound=None if own_only else version.lower_bound,
        kpis=kpis,
        based_on=version.based_on,
        disruption=None if own_only else version.disruption,
        moved=moved,
        own_only=own_only,
    )


def _suite_lines(version: domain.ScheduleVersion, site_of: dict[domain.Suite, str]) -> list[SuiteLine]:
    return [
        SuiteLine(
            suite=load.suite.name,
            site=site_of.get(load.suite, ""),
            utilization=round(load.utilization, 4),
            busy_hours=load.busy_hours,
            cleaning_hours=load.cleaning_hours,
            changeovers=load.changeovers,
        )
        for load in version.suite_loads
    ]


# Steps of the use cases.


def _solve(
    model: PlanModel, options: PlanOptions, on_solution: OnSolution | None, initial: Schedule | None = None
) -> Result:
    return solve(
        model.problem,
        time_limit=options.time_limit,
        workers=options.workers,
        seed=options.seed,
        initial=initial,
        strategy=options.strategy,
        on_progress=on_solution,
    )


def _checked(model: PlanModel, result: Result) -> Schedule:
    """The result's schedule, if the engine's independent checker finds nothing wrong with it."""
    if result.schedule is None:
        why = "; ".join(result.reasons) or f"the solver found no plan within the time limit ({result.status})"
        raise PlanRejected(f"no plan: {why}")
    violations = check(model.problem, result.schedule)
    if violations:
        shown = "; ".join(violation.message for violation in violations[:5])
        raise PlanRejected(f"the plan breaks {len(violations)} rule(s) and was not stored: {shown}")
    return result.schedule


def _version(
    uow: UnitOfWork,
    model: PlanModel,
    result: Result,
    options: PlanOptions,
    operations: list[domain.Operation],
    network: _Network,
    *,
    now: datetime | None,
    kind: domain.VersionKind = domain.VersionKind.PLAN,
    based_on: int | None = None,
    disruption: str = "",
    moved: int = 0,
) -> domain.ScheduleVersion:
    kpis, loads = domain.measure(operations, network.suites, model.origin)
    return domain.ScheduleVersion(
        number=uow.schedules.next_number(),
        created_by=options.created_by,
        created_at=now or datetime.now(UTC),
        origin=model.origin,
        kind=kind,
        strategy=result.strategy,
        time_limit=options.time_limit,
        workers=options.workers,
        seed=options.seed,
        status=str(result.status),
        objective=result.objective,
        lower_bound=result.lower_bound if result.lower_bound is not None else relaxation_bound(model.problem),
        seconds=round(result.runtime, 3),
        kpis=kpis,
        operations=operations,
        suite_loads=loads,
        based_on=based_on,
        disruption=disruption,
        moved=moved,
    )


def _report(
    version: domain.ScheduleVersion,
    operations: list[domain.Operation],
    network: _Network,
    result: Result | None,
    seconds: float,
) -> PlanReport:
    site_of = _site_names(network.sites)
    lines = [_line(operation, site_of) for operation in operations]
    suites = _suite_lines(version, site_of)
    return PlanReport(
        version=version.number,
        kind=version.kind.value,
        status=version.status,
        strategy=version.strategy,
        objective=version.objective,
        lower_bound=version.lower_bound,
        solve_seconds=result.runtime if result is not None else version.seconds,
        seconds=seconds,
        origin=version.origin,
        kpis=version.kpis,
        suites=suites,
        operations=lines,
    )


def _site_names(sites: list[domain.Site]) -> dict[domain.Suite, str]:
    return {suite: site.name for site in sites for suite in site.suites}


def _line(operation: domain.Operation, site_of: dict[domain.Suite, str]) -> OperationLine:
    batch = operation.batch
    if batch is None:
        return OperationLine(
            kind=operation.kind.value,
            step=CLEANING_STEP,
            suite=operation.suite.name,
            site=site_of.get(operation.suite, ""),
            start=operation.start,
            end=operation.end,
        )
    order = batch.order
    return OperationLine(
        kind=operation.kind.value,
        step=operation.step,
        suite=operation.suite.name,
        site=site_of.get(operation.suite, ""),
        start=operation.start,
        end=operation.end,
        lot=batch.lot_number,
        order=order.number,
        sponsor=batch.sponsor.name,
        product=order.program.name,
        family=order.program.product_family.name,
        due=domain.due_at(order),
        late=operation.late,
        moved=operation.moved,
        fixed=operation.fixed,
    )


def _suite_down(
    network: _Network, disruption: SuiteDown, base: list[domain.Operation], extra: dict[domain.Suite, list[Window]]
) -> datetime:
    """Record the new downtime (minus what is already down) and return the moment the re-plan starts."""
    suite = next((suite for suite in network.suites if suite.name == disruption.suite), None)
    if suite is None:
        raise NotFound("suite", disruption.suite)
    start, end = disruption.start, disruption.end
    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("--from/--to: give times with a time zone, e.g. 2027-03-01T06:00Z")
    if end <= start:
        raise InputError("--to: must be after --from")
    # An operation running when the suite goes down is assumed to finish (a lost batch is --batch-failed).
    for operation in base:
        if operation.suite is suite and operation.start < start < operation.end:
            start = operation.end
    windows: list[Window] = [(start, end)] if start < end else []
    for existing in suite.downtime:
        windows = [piece for window in windows for piece in _minus(window, (existing.start, existing.end))]
    if windows:
        extra[suite] = windows
    return disruption.start


def _minus(window: Window, other: Window) -> list[Window]:
    start, end = window
    if other[1] <= start or end <= other[0]:
        return [window]
    return [piece for piece in ((start, other[0]), (other[1], end)) if piece[0] < piece[1]]


def _batch_failed(
    uow: UnitOfWork, disruption: BatchFailed, base: list[domain.Operation]
) -> tuple[domain.Batch, datetime]:
    batch = uow.batches.get(disruption.lot)
    if batch is None:
        raise NotFound("batch", disruption.lot)
    operations = sorted((op for op in base if op.batch is batch), key=lambda op: op.start)
    if not operations:
        raise Conflict(f"batch {batch.lot_number} is not in the current plan ({batch.status.value})")
    moment = disruption.at or operations[0].end
    if moment.tzinfo is None:
        raise InputError("--at: give a time with a time zone, e.g. 2027-03-01T06:00Z")
    first, last = operations[0].start, operations[-1].end
    if not first <= moment <= last:
        raise InputError(
            f"--at: batch {batch.lot_number} runs from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC in the "
            f"current plan; it can only fail within that time, not at {moment:%Y-%m-%d %H:%M}"
        )
    if batch.status is domain.BatchStatus.CANCELLED:
        raise Conflict(f"batch {batch.lot_number} has already failed or been cancelled")
    batch.cancel(f"failed on {moment:%Y-%m-%d %H:%M} UTC; re-planned with a replacement batch")
    return batch, moment


def _replace(uow: UnitOfWork, failed: domain.Batch, moment: datetime) -> domain.Batch:
    order = failed.order
    for attempt in range(1, 100):
        lot = f"{failed.lot_number[:35]}-R{attempt}"
        if uow.batches.get(lot) is None and all(batch.lot_number != lot for batch in order.batches):
            return order.add_batch(lot)
    raise Conflict(f"cannot name a replacement for batch {failed.lot_number}")  # pragma: no cover


def repair(model: PlanModel, placements: dict[Key, Placement], rounds: int = 4) -> Schedule | None:
    """A feasible schedule close to the previous plan: every operation that still fits keeps its suite and
    start; the engine's list scheduler places the others around them. Each round that breaks a rule frees the
    batches involved; None when even that fails (the solver then starts from scratch)."""
    problem = model.problem
    keep: dict[int, tuple[int, int]] = {}
    for number, ref in enumerate(model.tasks):
        place = placements.get(ref.key)
        if place is None or number in model.pinned or place.suite not in ref.suites:
            continue
        mode = ref.suites.index(place.suite)
        start = model.minutes(place.start)
        if start >= problem.release_of(number):
            keep[number] = (start, mode)
    for _ in range(rounds):
        tasks = tuple(
            replace(task, fixed_start=keep[n][0], fixed_mode=keep[n][1]) if n in keep else task
            for n, task in enumerate(problem.tasks)
        )
        schedule = greedy(replace(problem, tasks=tasks, reference={}))
        violations = check(problem, schedule)
        if not violations:
            return schedule
        jobs = {problem.tasks[t].job for violation in violations for t in violation.tasks}
        if not jobs - {None}:
            return None
        for job in jobs:
            if job is not None:
                for task in problem.job_tasks[job]:
                    keep.pop(task, None)
    return None


def _moves(model: PlanModel, schedule: Schedule, placements: dict[Key, Placement]) -> list[Move]:
    moves = []
    for item in schedule.tasks:
        ref = model.tasks[item.task]
        before = placements.get(ref.key)
        if before is None or item.task in model.pinned:
            continue
        suite, start = ref.suites[item.mode], model.at(item.start)
        if suite is not before.suite or start != before.start:
            moves.append(Move(ref.batch.lot_number, ref.step, before.suite.name, suite.name, before.start, start))
    return sorted(moves, key=lambda move: (move.from_start, move.lot))


def _finishes(operations: list[domain.Operation]) -> dict[domain.Batch, datetime]:
    finish: dict[domain.Batch, datetime] = {}
    for operation in operations:
        if operation.batch is not None:
            finish[operation.batch] = max(finish.get(operation.batch, operation.end), operation.end)
    return finish


def _at_risk(operations: list[domain.Operation], base: list[domain.Operation]) -> list[AtRisk]:
    before = _finishes(base)
    risks = []
    for batch, finish in _finishes(operations).items():
        due = domain.due_at(batch.order)
        if finish <= due or batch.status is domain.BatchStatus.CANCELLED:
            continue
        was = before.get(batch)
        risks.append(
            AtRisk(
                lot=batch.lot_number,
                order=batch.order.number,
                sponsor=batch.sponsor.name,
                due=due,
                finish=finish,
                newly=was is None or was <= due,
            )
        )
    return sorted(risks, key=lambda risk: (not risk.newly, risk.due, risk.lot))
