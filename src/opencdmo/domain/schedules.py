"""Schedule versions: a stored plan of the network, its operations and the KPIs a planner judges it by.

A plan is never edited in place: every solve (and every re-plan after a disruption) stores a new
:class:`ScheduleVersion` with who made it, when, with which parameters, the solver's status and bound, and its
KPIs. Operations are what runs where and when: a batch's stage in a suite, its QC release in a QC lab, or the
cleaning (changeover) a suite needs between two batches.

KPIs (see :func:`measure`):

- a batch is on time when its last operation (QC release, or its last stage) ends by the end of its order's
  due date (midnight UTC after it); tardiness is how much later it ends;
- weighted tardiness is the contractual cost of lateness: each order's late penalty per day times the days late;
- utilization of a manufacturing suite is the share of its available time (from the plan's origin to the end
  of the plan, minus downtime) that batches run in it; cleaning counts as changeover time, not as use. QC labs
  are shared by analysts and have no utilization here;
- cancelled (failed) batches count for the suites' load, not for delivery;
- a changeover is a cleaning between two batches of different products; cleaning hours include the shorter
  cleaning between batches of the same product (a campaign).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from opencdmo.domain import _rules
from opencdmo.domain.batches import Batch, BatchStatus
from opencdmo.domain.network import Suite, SuiteKind
from opencdmo.domain.orders import Order
from opencdmo.domain.sponsors import Sponsor
from opencdmo.errors import DomainError

HOUR = timedelta(hours=1)


def due_at(order: Order) -> datetime:
    """When an order's batches are due: the end of its due date (midnight UTC after it)."""
    return midnight(order.due_date + timedelta(days=1))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def hours(span: timedelta) -> float:
    return span / HOUR


class OperationKind(StrEnum):
    STAGE = "stage"
    QC_RELEASE = "qc-release"
    CLEANING = "cleaning"


class VersionKind(StrEnum):
    PLAN = "plan"
    RESCHEDULE = "reschedule"


QC_RELEASE_STEP = "QC release"
CLEANING_STEP = "cleaning"


@dataclass(eq=False)
class Operation:
    """One block of a plan: a batch's stage in a suite, its QC release in a QC lab, or a cleaning.

    ``fixed`` operations had started when the plan was made and could not move; ``moved`` ones start at another
    time or in another suite than in the plan this version re-plans; ``late`` ones belong to a batch that
    finishes after its due date. Cleaning belongs to no batch and no sponsor.
    """

    kind: OperationKind
    suite: Suite
    start: datetime
    end: datetime
    batch: Batch | None = None
    step: str = ""
    fixed: bool = False
    moved: bool = False
    late: bool = False
    sponsor: Sponsor | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.kind = _rules.choice(OperationKind, self.kind, "kind")
        self.start = _rules.utc(self.start, "start")
        self.end = _rules.utc(self.end, "end")
        if self.end <= self.start:
            raise DomainError("must be after start", field="end")
        if (self.batch is None) != (self.kind is OperationKind.CLEANING):
            raise DomainError("stages and QC releases belong to a batch, cleaning to none", field="batch")
        if self.kind is OperationKind.QC_RELEASE and self.suite.kind is not SuiteKind.QC_LAB:
            raise DomainError(f"QC release runs in a QC lab, not in {self.suite.name!r}", field="suite")
        self.sponsor = self.batch.sponsor if self.batch is not None else None
        self.step = self.step or (QC_RELEASE_STEP if self.kind is OperationKind.QC_RELEASE else CLEANING_STEP)

    @property
    def hours(self) -> float:
        return hours(self.end - self.start)

    def __repr__(self) -> str:
        who = self.batch.lot_number if self.batch is not None else "-"
        return f"Operation({self.kind.value}, {who}, {self.step!r}, {self.suite.name}, {self.start:%Y-%m-%d %H:%M})"


@dataclass(frozen=True)
class PlanKpis:
    """The figures a planner judges a plan by (see the module docstring for their definitions)."""

    batches: int = 0
    on_time: int = 0
    total_tardiness_hours: float = 0.0
    weighted_tardiness: Decimal = Decimal("0.00")
    changeovers: int = 0
    cleaning_hours: float = 0.0
    mean_utilization: float = 0.0

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.batches if self.batches else 1.0

    @property
    def late(self) -> int:
        return self.batches - self.on_time


@dataclass(eq=False)
class SuiteLoad:
    """How busy one suite is in a plan."""

    suite: Suite
    busy_hours: float
    available_hours: float
    cleaning_hours: float = 0.0
    changeovers: int = 0
    id: int | None = None

    @property
    def utilization(self) -> float:
        return self.busy_hours / self.available_hours if self.available_hours > 0 else 0.0


@dataclass(eq=False)
class ScheduleVersion:
    """One stored plan of the network. ``number`` counts versions from 1; ``based_on`` is the number of the
    version a re-plan started from, and ``disruption`` says what made it necessary."""

    number: int
    created_by: str
    created_at: datetime
    origin: datetime
    kind: VersionKind = VersionKind.PLAN
    strategy: str = "auto"
    time_limit: float = 0.0
    workers: int = 1
    seed: int = 0
    status: str = "feasible"
    objective: int | None = None
    lower_bound: int | None = None
    seconds: float = 0.0
    kpis: PlanKpis = field(default_factory=PlanKpis)
    operations: list[Operation] = field(default_factory=list)
    suite_loads: list[SuiteLoad] = field(default_factory=list)
    based_on: int | None = None
    disruption: str = ""
    moved: int = 0
    id: int | None = None

    def __post_init__(self) -> None:
        self.number = _rules.whole(self.number, "number", minimum=1)
        self.created_by = _rules.text(self.created_by, "created_by", max_length=80)
        self.created_at = _rules.utc(self.created_at, "created_at")
        self.origin = _rules.utc(self.origin, "origin")
        self.kind = _rules.choice(VersionKind, self.kind, "kind")
        if self.kind is VersionKind.RESCHEDULE and self.based_on is None:
            raise DomainError("a re-plan names the version it started from", field="based_on")

    @property
    def end(self) -> datetime:
        return max((operation.end for operation in self.operations), default=self.origin)

    def batch_operations(self) -> dict[Batch, list[Operation]]:
        """The operations of each batch, in time order."""
        return _by_batch(self.operations)


def _by_batch(operations: Iterable[Operation]) -> dict[Batch, list[Operation]]:
    grouped: dict[Batch, list[Operation]] = defaultdict(list)
    for operation in operations:
        if operation.batch is not None:
            grouped[operation.batch].append(operation)
    for items in grouped.values():
        items.sort(key=lambda item: item.start)
    return grouped


def _available(suite: Suite, start: datetime, end: datetime) -> timedelta:
    down = sum(
        (max(timedelta(0), min(window.end, end) - max(window.start, start)) for window in suite.downtime),
        timedelta(0),
    )
    return max(timedelta(0), end - start - down)


def measure(
    operations: Sequence[Operation], suites: Iterable[Suite], origin: datetime
) -> tuple[PlanKpis, list[SuiteLoad]]:
    """The KPIs of a plan and the load of each manufacturing suite; marks the operations of late batches.

    Utilization is measured from ``origin`` to the end of the plan (see the module docstring).
    """
    end = max((operation.end for operation in operations), default=origin)
    on_time = 0
    tardiness = timedelta(0)
    weighted = Decimal("0.00")
    # A cancelled (failed) batch keeps the suite time it used but is no longer owed to anyone.
    by_batch = {
        batch: items for batch, items in _by_batch(operations).items() if batch.status is not BatchStatus.CANCELLED
    }
    for batch, items in by_batch.items():
        finish = max(item.end for item in items)
        late_by = max(timedelta(0), finish - due_at(batch.order))
        tardiness += late_by
        if late_by:
            days = Decimal(late_by.total_seconds()) / Decimal(86400)
            weighted += batch.order.late_penalty_per_day * days
        else:
            on_time += 1
        for item in items:
            item.late = bool(late_by)
    loads: list[SuiteLoad] = []
    by_suite: dict[Suite, list[Operation]] = defaultdict(list)
    for operation in operations:
        by_suite[operation.suite].append(operation)
    for suite in suites:
        if suite.kind is SuiteKind.QC_LAB:
            continue
        items = by_suite.get(suite, [])
        busy = sum((item.hours for item in items if item.kind is OperationKind.STAGE), 0.0)
        cleaning = [item for item in items if item.kind is OperationKind.CLEANING]
        stages = sorted((item for item in items if item.kind is OperationKind.STAGE), key=lambda item: item.start)
        changeovers = sum(
            1
            for before, after in itertools.pairwise(stages)
            if before.batch is not None
            and after.batch is not None
            and before.batch.order.program is not after.batch.order.program
        )
        loads.append(
            SuiteLoad(
                suite=suite,
                busy_hours=round(busy, 2),
                available_hours=round(hours(_available(suite, origin, end)), 2),
                cleaning_hours=round(sum(item.hours for item in cleaning), 2),
                changeovers=changeovers,
            )
        )
    used = [load.utilization for load in loads]
    kpis = PlanKpis(
        batches=len(by_batch),
        on_time=on_time,
        total_tardiness_hours=round(hours(tardiness), 2),
        weighted_tardiness=weighted.quantize(Decimal("0.01")),
        changeovers=sum(load.changeovers for load in loads),
        cleaning_hours=round(sum(load.cleaning_hours for load in loads), 2),
        mean_utilization=round(sum(used) / len(used), 4) if used else 0.0,
    )
    return kpis, loads
