"""The schedule page: an interactive Gantt chart of the newest plan (plotly.js, served by the app) and the JSON
its script asks for, one time window at a time (see :mod:`opencdmo.web.gantt`); for roles that may plan, the
"Re-plan" form (handled by :mod:`opencdmo.web.plan_jobs`) and the outcome of the solve it started."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from opencdmo.api.deps import get_plan_jobs
from opencdmo.domain import Action
from opencdmo.errors import NotFound
from opencdmo.scheduling import STRATEGIES
from opencdmo.services import planning
from opencdmo.services.jobs import JobView
from opencdmo.web import security
from opencdmo.web.forms import FormState
from opencdmo.web.gantt import ROWS, Rows, gantt_data, parse_moment, parse_rows
from opencdmo.web.pages import plan_of
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ScheduleViewer = Annotated[Viewer, Depends(page(Action.VIEW_SCHEDULE))]

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_TIME_LIMIT = 1
MAX_TIME_LIMIT = 600
DEFAULT_OPTIONS = planning.PlanOptions()
REPLAN_DEFAULTS = FormState.of(time_limit=int(DEFAULT_OPTIONS.time_limit), strategy=DEFAULT_OPTIONS.strategy)


def find_job(request: Request, job_id: str) -> JobView:
    """A solve of the application's registry (shared with the API); :class:`NotFound` for an id that is not one."""
    if not JOB_ID.fullmatch(job_id):
        raise NotFound("plan job", job_id[:64])
    return get_plan_jobs(request).get(job_id)


def _outcome(request: Request, job_id: str) -> JobView | None:
    try:
        return find_job(request, job_id)
    except NotFound:
        return None  # forgotten (a restart) or never was: the page just shows the plan


def schedule_page(
    request: Request,
    viewer: Viewer,
    rows: Rows = "suite",
    *,
    job_id: str = "",
    replan_form: FormState = REPLAN_DEFAULTS,
) -> HTMLResponse:
    """The schedule page; ``job_id`` names a solve whose outcome to tell (the progress page comes back here)."""
    plan = plan_of(request, viewer)
    can_plan = viewer.can(Action.PLAN)
    jobs = get_plan_jobs(request).list() if can_plan else []
    context = {
        "plan": plan.report if plan is not None else None,
        "by": rows,
        "choices": ROWS,
        "show_utilization": viewer.can(Action.VIEW_NETWORK),
        "can_plan": can_plan,
        "running": next((job for job in jobs if not job.finished), None),
        "outcome": _outcome(request, job_id) if can_plan and job_id else None,
        "replan_form": replan_form,
        "strategies": [(strategy, strategy) for strategy in STRATEGIES],
        "time_limits": (MIN_TIME_LIMIT, MAX_TIME_LIMIT),
    }
    status = replan_form.status if replan_form.refused else 200
    headers = {"Content-Security-Policy": security.INLINE_STYLE_CSP}
    return render(request, "schedule.html", context, status=status, headers=headers)


@router.get("/schedule", response_class=HTMLResponse)
def schedule(request: Request, viewer: ScheduleViewer, by: str = "suite", job: str = "") -> HTMLResponse:
    return schedule_page(request, viewer, parse_rows(by), job_id=job)


@router.get("/schedule/data.json")
def schedule_data(
    request: Request, viewer: ScheduleViewer, by: str = "suite", start: str = "", end: str = ""
) -> JSONResponse:
    rows = parse_rows(by)
    window_start, window_end = parse_moment(start, "start"), parse_moment(end, "end")
    plan = plan_of(request, viewer)
    if plan is None:
        return JSONResponse({"error": "not-found", "detail": "no plan is stored yet"}, status_code=404)
    return JSONResponse(gantt_data(plan, rows, window_start, window_end))
