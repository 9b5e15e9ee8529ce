"""The training page (P11-09): where each staff member stands on each procedure, coloured by status (current,
expiring within 30 days, expired), a user's history, and for administrators and QA the form to record a training.

CDMO staff only: a sponsor user gets 403. The form's POST checks the CSRF token, then the role (403 otherwise);
the training service refuses anyone but staff a second time.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.domain import Action
from opencdmo.domain.training import TrainingRecord, TrainingStatus
from opencdmo.errors import DomainError, Forbidden, InputError, NotFound
from opencdmo.services import training
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import CurrentViewer, FormViewer, Viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAY_RECORD = (Action.MANAGE_USERS, Action.REVIEW_QUALITY)
"""A role with any of these actions may record training (administrators and QA)."""
FIELDS = ("username", "procedure", "trained_on", "valid_until", "months")
STATUS_CLASSES = {
    TrainingStatus.CURRENT: "status-released",
    TrainingStatus.EXPIRING: "status-in-progress",
    TrainingStatus.EXPIRED: "status-rejected",
    TrainingStatus.NOT_YET: "status-scheduled",
}
"""The colour of each status (the stylesheet's status pills): green, amber, red, blue."""


def _staff(viewer: Viewer) -> Viewer:
    if viewer.is_sponsor:
        raise Forbidden("training records are for CDMO staff only")
    return viewer


def staff_page(viewer: CurrentViewer) -> Viewer:
    return _staff(viewer)


def _may_record(viewer: Viewer) -> bool:
    return not viewer.is_sponsor and any(viewer.can(action) for action in MAY_RECORD)


def recorder_form(viewer: FormViewer) -> Viewer:
    """A form POST (CSRF checked first) by a staff member whose role may record training."""
    if not _may_record(_staff(viewer)):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not record training")
    return viewer


StaffViewer = Annotated[Viewer, Depends(staff_page)]
Recorder = Annotated[Viewer, Depends(recorder_form)]


def _new_form() -> FormState:
    return FormState.of(trained_on=training.today().isoformat(), months=training.DEFAULT_MONTHS)


def training_page(
    request: Request, viewer: Viewer, *, user: str | None = None, form: FormState | None = None
) -> HTMLResponse:
    today = training.today()
    rows = training.matrix(viewer.unit_of_work(), today)
    history = training.of_user(viewer.unit_of_work(), user) if user else None
    form = form or _new_form()
    counts = {status.value: sum(1 for row in rows if row.status is status) for status in TrainingStatus}
    context: dict[str, Any] = {
        "rows": rows,
        "today": today,
        "counts": counts,
        "status_classes": {status.value: css for status, css in STATUS_CLASSES.items()},
        "user": user,
        "history": history,
        "can_record": _may_record(viewer),
        "form": form,
    }
    return render(request, "training.html", context, status=form.status if form.refused else 200)


@router.get("/training", response_class=HTMLResponse)
def training_list(
    request: Request,
    viewer: StaffViewer,
    user: Annotated[str | None, Query(max_length=60, description="Show this user's history.")] = None,
) -> HTMLResponse:
    return training_page(request, viewer, user=user or None)


def _months(read: Reader) -> int | None:
    months = read.whole("months", default=0)
    return months or None


def _grant(read: Reader) -> tuple[str, str, date, date | None, int | None]:
    until_text = read.values.get("valid_until", "").strip()
    until = read.day("valid_until") if until_text else None
    months = _months(read)
    if until is not None and months is not None:
        read.refuse("months", "leave empty when an end of validity is given")
    return read.text("username"), read.text("procedure"), read.day("trained_on"), until, months


@router.post("/training")
def record_training(request: Request, viewer: Recorder, values: FormValues) -> Response:
    def act(wanted: tuple[str, str, date, date | None, int | None]) -> TrainingRecord:
        username, procedure, trained_on, until, months = wanted
        if until is None:
            try:
                until = training.valid_until(trained_on, months=months)
            except InputError as error:
                raise DomainError(str(error), field="months") from None
        try:
            return training.grant(
                viewer.unit_of_work(),
                username,
                procedure,
                trained_on=trained_on,
                valid_until=until,
                actor=viewer.identity.username,
            )
        except NotFound as missing:
            raise DomainError(f"there is no user named {username!r}", field="username") from missing

    outcome = submit(values, FIELDS, _grant, act)
    if isinstance(outcome, FormState):
        return training_page(request, viewer, form=outcome)
    message = (
        f"Training recorded: {outcome.username} on {outcome.procedure}, "
        f"valid {outcome.trained_on.isoformat()} to {outcome.valid_until.isoformat()} (expires that day)."
    )
    return saved(request, "/training", message)
