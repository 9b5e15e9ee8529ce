"""Re-planning from the web: the form starts a solve in the background, a page follows its progress.

The solve runs in the application's one registry of background solves (:func:`opencdmo.api.deps.get_plan_jobs`),
the same the API's ``/api/v1/schedules/jobs`` uses: a solve started from either shows in both, and one at a time
runs (another answers "a solve is already running" with a link to it).

- ``POST /schedule/jobs`` (the "Re-plan" form of the schedule page, "Plan now" on a new order's page) starts a
  solve and redirects to its page;
- ``GET /schedule/jobs/{id}`` shows the solve: a ``<progress id="plan-progress">``, the current step, the
  seconds spent and the best objective so far. ``static/plan_job.js`` polls the JSON below every half second
  and, once the solve has stored its version, goes to the schedule page, which says "version N stored".
  Without scripts the page reloads itself every two seconds while the solve runs (and has a link to do so);
- ``GET /schedule/jobs/{id}.json``: the solve as JSON, for the script.

All three are for roles that may plan (CDMO staff); the POST checks the CSRF token too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from opencdmo.api.deps import get_plan_jobs
from opencdmo.domain import Action
from opencdmo.scheduling import STRATEGIES
from opencdmo.services import planning
from opencdmo.services.jobs import JobView
from opencdmo.web.forms import FormState, FormValues, Reader, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.schedule import MAX_TIME_LIMIT, MIN_TIME_LIMIT, find_job, schedule_page
from opencdmo.web.sessions import Viewer, form_page, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Planner = Annotated[Viewer, Depends(page(Action.PLAN))]
PlanStarter = Annotated[Viewer, Depends(form_page(Action.PLAN))]

REPLAN_FIELDS = ("time_limit", "strategy")
POLL_MILLISECONDS = 500


def job_path(job_id: str) -> str:
    return f"/schedule/jobs/{job_id}"


def outcome_path(job_id: str) -> str:
    """The schedule page telling the outcome of the solve (where its page goes once the version is stored)."""
    return f"/schedule?job={job_id}"


def _options(read: Reader) -> planning.PlanOptions:
    time_limit = read.number("time_limit")
    if "time_limit" not in read.errors and not MIN_TIME_LIMIT <= time_limit <= MAX_TIME_LIMIT:
        read.refuse("time_limit", f"must be from {MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds, not {time_limit:g}")
    strategy = read.choice("strategy", STRATEGIES)
    if read.errors:
        return planning.PlanOptions()  # a placeholder: the reader refuses the form before it is used
    return planning.PlanOptions(time_limit=time_limit, strategy=strategy)


@router.post("/schedule/jobs")
def start_job(request: Request, viewer: PlanStarter, values: FormValues) -> Response:
    registry = get_plan_jobs(request)

    def start(options: planning.PlanOptions) -> JobView:
        return registry.start(viewer.unit_of_work, options, requested_by=viewer.identity.username)

    outcome = submit(values, REPLAN_FIELDS, _options, start)
    if isinstance(outcome, FormState):
        return schedule_page(request, viewer, replan_form=outcome)
    return RedirectResponse(job_path(outcome.id), status_code=303)


def job_json(view: JobView) -> dict[str, Any]:
    """What the progress script shows of a solve."""
    return {
        "id": view.id,
        "kind": view.kind.value,
        "state": view.state.value,
        "finished": view.finished,
        "step": view.step,
        "fraction": view.fraction,
        "elapsed_seconds": view.elapsed_seconds,
        "time_limit": view.time_limit,
        "best_objective": view.best_objective,
        "lower_bound": view.lower_bound,
        "solutions": view.solutions,
        "version": view.version,
        "error": view.error,
        "requested_by": view.requested_by,
        "page": job_path(view.id),
        "done": outcome_path(view.id),
    }


# The JSON first: "/schedule/jobs/{job_id}" would otherwise take "abc.json" for a job's id.
@router.get("/schedule/jobs/{job_id}.json")
def job_data(request: Request, job_id: str, viewer: Planner) -> JSONResponse:
    return JSONResponse(job_json(find_job(request, job_id)))


@router.get("/schedule/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, viewer: Planner) -> HTMLResponse:
    job = find_job(request, job_id)
    context = {"job": job, "poll": POLL_MILLISECONDS, "done": outcome_path(job.id)}
    return render(request, "job.html", context)
