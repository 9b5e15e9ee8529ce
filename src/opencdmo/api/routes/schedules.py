"""Schedules: stored versions, their operations, comparing two versions, the key figures, and background solves.

A sponsor sees the operations of its own batches only (no cleaning, no other sponsor's work) and KPIs counted
over its own batches; suites' loads, objective and bound are for staff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from opencdmo.api.deps import Caller, PlanJobsDep, ReadCacheDep, location, require
from opencdmo.api.schemas import (
    ComparisonPublic,
    JobPublic,
    KpiOverviewPublic,
    Moment,
    OperationPublic,
    PlanJobCreate,
    Printable,
    VersionDetailPublic,
    VersionPublic,
    error_responses,
)
from opencdmo.domain import Action
from opencdmo.services import planning
from opencdmo.services.read_cache import ReadCache

router = APIRouter(tags=["schedules"], responses=error_responses(401, 403))

ScheduleViewer = Annotated[Caller, Depends(require(Action.VIEW_SCHEDULE))]
KpiViewer = Annotated[Caller, Depends(require(Action.VIEW_KPIS))]
Planner = Annotated[Caller, Depends(require(Action.PLAN))]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = error_responses(404)


# Fixed paths first: /schedules/{number} would otherwise claim "latest", "compare" and "jobs".


@router.get("/schedules")
def list_versions(caller: ScheduleViewer) -> list[VersionPublic]:
    return [VersionPublic.from_line(line) for line in planning.list_versions(caller.unit_of_work())]


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


def _version_answer(caller: Caller, cache: ReadCache, number: int | None) -> Response:
    # Memoised per scope, as JSON: the newest plan is what every dashboard and integration polls.
    def compute() -> bytes:
        detail = planning.get_version(caller.unit_of_work(), number)
        return VersionDetailPublic.from_detail(detail).model_dump_json().encode()

    return _json(cache.get(("schedule-version", caller.sponsor_id, number), compute))


@router.get("/schedules/latest", responses=NOT_FOUND, response_model=VersionDetailPublic)
def latest_version(caller: ScheduleViewer, cache: ReadCacheDep) -> Response:
    return _version_answer(caller, cache, None)


@router.get("/schedules/compare", responses=error_responses(404, 422))
def compare_versions(
    caller: ScheduleViewer,
    a: Annotated[int, Query(ge=1, le=2**31 - 1, description="The version to compare from.")],
    b: Annotated[int, Query(ge=1, le=2**31 - 1, description="The version to compare to.")],
) -> ComparisonPublic:
    return ComparisonPublic.from_comparison(planning.compare_versions(caller.unit_of_work(), a, b))


@router.post("/schedules/jobs", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(409, 422))
def start_job(body: PlanJobCreate, caller: Planner, registry: PlanJobsDep, response: Response) -> JobPublic:
    """Start a plan (or, with ``suite_down``, a re-plan of the newest version) in the background; poll the job
    at its Location. One solve runs at a time: another answers 409 until it has finished."""
    options = planning.PlanOptions(
        time_limit=body.time_limit, workers=body.workers, seed=body.seed, strategy=body.strategy
    )
    requested_by = caller.identity.username
    if body.suite_down is None:
        view = registry.start(caller.unit_of_work, options, requested_by=requested_by)
    else:
        down = planning.SuiteDown(body.suite_down.suite, body.suite_down.start, body.suite_down.end)
        view = registry.start_reschedule(caller.unit_of_work, down, options, requested_by=requested_by)
    response.headers["Location"] = location("schedules", "jobs", view.id)
    return JobPublic.from_view(view)


@router.get("/schedules/jobs")
def list_jobs(caller: Planner, registry: PlanJobsDep) -> list[JobPublic]:
    """The background solves this server remembers, newest first."""
    return [JobPublic.from_view(view) for view in registry.list()]


@router.get("/schedules/jobs/{job_id}", responses=error_responses(404, 422))
def get_job(
    job_id: Annotated[str, Path(max_length=64), Printable], caller: Planner, registry: PlanJobsDep
) -> JobPublic:
    return JobPublic.from_view(registry.get(job_id))


@router.get("/schedules/{number}", responses=error_responses(404, 422), response_model=VersionDetailPublic)
def get_version(number: VersionNumber, caller: ScheduleViewer, cache: ReadCacheDep) -> Response:
    return _version_answer(caller, cache, number)


@router.get("/schedules/{number}/operations", responses=error_responses(404, 422))
def list_operations(
    number: VersionNumber,
    caller: ScheduleViewer,
    suite: Annotated[str | None, Query(max_length=60, description="Only operations in this suite."), Printable] = None,
    order: Annotated[str | None, Query(max_length=40, description="Only this order's operations."), Printable] = None,
    start: Annotated[datetime | None, Query(description="Only operations ending after this time."), Moment] = None,
    end: Annotated[datetime | None, Query(description="Only operations starting before this time."), Moment] = None,
) -> list[OperationPublic]:
    lines = planning.operations(caller.unit_of_work(), number, suite=suite, order=order, start=start, end=end)
    return [OperationPublic.from_line(line) for line in lines]


@router.get("/kpis", response_model=KpiOverviewPublic)
def key_figures(caller: KpiViewer, cache: ReadCacheDep) -> Response:
    """The newest plan's KPIs, the backlog, the next orders due and the orders at risk, in the caller's scope."""
    today = datetime.now(UTC).date()

    def compute() -> bytes:
        overview = planning.kpi_overview(caller.unit_of_work(), today=today)
        return KpiOverviewPublic.from_overview(overview).model_dump_json().encode()

    return _json(cache.get(("kpis", caller.sponsor_id, today), compute))
