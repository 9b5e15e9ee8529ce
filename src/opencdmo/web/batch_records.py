"""The batch record pages: the records in progress and complete, and one batch's record executed step by step.

A batch's page shows its steps in order: the next step's values each with a form typed by the parameter's kind
and its specification beside it, later steps locked until the earlier ones are complete, out-of-specification
values in red with the deviation they opened, corrections with the original struck through (who, when, why), a
"Correct" form asking for a reason, "Verify" with the electronic signature form on values awaiting a second
person (never offered to the person who recorded them), "Start batch record" on a batch without one and
"Complete" once every step is done. Each form is offered only to the roles that may use it (EXECUTE_BATCHES;
verifying also REVIEW_QUALITY); reading needs VIEW_BATCH_RECORDS, and a sponsor user reads only its own released
batches' records (any other answers 404).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.domain import Action, BatchRecordStatus, ParameterKind
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Forbidden, InputError
from opencdmo.services import batch_records
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import FormViewer, Viewer, form_page, page
from opencdmo.web.signing import PASSWORD_FIELD, SIGNATURE_FIELDS, SigningPrompt, signed, signing_prompt

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RecordViewer = Annotated[Viewer, Depends(page(Action.VIEW_BATCH_RECORDS))]
Executor = Annotated[Viewer, Depends(form_page(Action.EXECUTE_BATCHES))]
CHECK_CHOICES = [("yes", "yes"), ("no", "no")]


def verifier_form(viewer: FormViewer) -> Viewer:
    """A form POST of a role that may verify values (EXECUTE_BATCHES or REVIEW_QUALITY), CSRF checked first."""
    if not any(viewer.can(action) for action in batch_records.VERIFIERS):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not verify batch record values")
    return viewer


Verifier = Annotated[Viewer, Depends(verifier_form)]


def record_path(lot: str, step: int | None = None) -> str:
    return f"/batch-records/{quote(lot, safe='')}" + (f"#step-{step}" if step is not None else "")


def _training_inline(error: Forbidden) -> InputError:
    """A refusal for want of training, said above the form rather than as a 403 page."""
    return InputError(str(error))


# The lists -----------------------------------------------------------------------------------------------------


def list_page(request: Request, viewer: Viewer, start_form: FormState | None = None) -> HTMLResponse:
    lines = batch_records.list_records(viewer.unit_of_work())
    context: dict[str, Any] = {
        "in_progress": [line for line in lines if line.status is BatchRecordStatus.IN_PROGRESS],
        "complete": [line for line in lines if line.status is BatchRecordStatus.COMPLETE],
        "can_start": viewer.can(Action.EXECUTE_BATCHES),
        "start_form": start_form or FormState(),
        "show_sponsor": not viewer.is_sponsor,
        "record_path": record_path,
    }
    status = start_form.status if start_form is not None and start_form.refused else 200
    return render(request, "batch_records.html", context, status=status)


@router.get("/batch-records", response_class=HTMLResponse)
def batch_record_list(request: Request, viewer: RecordViewer) -> HTMLResponse:
    return list_page(request, viewer)


@router.post("/batch-records")
def start_batch_record(request: Request, viewer: Executor, values: FormValues) -> Response:
    def act(lot: str) -> Any:
        try:
            return batch_records.start(viewer.unit_of_work(), lot, actor=viewer.identity.username)
        except Forbidden as refused:
            raise _training_inline(refused) from refused

    outcome = submit(values, ("lot",), lambda read: read.text("lot"), act)
    if isinstance(outcome, FormState):
        lot = values.get("lot", "").strip()
        if values.get("from") == "record" and lot:
            return record_page(request, viewer, lot, {"start": outcome})
        return list_page(request, viewer, outcome)
    return saved(
        request,
        record_path(outcome.lot_number),
        f"Batch record of {outcome.lot_number} started on {outcome.master.label}: step 1 is open.",
    )


# One batch's record --------------------------------------------------------------------------------------------


def _parameter_rows(
    view: batch_records.BatchRecordView,
    step: batch_records.StepView,
    viewer: Viewer,
    forms: Mapping[str, FormState],
    prompt: SigningPrompt | None,
) -> list[dict[str, Any]]:
    username = viewer.identity.username
    executes = view.in_progress and viewer.can(Action.EXECUTE_BATCHES) and not viewer.is_sponsor
    verifies = view.in_progress and any(viewer.can(action) for action in batch_records.VERIFIERS)
    rows = []
    for index, parameter in enumerate(step.parameters, start=1):
        current = parameter.current
        recordable = executes and not step.locked and current is None
        verifiable = (
            verifies and prompt is not None and current is not None and current.awaiting_verification
        ) and current.recorded_by != username
        verify_form = forms.get(f"verify-{current.id}", FormState()) if current is not None else FormState()
        rows.append(
            {
                "parameter": parameter,
                "index": index,
                "prefix": f"record-{step.position}-{index}",
                "record_form": forms.get(f"record:{step.position}:{parameter.name}", FormState())
                if recordable
                else None,
                "correct_form": forms.get(f"correct-{current.id}", FormState())
                if executes and current is not None
                else None,
                "verify_form": verify_form,
                "signing": dataclasses.replace(prompt, form=verify_form, prefix=f"verify-{current.id}")
                if verifiable and prompt is not None and current is not None
                else None,
                "own_value": current is not None and current.awaiting_verification and current.recorded_by == username,
            }
        )
    return rows


def record_page(
    request: Request, viewer: Viewer, lot: str, forms: Mapping[str, FormState] | None = None
) -> HTMLResponse:
    forms = dict(forms or {})
    view = batch_records.get(viewer.unit_of_work(), lot)
    staff = not viewer.is_sponsor
    may_verify = view.in_progress and any(viewer.can(action) for action in batch_records.VERIFIERS)
    prompt = signing_prompt(request, viewer, Meaning.VERIFIED) if may_verify and view.awaiting_verification else None
    steps: list[dict[str, Any]] = [
        {"step": step, "rows": _parameter_rows(view, step, viewer, forms, prompt)} for step in view.steps
    ]
    executes = staff and viewer.can(Action.EXECUTE_BATCHES)
    shown = {id(form) for item in steps for row in item["rows"] for form in _forms_of(row)}
    if executes and (not view.started or view.can_complete):
        shown |= {id(forms.get("start")), id(forms.get("complete"))}
    # A refused form the page does not show (a step locked meanwhile, a value another operator just recorded):
    # its message goes above the steps.
    problems = [_message(form) for form in forms.values() if form.refused and id(form) not in shown]
    context: dict[str, Any] = {
        "view": view,
        "steps": steps,
        "problems": problems,
        "staff": staff,
        "can_start": executes and not view.started,
        "start_form": forms.get("start", FormState()),
        "can_complete": executes and view.can_complete,
        "complete_form": forms.get("complete", FormState()),
        "master_path": _master_path(view) if staff and view.master_version is not None else None,
        "kinds": ParameterKind,
        "check_choices": CHECK_CHOICES,
    }
    refused = [form for form in forms.values() if form.refused]
    return render(request, "batch_record.html", context, status=refused[0].status if refused else 200)


def _forms_of(row: dict[str, Any]) -> list[FormState]:
    forms = [row["record_form"], row["correct_form"]]
    if row["signing"] is not None:
        forms.append(row["verify_form"])
    return [form for form in forms if form is not None]


def _message(form: FormState) -> str:
    return form.problem or "; ".join(form.errors.values())


def _master_path(view: batch_records.BatchRecordView) -> str:
    return f"/master-records/{quote(view.process, safe='')}/v{view.master_version}"


@router.get("/batch-records/{lot}", response_class=HTMLResponse)
def batch_record_detail(request: Request, lot: str, viewer: RecordViewer) -> HTMLResponse:
    return record_page(request, viewer, lot)


def _beside_the_value(form: FormState, parameter: str) -> FormState:
    """The domain names a refused value by its parameter (``pH: 'seven' is not a number``): the form's field is
    ``value``. A message on the form as a whole goes beside the value too when nothing else is refused."""
    errors = dict(form.errors)
    if parameter in errors:
        errors.setdefault("value", errors.pop(parameter))
    if not errors and form.problem:
        return FormState(form.values, {"value": form.problem}, "", form.status)
    return FormState(form.values, errors, form.problem, form.status)


def _parameter_of(viewer: Viewer, lot: str, entry_id: int) -> str:
    """The name of the parameter of a value ("" when there is no such value)."""
    view = batch_records.get(viewer.unit_of_work(), lot)
    return next((entry.parameter for entry in view.entries if entry.id == entry_id), "")


def _entry(read: Reader) -> tuple[int, str, str]:
    return read.whole("step"), read.text("parameter"), read.text("value")


@router.post("/batch-records/{lot}/entries")
def record_value(request: Request, lot: str, viewer: Executor, values: FormValues) -> Response:
    def act(wanted: tuple[int, str, str]) -> batch_records.Recorded:
        step, parameter, value = wanted
        try:
            return batch_records.record(
                viewer.unit_of_work(), lot, step, parameter, value, actor=viewer.identity.username
            )
        except Forbidden as refused:
            raise _training_inline(refused) from refused

    parameter = values.get("parameter", "").strip()
    outcome = submit(values, ("value", parameter), _entry, act)
    if isinstance(outcome, FormState):
        key = f"record:{values.get('step', '').strip()}:{parameter}"
        return record_page(request, viewer, lot, {key: _beside_the_value(outcome, parameter)})
    entry = outcome.entry
    said = f"{entry.parameter} recorded at step {entry.step}: {entry.value}"
    if outcome.deviation is not None:
        said += f", out of specification: deviation {outcome.deviation} opened"
    return saved(request, record_path(lot, entry.step), f"{said}.")


def _correction(read: Reader) -> tuple[str, str]:
    return read.text("value"), read.text("reason")


@router.post("/batch-records/{lot}/entries/{entry_id}/correction")
def correct_value(request: Request, lot: str, entry_id: int, viewer: Executor, values: FormValues) -> Response:
    def act(wanted: tuple[str, str]) -> batch_records.Recorded:
        value, reason = wanted
        try:
            return batch_records.correct(
                viewer.unit_of_work(), lot, entry_id, value, reason=reason, actor=viewer.identity.username
            )
        except Forbidden as refused:
            raise _training_inline(refused) from refused

    parameter = _parameter_of(viewer, lot, entry_id)
    outcome = submit(values, ("value", "reason", parameter), _correction, act)
    if isinstance(outcome, FormState):
        return record_page(request, viewer, lot, {f"correct-{entry_id}": _beside_the_value(outcome, parameter)})
    entry = outcome.entry
    said = f"{entry.parameter} of step {entry.step} corrected to {entry.value}"
    if outcome.deviation is not None:
        said += f", out of specification: deviation {outcome.deviation} opened"
    return saved(request, record_path(lot, entry.step), f"{said}.")


@router.post("/batch-records/{lot}/entries/{entry_id}/verification")
def verify_value(request: Request, lot: str, entry_id: int, viewer: Verifier, values: FormValues) -> Response:
    outcome = submit(
        values,
        SIGNATURE_FIELDS,
        lambda read: None,
        lambda _: signed(
            request,
            values,
            lambda credentials: batch_records.verify(
                viewer.unit_of_work(), lot, entry_id, signer=viewer.identity.username, credentials=credentials
            ),
        ),
    )
    if isinstance(outcome, FormState):
        shown_again = FormState(
            {name: text for name, text in outcome.values.items() if name != PASSWORD_FIELD},
            outcome.errors,
            outcome.problem,
            outcome.status,
        )
        return record_page(request, viewer, lot, {f"verify-{entry_id}": shown_again})
    return saved(
        request,
        record_path(lot, outcome.step),
        f"{outcome.parameter} of step {outcome.step} verified and signed.",
    )


@router.post("/batch-records/{lot}/completion")
def complete_batch_record(request: Request, lot: str, viewer: Executor, values: FormValues) -> Response:
    outcome = submit(
        values,
        (),
        lambda read: None,
        lambda _: batch_records.complete(viewer.unit_of_work(), lot, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return record_page(request, viewer, lot, {"complete": outcome})
    return saved(request, record_path(lot), f"Batch record of {outcome.lot_number} complete: the batch goes to QC.")
