"""What the API returns and accepts: ``XPublic`` models built from domain objects (never the storage tables),
and ``XCreate`` / ``XUpdate`` request bodies that refuse unknown fields and bound every value.

Names of related records (a batch's order number, an order's sponsor) stand in for database ids, which
callers never see. The bounds here keep junk out early; the domain still checks every rule and names the
field it refuses.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from opencdmo import domain
from opencdmo.scheduling import STRATEGIES
from opencdmo.services import jobs, planning


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class DowntimePublic(Public):
    start: datetime
    end: datetime
    reason: str

    @classmethod
    def from_domain(cls, window: domain.DowntimeWindow) -> DowntimePublic:
        return cls(start=window.start, end=window.end, reason=window.reason)


class SuitePublic(Public):
    name: str
    kind: str
    scale: float
    scale_unit: str
    capabilities: list[str]
    construction: str | None
    qc_analysts: int
    same_product_hours: int
    default_changeover_hours: int
    downtime: list[DowntimePublic]

    @classmethod
    def from_domain(cls, suite: domain.Suite) -> SuitePublic:
        return cls(**_suite_fields(suite))


def _suite_fields(suite: domain.Suite) -> dict[str, Any]:
    return {
        "name": suite.name,
        "kind": suite.kind.value,
        "scale": suite.scale,
        "scale_unit": suite.scale_unit.value,
        "capabilities": sorted(suite.capabilities),
        "construction": None if suite.construction is None else suite.construction.value,
        "qc_analysts": suite.qc_analysts,
        "same_product_hours": suite.same_product_hours,
        "default_changeover_hours": suite.default_changeover_hours,
        "downtime": [DowntimePublic.from_domain(window) for window in suite.downtime],
    }


class SuiteInSitePublic(SuitePublic):
    """A suite with the name of its site, for the flat list of suites."""

    site: str

    @classmethod
    def of(cls, site: str, suite: domain.Suite) -> SuiteInSitePublic:
        return cls(site=site, **_suite_fields(suite))


class SitePublic(Public):
    name: str
    region: str
    biosafety_level: int
    certifications: list[str]
    suites: list[SuitePublic]

    @classmethod
    def from_domain(cls, site: domain.Site) -> SitePublic:
        return cls(
            name=site.name,
            region=site.region,
            biosafety_level=site.biosafety_level,
            certifications=sorted(site.certifications),
            suites=[SuitePublic.from_domain(suite) for suite in site.suites],
        )


class SponsorPublic(Public):
    name: str
    size: str

    @classmethod
    def from_domain(cls, sponsor: domain.Sponsor) -> SponsorPublic:
        return cls(name=sponsor.name, size=sponsor.size.value)


class ProgramPublic(Public):
    name: str
    sponsor: str
    modality: str
    phase: str
    product_family: str
    process: str

    @classmethod
    def from_domain(cls, program: domain.Program) -> ProgramPublic:
        return cls(
            name=program.name,
            sponsor=program.sponsor.name,
            modality=program.modality.value,
            phase=program.phase.value,
            product_family=program.product_family.name,
            process=program.process.name,
        )


class BatchPublic(Public):
    lot_number: str
    order: str
    sponsor: str
    status: str
    cancel_reason: str | None

    @classmethod
    def from_domain(cls, batch: domain.Batch) -> BatchPublic:
        return cls(
            lot_number=batch.lot_number,
            order=batch.order.number,
            sponsor=batch.sponsor.name,
            status=batch.status.value,
            cancel_reason=batch.cancel_reason,
        )


class OrderPublic(Public):
    number: str
    sponsor: str
    program: str
    batch_count: int
    release_date: date
    due_date: date
    priority: int
    late_penalty_per_day: Decimal
    price_per_batch: Decimal
    batches: list[BatchPublic]

    @classmethod
    def from_domain(cls, order: domain.Order) -> OrderPublic:
        return cls(
            number=order.number,
            sponsor=order.sponsor.name,
            program=order.program.name,
            batch_count=order.batch_count,
            release_date=order.release_date,
            due_date=order.due_date,
            priority=order.priority,
            late_penalty_per_day=order.late_penalty_per_day,
            price_per_batch=order.price_per_batch,
            batches=[BatchPublic.from_domain(batch) for batch in order.batches],
        )


class StagePublic(Public):
    name: str
    suite_kind: str
    capabilities: list[str]
    duration_hours: int
    max_hold_hours: int | None
    suite_durations: dict[str, int]


class ProcessPublic(Public):
    name: str
    qc_release_hours: int
    qc_analysts: int
    stages: list[StagePublic]

    @classmethod
    def from_domain(cls, process: domain.ProcessTemplate) -> ProcessPublic:
        return cls(
            name=process.name,
            qc_release_hours=process.qc_release_hours,
            qc_analysts=process.qc_analysts,
            stages=[
                StagePublic(
                    name=stage.name,
                    suite_kind=stage.suite_kind.value,
                    capabilities=sorted(stage.capabilities),
                    duration_hours=stage.duration_hours,
                    max_hold_hours=stage.max_hold_hours,
                    suite_durations={duration.suite.name: duration.hours for duration in stage.suite_durations},
                )
                for stage in process.stages
            ],
        )


# Schedules -----------------------------------------------------------------------------------------------------


class KpisPublic(Public):
    """A plan's KPIs. For a sponsor they count its own batches; the figures of the suites (changeovers,
    cleaning, utilization), which would describe other sponsors' work, are null."""

    batches: int
    on_time: int
    late: int
    on_time_rate: float
    total_tardiness_hours: float
    weighted_tardiness: Decimal
    changeovers: int | None
    cleaning_hours: float | None
    mean_utilization: float | None

    @classmethod
    def from_domain(cls, kpis: domain.PlanKpis, *, own_only: bool) -> KpisPublic:
        return cls(
            batches=kpis.batches,
            on_time=kpis.on_time,
            late=kpis.late,
            on_time_rate=round(kpis.on_time_rate, 4),
            total_tardiness_hours=kpis.total_tardiness_hours,
            weighted_tardiness=kpis.weighted_tardiness,
            changeovers=None if own_only else kpis.changeovers,
            cleaning_hours=None if own_only else kpis.cleaning_hours,
            mean_utilization=None if own_only else kpis.mean_utilization,
        )


class VersionPublic(Public):
    """A stored schedule version. ``own_batches_only`` when the caller is a sponsor: its KPIs count the
    sponsor's own batches, and the objective, bound and disruption (about the whole network) are null."""

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
    solve_seconds: float
    objective: int | None
    lower_bound: int | None
    based_on: int | None
    disruption: str | None
    moved_operations: int
    own_batches_only: bool
    kpis: KpisPublic

    @classmethod
    def from_line(cls, line: planning.VersionLine) -> VersionPublic:
        return cls(**_version_fields(line))


def _version_fields(line: planning.VersionLine) -> dict[str, Any]:
    return {
        "number": line.number,
        "kind": line.kind,
        "created_at": line.created_at,
        "created_by": line.created_by,
        "status": line.status,
        "strategy": line.strategy,
        "origin": line.origin,
        "time_limit": line.time_limit,
        "workers": line.workers,
        "seed": line.seed,
        "solve_seconds": line.seconds,
        "objective": line.objective,
        "lower_bound": line.lower_bound,
        "based_on": line.based_on,
        "disruption": line.disruption,
        "moved_operations": line.moved,
        "own_batches_only": line.own_only,
        "kpis": KpisPublic.from_domain(line.kpis, own_only=line.own_only),
    }


class SuiteLoadPublic(Public):
    suite: str
    site: str
    utilization: float
    busy_hours: float
    cleaning_hours: float
    changeovers: int

    model_config = ConfigDict(frozen=True, from_attributes=True)

    @classmethod
    def from_line(cls, line: planning.SuiteLine) -> SuiteLoadPublic:
        return cls.model_validate(line)  # the same fields as the service's SuiteLine


class VersionDetailPublic(VersionPublic):
    """A version with the load of each manufacturing suite (empty for a sponsor)."""

    suites: list[SuiteLoadPublic]

    @classmethod
    def from_detail(cls, detail: planning.VersionDetail) -> VersionDetailPublic:
        return cls(**_version_fields(detail.line), suites=[SuiteLoadPublic.from_line(line) for line in detail.suites])


class OperationPublic(Public):
    """A block of a plan: a batch's stage, its QC release, or a cleaning (which has no batch, order or sponsor)."""

    kind: str
    step: str
    suite: str
    site: str
    start: datetime
    end: datetime
    lot: str | None
    order: str | None
    sponsor: str | None
    product: str | None
    family: str | None
    due: datetime | None
    late: bool
    moved: bool
    fixed: bool

    @classmethod
    def from_line(cls, line: planning.OperationLine) -> OperationPublic:
        return cls(
            kind=line.kind,
            step=line.step,
            suite=line.suite,
            site=line.site,
            start=line.start,
            end=line.end,
            lot=line.lot or None,
            order=line.order or None,
            sponsor=line.sponsor or None,
            product=line.product or None,
            family=line.family or None,
            due=line.due,
            late=line.late,
            moved=line.moved,
            fixed=line.fixed,
        )


class MovePublic(Public):
    lot: str
    step: str
    from_suite: str
    to_suite: str
    from_start: datetime
    to_start: datetime
    shift_hours: float
    suite_changed: bool

    @classmethod
    def from_move(cls, move: planning.Move) -> MovePublic:
        return cls(
            lot=move.lot,
            step=move.step,
            from_suite=move.from_suite,
            to_suite=move.to_suite,
            from_start=move.from_start,
            to_start=move.to_start,
            shift_hours=round(move.shift_hours, 2),
            suite_changed=move.suite_changed,
        )


class PlacedPublic(Public):
    lot: str
    step: str
    suite: str
    start: datetime
    end: datetime

    @classmethod
    def from_placed(cls, placed: planning.Placed) -> PlacedPublic:
        return cls(lot=placed.lot, step=placed.step, suite=placed.suite, start=placed.start, end=placed.end)


class KpiDeltaPublic(Public):
    """Version b's KPIs minus version a's (suite figures null for a sponsor)."""

    batches: int
    on_time: int
    on_time_rate: float
    total_tardiness_hours: float
    weighted_tardiness: Decimal
    changeovers: int | None
    cleaning_hours: float | None
    mean_utilization: float | None


class ComparisonPublic(Public):
    a: VersionPublic
    b: VersionPublic
    moved: list[MovePublic]
    added: list[PlacedPublic]
    removed: list[PlacedPublic]
    unchanged: int
    delta: KpiDeltaPublic

    @classmethod
    def from_comparison(cls, comparison: planning.Comparison) -> ComparisonPublic:
        delta, own_only = comparison.delta, comparison.a.own_only
        return cls(
            a=VersionPublic.from_line(comparison.a),
            b=VersionPublic.from_line(comparison.b),
            moved=[MovePublic.from_move(move) for move in comparison.moved],
            added=[PlacedPublic.from_placed(placed) for placed in comparison.added],
            removed=[PlacedPublic.from_placed(placed) for placed in comparison.removed],
            unchanged=comparison.unchanged,
            delta=KpiDeltaPublic(
                batches=delta.batches,
                on_time=delta.on_time,
                on_time_rate=delta.on_time_rate,
                total_tardiness_hours=delta.total_tardiness_hours,
                weighted_tardiness=delta.weighted_tardiness,
                changeovers=None if own_only else delta.changeovers,
                cleaning_hours=None if own_only else delta.cleaning_hours,
                mean_utilization=None if own_only else delta.mean_utilization,
            ),
        )


class DueOrderPublic(Public):
    order: str
    sponsor: str
    program: str
    due_date: date
    open_batches: int


class LateOrderPublic(Public):
    order: str
    sponsor: str
    due: datetime
    finish: datetime
    late_hours: float


class KpiOverviewPublic(Public):
    """The newest plan's key figures and the order book's, in the caller's scope. ``version`` and
    ``on_time_rate`` are null until a plan is stored; ``utilization`` is empty for a sponsor."""

    version: VersionPublic | None
    on_time_rate: float | None
    utilization: list[SuiteLoadPublic]
    backlog: dict[str, int]
    backlog_total: int
    upcoming: list[DueOrderPublic]
    at_risk: list[LateOrderPublic]

    @classmethod
    def from_overview(cls, overview: planning.KpiOverview) -> KpiOverviewPublic:
        version = overview.version
        return cls(
            version=None if version is None else VersionPublic.from_line(version),
            on_time_rate=None if version is None else round(version.on_time_rate, 4),
            utilization=[SuiteLoadPublic.from_line(line) for line in overview.suites],
            backlog=overview.backlog,
            backlog_total=overview.backlog_total,
            upcoming=[
                DueOrderPublic(
                    order=line.order,
                    sponsor=line.sponsor,
                    program=line.program,
                    due_date=line.due_date,
                    open_batches=line.open_batches,
                )
                for line in overview.upcoming
            ],
            at_risk=[
                LateOrderPublic(
                    order=late.order,
                    sponsor=late.sponsor,
                    due=late.due,
                    finish=late.finish,
                    late_hours=round(late.late_hours, 2),
                )
                for late in overview.at_risk
            ],
        )


class JobPublic(Public):
    """A background solve. ``fraction`` is the share of the time limit spent (1 once finished); ``version`` is
    the stored schedule version on success, ``error`` what went wrong on failure."""

    id: str
    kind: str
    state: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    step: str
    steps: list[str]
    elapsed_seconds: float
    time_limit: float
    fraction: float
    best_objective: int | None
    lower_bound: int | None
    solutions: int
    version: int | None
    error: str | None

    @classmethod
    def from_view(cls, view: jobs.JobView) -> JobPublic:
        return cls(
            id=view.id,
            kind=view.kind.value,
            state=view.state.value,
            requested_by=view.requested_by,
            created_at=view.created_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            step=view.step,
            steps=list(view.steps),
            elapsed_seconds=view.elapsed_seconds,
            time_limit=view.time_limit,
            fraction=view.fraction,
            best_objective=view.best_objective,
            lower_bound=view.lower_bound,
            solutions=view.solutions,
            version=view.version,
            error=view.error,
        )


# Request bodies and parameters -------------------------------------------------------------------------------------


def _printable(value: str) -> str:
    # No record's name holds a control character (the domain refuses them), and PostgreSQL refuses NUL in any
    # query: refuse them here, where the caller learns which field is wrong.
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("must not contain control characters such as tabs or line breaks")
    return value


Printable = AfterValidator(_printable)
"""Add to every text parameter and body field: refuses control characters."""

EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def _moment(value: datetime) -> datetime:
    # Planning works in UTC: a time without a zone is ambiguous, and one near year 1 or 9999 cannot be converted.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone, e.g. 2027-03-01T06:00:00Z")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


Moment = AfterValidator(_moment)
"""Add to every date-and-time parameter and body field: a time zone is required, the year bounded."""


def _day(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


Day = Annotated[date, AfterValidator(_day)]

Name60 = Annotated[str, Field(min_length=1, max_length=60), Printable]
Name80 = Annotated[str, Field(min_length=1, max_length=80), Printable]
Name120 = Annotated[str, Field(min_length=1, max_length=120), Printable]
OrderNumber = Annotated[str, Field(min_length=1, max_length=40), Printable]
Labels = Annotated[list[Annotated[str, Field(min_length=1, max_length=60), Printable]], Field(max_length=50)]
Hours = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
Analysts = Annotated[int, Field(strict=True, ge=0, le=10_000)]
Scale = Annotated[float, Field(strict=True, gt=0, le=1e12, allow_inf_nan=False)]
BiosafetyLevel = Annotated[int, Field(strict=True, ge=1, le=4)]
BatchCount = Annotated[int, Field(strict=True, ge=1, le=10_000)]
Priority = Annotated[int, Field(strict=True, ge=1, le=5)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2)]


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Changes(Body):
    """A PATCH body: only the fields given change. ``null`` is refused but for the fields in ``NULLABLE``."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        # Runs only for the fields given: a field left out keeps its default without validation.
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may not be null (leave the field out to keep its value)")
        return value

    def given(self) -> dict[str, Any]:
        """The fields the caller gave, by name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class SiteCreate(Body):
    name: Name60
    region: Name60
    biosafety_level: BiosafetyLevel = 1
    certifications: Labels = []


class SiteUpdate(Changes):
    region: Name60 | None = None
    biosafety_level: BiosafetyLevel | None = None
    certifications: Labels | None = None


class SuiteCreate(Body):
    name: Name60
    kind: domain.SuiteKind
    scale: Scale
    scale_unit: domain.ScaleUnit
    capabilities: Labels = []
    construction: domain.Construction | None = None
    qc_analysts: Analysts = 0
    same_product_hours: Hours = 0
    default_changeover_hours: Hours = 0


class SuiteUpdate(Changes):
    """The name and kind of a suite do not change. ``construction: null`` clears it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"construction"})

    scale: Scale | None = None
    scale_unit: domain.ScaleUnit | None = None
    capabilities: Labels | None = None
    construction: domain.Construction | None = None
    qc_analysts: Analysts | None = None
    same_product_hours: Hours | None = None
    default_changeover_hours: Hours | None = None


class DowntimeCreate(Body):
    start: Annotated[datetime, Moment]
    end: Annotated[datetime, Moment]
    reason: Annotated[str, Field(min_length=1, max_length=200), Printable]


class SponsorCreate(Body):
    name: Name120
    size: domain.SponsorSize = domain.SponsorSize.SMALL


class ProgramCreate(Body):
    sponsor: Name120
    name: Name120
    modality: domain.Modality
    phase: domain.Phase
    product_family: Name60
    process: Name80


class OrderCreate(Body):
    number: OrderNumber
    sponsor: Name120
    program: Name120
    batch_count: BatchCount
    release_date: Day
    due_date: Day
    priority: Priority = 3
    late_penalty_per_day: Money = Decimal("0")
    price_per_batch: Money = Decimal("0")


class OrderUpdate(Changes):
    """The number, sponsor and program of an order do not change."""

    batch_count: BatchCount | None = None
    release_date: Day | None = None
    due_date: Day | None = None
    priority: Priority | None = None
    late_penalty_per_day: Money | None = None
    price_per_batch: Money | None = None


class SuiteDownCreate(Body):
    """A suite breakdown to re-plan around."""

    suite: Name60
    start: Annotated[datetime, Moment]
    end: Annotated[datetime, Moment]


class PlanJobCreate(Body):
    """A background solve: a plan of the whole network, or a re-plan of the newest version around
    ``suite_down`` when it is given."""

    time_limit: Annotated[float, Field(strict=True, ge=1, le=600, allow_inf_nan=False)] = 10.0
    strategy: Literal[STRATEGIES] = "auto"  # type: ignore[valid-type]
    workers: Annotated[int, Field(strict=True, ge=1, le=8)] = 2
    seed: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] = 0
    suite_down: SuiteDownCreate | None = None


class ErrorPublic(Public):
    """Every error answer: a stable machine-readable ``error`` and a ``detail`` in the user's words."""

    error: str
    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error answers a route can give."""
    words = {
        401: "No valid bearer token",
        403: "The caller's role may not do this",
        404: "No such record, or not visible to the caller",
        409: "Clashes with stored data",
        422: "Invalid input",
    }
    return {status: {"model": ErrorPublic, "description": words[status]} for status in statuses}
