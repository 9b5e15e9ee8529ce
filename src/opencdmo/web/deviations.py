"""The deviation pages: the list (open, closed or all; for one batch), a deviation with its investigation, CAPA
table and closing signature, and the forms of each role.

Anyone on the floor opens a deviation (OPEN_DEVIATIONS); QA (REVIEW_QUALITY) records the investigation, plans
CAPA actions, checks their effectiveness and closes the deviation by electronic signature; a CAPA action is
marked done by its owner or by QA. A sponsor user reads the deviations of its own released batches (another's,
or one not released, is "not found") and sees no form. Every form checks the CSRF token, then the role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo import domain
from opencdmo.domain import Action
from opencdmo.domain.deviations import MAX_TEXT
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Forbidden
from opencdmo.services import deviations
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import FormViewer, Viewer, form_page, page
from opencdmo.web.signing import SIGNATURE_FIELDS, signed, signing_prompt

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DeviationReader = Annotated[Viewer, Depends(page(Action.VIEW_BATCH_RECORDS))]
Opener = Annotated[Viewer, Depends(form_page(Action.OPEN_DEVIATIONS))]
Reviewer = Annotated[Viewer, Depends(form_page(Action.REVIEW_QUALITY))]

FILTERS = ("open", "closed", "all")
SEVERITIES = tuple(item.value for item in domain.Severity)
SEVERITY_CLASSES = {"minor": "status-scheduled", "major": "status-in-progress", "critical": "status-rejected"}
"""Severity badges: the stylesheet's status pills, blue, amber and red."""
STATUS_CLASSES = {"open": "status-in-progress", "closed": "status-released"}
OPEN_FIELDS = ("lot", "severity", "title", "description")
INVESTIGATION_FIELDS = ("investigation", "root_cause")
CAPA_FIELDS = ("description", "owner", "due_date")
EFFECTIVENESS_FIELDS = ("finding",)
CLOSURE_FIELDS = ("comment", *SIGNATURE_FIELDS)
BADGES = {"severity_classes": SEVERITY_CLASSES, "status_classes": STATUS_CLASSES}


def deviation_path(number: str) -> str:
    return f"/deviations/{quote(number, safe='')}"


def long_text(read: Reader, name: str) -> str:
    """A text area's text: line breaks kept, up to the domain's length (the reader's fields stop at 2,000)."""
    value = read.values.get(name, "").strip()
    if not value:
        read.refuse(name, "required")
    elif len(value) > MAX_TEXT:
        read.refuse(name, f"at most {MAX_TEXT} characters")
    return value


def staff_form(viewer: FormViewer) -> Viewer:
    """A form POST (CSRF checked first) by a CDMO staff member."""
    if viewer.is_sponsor:
        raise Forbidden("only CDMO staff may complete CAPA actions")
    return viewer


StaffForm = Annotated[Viewer, Depends(staff_form)]


# The list --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str = "open"
    lot: str = ""

    def query(self, **changes: str) -> str:
        values = {"status": self.status, "lot": self.lot, **changes}
        return urlencode({key: value for key, value in values.items() if value})


def _filters(status: str, lot: str) -> tuple[Filters, list[str]]:
    problems = []
    if status not in FILTERS:
        problems.append(f"status: choose one of {', '.join(FILTERS)}, not {status[:40]!r}")
        status = "open"
    return Filters(status=status, lot=lot.strip()[:40]), problems


def deviations_page(
    request: Request, viewer: Viewer, filters: Filters, problems: list[str], form: FormState | None = None
) -> HTMLResponse:
    status = None if filters.status == "all" else filters.status
    rows = deviations.list(viewer.unit_of_work(), status=status, lot=filters.lot or None)
    can_open = viewer.can(Action.OPEN_DEVIATIONS) and not viewer.is_sponsor
    context: dict[str, Any] = {
        "rows": rows,
        "filters": filters,
        "choices": FILTERS,
        "problems": problems,
        "can_open": can_open,
        "form": form or FormState.of(lot=filters.lot, severity="minor"),
        "severities": [(value, value) for value in SEVERITIES],
        **BADGES,
    }
    code = form.status if form is not None and form.refused else 422 if problems else 200
    return render(request, "deviations.html", context, status=code)


@router.get("/deviations", response_class=HTMLResponse)
def deviation_list(request: Request, viewer: DeviationReader, status: str = "open", lot: str = "") -> HTMLResponse:
    filters, problems = _filters(status, lot)
    return deviations_page(request, viewer, filters, problems)


def _new(read: Reader) -> tuple[str | None, str, str, str]:
    lot = read.values.get("lot", "").strip() or None
    return lot, read.choice("severity", SEVERITIES), read.text("title"), long_text(read, "description")


@router.post("/deviations")
def open_deviation(request: Request, viewer: Opener, values: FormValues) -> Response:
    def act(wanted: tuple[str | None, str, str, str]) -> domain.Deviation:
        lot, severity, title, description = wanted
        return deviations.open(
            viewer.unit_of_work(),
            lot=lot,
            severity=severity,
            title=title,
            description=description,
            actor=viewer.identity.username,
        )

    outcome = submit(values, OPEN_FIELDS, _new, act)
    if isinstance(outcome, FormState):
        return deviations_page(request, viewer, Filters(), [], outcome)
    where = f" on batch {outcome.batch.lot_number}" if outcome.batch is not None else ""
    return saved(request, deviation_path(outcome.number), f"Deviation {outcome.number} opened{where}.")


# One deviation ---------------------------------------------------------------------------------------------------


def deviation_page(
    request: Request, viewer: Viewer, number: str, forms: Mapping[str, FormState] | None = None
) -> HTMLResponse:
    forms = dict(forms or {})
    detail = deviations.get(viewer.unit_of_work(), number)
    deviation = detail.deviation
    staff = not viewer.is_sponsor
    reviewer = staff and viewer.can(Action.REVIEW_QUALITY)
    username = viewer.identity.username
    editable = staff and deviation.is_open
    capa = [
        {
            "index": index,
            "action": action,
            "can_complete": editable
            and action.status is domain.CapaStatus.OPEN
            and (reviewer or action.owner == username),
            "can_check": editable and reviewer and action.status is domain.CapaStatus.DONE and not action.effectiveness,
            "form": forms.get(f"effectiveness-{index}", FormState()),
            "problem": forms.get(f"complete-{index}", FormState()).problem,
        }
        for index, action in enumerate(deviation.capa, start=1)
    ]
    investigation = forms.get("investigation") or FormState.of(
        investigation=deviation.investigation, root_cause=deviation.root_cause
    )
    closure = forms.get("closure", FormState())
    context: dict[str, Any] = {
        "detail": detail,
        "deviation": deviation,
        "capa": capa,
        "can_review": editable and reviewer,
        "investigation_form": investigation,
        "capa_form": forms.get("capa", FormState()),
        "closure_form": closure,
        "signing": signing_prompt(request, viewer, Meaning.APPROVED, form=closure, prefix="close")
        if editable and reviewer
        else None,
        "signature_views": detail.signatures,
        **BADGES,
    }
    refused = [form for form in forms.values() if form.refused]
    return render(request, "deviation.html", context, status=refused[0].status if refused else 200)


@router.get("/deviations/{number}", response_class=HTMLResponse)
def deviation_detail(request: Request, number: str, viewer: DeviationReader) -> HTMLResponse:
    return deviation_page(request, viewer, number)


def _answer(request: Request, viewer: Viewer, number: str, form: str, outcome: object, message: str) -> Response:
    if isinstance(outcome, FormState):
        return deviation_page(request, viewer, number, {form: outcome})
    return saved(request, deviation_path(number), message)


@router.post("/deviations/{number}/investigation")
def record_investigation(request: Request, number: str, viewer: Reviewer, values: FormValues) -> Response:
    outcome = submit(
        values,
        INVESTIGATION_FIELDS,
        lambda read: (long_text(read, "investigation"), long_text(read, "root_cause")),
        lambda wanted: deviations.record_investigation(
            viewer.unit_of_work(), number, *wanted, actor=viewer.identity.username
        ),
    )
    return _answer(request, viewer, number, "investigation", outcome, "Investigation and root cause saved.")


def _capa(read: Reader) -> tuple[str, str, date]:
    return long_text(read, "description"), read.text("owner"), read.day("due_date")


@router.post("/deviations/{number}/capa")
def add_capa(request: Request, number: str, viewer: Reviewer, values: FormValues) -> Response:
    outcome = submit(
        values,
        CAPA_FIELDS,
        _capa,
        lambda wanted: deviations.add_capa(viewer.unit_of_work(), number, *wanted, actor=viewer.identity.username),
    )
    return _answer(request, viewer, number, "capa", outcome, "CAPA action added.")


@router.post("/deviations/{number}/capa/{index}/completion")
def complete_capa(request: Request, number: str, index: int, viewer: StaffForm, values: FormValues) -> Response:
    outcome = submit(
        values,
        (),
        lambda read: index,
        lambda wanted: deviations.complete_capa(viewer.unit_of_work(), number, wanted, actor=viewer.identity.username),
    )
    return _answer(request, viewer, number, f"complete-{index}", outcome, f"CAPA action {index} marked done.")


@router.post("/deviations/{number}/capa/{index}/effectiveness")
def check_effectiveness(request: Request, number: str, index: int, viewer: Reviewer, values: FormValues) -> Response:
    outcome = submit(
        values,
        EFFECTIVENESS_FIELDS,
        lambda read: long_text(read, "finding"),
        lambda finding: deviations.check_effectiveness(
            viewer.unit_of_work(), number, index, finding, actor=viewer.identity.username
        ),
    )
    message = f"Effectiveness of CAPA action {index} recorded."
    return _answer(request, viewer, number, f"effectiveness-{index}", outcome, message)


def _comment(read: Reader) -> str | None:
    comment = read.values.get("comment", "").strip()
    if len(comment) > 500:
        read.refuse("comment", "at most 500 characters")
    return comment or None


@router.post("/deviations/{number}/closure")
def close_deviation(request: Request, number: str, viewer: Reviewer, values: FormValues) -> Response:
    outcome = submit(
        values,
        CLOSURE_FIELDS,
        _comment,
        lambda comment: signed(
            request,
            values,
            lambda credentials: deviations.close(
                viewer.unit_of_work(),
                number,
                signer=viewer.identity.username,
                credentials=credentials,
                comment=comment,
            ),
        ),
    )
    if isinstance(outcome, FormState):  # never show the password again
        outcome = FormState(
            {name: text for name, text in outcome.values.items() if name != SIGNATURE_FIELDS[1]},
            outcome.errors,
            outcome.problem,
            outcome.status,
        )
    return _answer(request, viewer, number, "closure", outcome, f"Deviation {number} closed and signed.")
