"""The QC pages: the worklist of batches in QC, one batch's results against its release specification, and the
instrument register.

QC analysts (RECORD_QC_RESULTS) record a result on an instrument picked from the register (one whose calibration
is not valid on the day is refused, with the reason beside the field), and verify another analyst's result by
electronic signature; analysts and QA void a result with a reason. A failing result opens a deviation, linked from
the result. Analysts and QA (MANAGE_INSTRUMENTS) register instruments and record calibrations. The worklist and
the register are CDMO staff pages (a sponsor user gets 403); a sponsor reads the results of its own released
batches, read only. Every form checks the CSRF token, then the role.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.domain import Action
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Forbidden, InputError
from opencdmo.services import qc
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import CurrentViewer, FormViewer, Viewer, form_page, page
from opencdmo.web.signing import SIGNATURE_FIELDS, signed, signing_prompt

router = APIRouter(route_class=PageRoute, include_in_schema=False)

QcReader = Annotated[Viewer, Depends(page(Action.VIEW_BATCH_RECORDS))]
Analyst = Annotated[Viewer, Depends(form_page(Action.RECORD_QC_RESULTS))]
InstrumentKeeper = Annotated[Viewer, Depends(form_page(Action.MANAGE_INSTRUMENTS))]
MAY_VOID = (Action.RECORD_QC_RESULTS, Action.REVIEW_QUALITY)
MAY_SEE_INSTRUMENTS = (Action.VIEW_BATCH_RECORDS, Action.MANAGE_INSTRUMENTS)
RESULT_FIELDS = ("test", "value", "instrument")
VOID_FIELDS = ("reason",)
INSTRUMENT_FIELDS = ("code", "name", "kind", "calibrated_on", "calibration_due")
CALIBRATION_FIELDS = ("calibrated_on", "calibration_due")
CALIBRATION_CLASSES = {
    qc.CalibrationStatus.VALID.value: "status-released",
    qc.CalibrationStatus.DUE_SOON.value: "status-in-progress",
    qc.CalibrationStatus.EXPIRED.value: "status-rejected",
    qc.CalibrationStatus.NOT_YET.value: "status-scheduled",
    qc.CalibrationStatus.RETIRED.value: "status-cancelled",
}
STATE_CLASSES = {
    "passed": "status-released",
    "failed": "status-rejected",
    "to verify": "status-in-progress",
    "to record": "status-scheduled",
}


def qc_path(lot: str) -> str:
    return f"/qc/{quote(lot, safe='')}"


def voider_form(viewer: FormViewer) -> Viewer:
    """A form POST (CSRF checked first) by a QC analyst or QA."""
    if not any(viewer.can(action) for action in MAY_VOID):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not void QC results")
    return viewer


def instrument_page(viewer: CurrentViewer) -> Viewer:
    if not any(viewer.can(action) for action in MAY_SEE_INSTRUMENTS):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not view the instrument register")
    return viewer


Voider = Annotated[Viewer, Depends(voider_form)]
InstrumentReader = Annotated[Viewer, Depends(instrument_page)]


# The worklist ----------------------------------------------------------------------------------------------------


@router.get("/qc", response_class=HTMLResponse)
def worklist(request: Request, viewer: QcReader) -> HTMLResponse:
    rows = qc.worklist(viewer.unit_of_work())  # staff only: a sponsor user gets 403
    context: dict[str, Any] = {
        "rows": rows,
        "specifications": qc.specifications(viewer.unit_of_work()),
        "can_manage_instruments": viewer.can(Action.MANAGE_INSTRUMENTS),
    }
    return render(request, "qc.html", context)


# One batch's results ---------------------------------------------------------------------------------------------


def batch_page(
    request: Request, viewer: Viewer, lot: str, forms: Mapping[str, FormState] | None = None
) -> HTMLResponse:
    forms = dict(forms or {})
    shown = qc.results(viewer.unit_of_work(), lot)
    username = viewer.identity.username
    staff = not viewer.is_sponsor
    open_for_results = shown.open_for_results and staff
    analyst = open_for_results and viewer.can(Action.RECORD_QC_RESULTS)
    may_void = open_for_results and any(viewer.can(action) for action in MAY_VOID)
    today = qc.utcnow().date()
    instruments = qc.instruments(viewer.unit_of_work()) if analyst else []
    lines = []
    for line in shown.results:
        result = line.result
        key = str(result.id)
        can_verify = analyst and not result.is_void and not result.is_verified and result.analyst != username
        verify_form = forms.get(f"verify-{key}", FormState())
        lines.append(
            {
                "line": line,
                "result": result,
                "can_verify": can_verify,
                "can_void": may_void and not result.is_void,
                "void_form": forms.get(f"void-{key}", FormState()),
                "signing": signing_prompt(request, viewer, Meaning.VERIFIED, form=verify_form, prefix=f"verify-{key}")
                if can_verify
                else None,
                "verify_form": verify_form,
            }
        )
    record_form = forms.get("record") or FormState.of(
        test=next((row.test.name for row in shown.tests if row.current is None), "")
    )
    context: dict[str, Any] = {
        "shown": shown,
        "batch": shown.batch,
        "lines": lines,
        "can_record": analyst and shown.specification is not None,
        "record_form": record_form,
        "test_choices": [(row.test.name, f"{row.test.name} ({row.test.spec})") for row in shown.tests],
        "instrument_choices": [
            (item.code, f"{item.code} · {item.name} · calibration {qc.calibration_status(item, today).value}")
            for item in instruments
            if item.active
        ],
        "state_classes": STATE_CLASSES,
    }
    refused = [form for form in forms.values() if form.refused]
    return render(request, "qc_batch.html", context, status=refused[0].status if refused else 200)


@router.get("/qc/{lot}", response_class=HTMLResponse)
def batch_results(request: Request, lot: str, viewer: QcReader) -> HTMLResponse:
    return batch_page(request, viewer, lot)


def _result(read: Reader) -> tuple[str, str, str]:
    return read.text("test"), read.text("value"), read.text("instrument")


@router.post("/qc/{lot}/results")
def record_result(request: Request, lot: str, viewer: Analyst, values: FormValues) -> Response:
    def act(wanted: tuple[str, str, str]) -> qc.RecordedResult:
        test, value, instrument = wanted
        try:
            return qc.record_result(viewer.unit_of_work(), lot, test, value, instrument, actor=viewer.identity.username)
        except Forbidden as refused:  # no current training on the method: said above the form
            raise InputError(str(refused)) from refused

    outcome = submit(values, RESULT_FIELDS, _result, act, conflict_field="test")
    if isinstance(outcome, FormState):
        return batch_page(request, viewer, lot, {"record": outcome})
    result = outcome.result
    verdict = "passed" if result.passed else f"failed: deviation {outcome.deviation} opened"
    return saved(request, qc_path(lot), f"{result.test} recorded: {result.display_value} ({verdict}).")


def _lot_of(viewer: Viewer, result_id: int) -> str:
    return qc.result(viewer.unit_of_work(), result_id).result.batch.lot_number


@router.post("/qc/results/{result_id}/verification")
def verify_result(request: Request, result_id: int, viewer: Analyst, values: FormValues) -> Response:
    lot = _lot_of(viewer, result_id)
    outcome = submit(
        values,
        SIGNATURE_FIELDS,
        lambda read: None,
        lambda _: signed(
            request,
            values,
            lambda credentials: qc.verify_result(
                viewer.unit_of_work(), result_id, signer=viewer.identity.username, credentials=credentials
            ),
        ),
    )
    if isinstance(outcome, FormState):
        shown_again = FormState(
            {name: text for name, text in outcome.values.items() if name != SIGNATURE_FIELDS[1]},
            outcome.errors,
            outcome.problem,
            outcome.status,
        )
        return batch_page(request, viewer, lot, {f"verify-{result_id}": shown_again})
    return saved(request, qc_path(lot), f"{outcome.test} verified and signed.")


@router.post("/qc/results/{result_id}/void")
def void_result(request: Request, result_id: int, viewer: Voider, values: FormValues) -> Response:
    lot = _lot_of(viewer, result_id)
    outcome = submit(
        values,
        VOID_FIELDS,
        lambda read: read.text("reason"),
        lambda reason: qc.void_result(viewer.unit_of_work(), result_id, reason, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return batch_page(request, viewer, lot, {f"void-{result_id}": outcome})
    return saved(request, qc_path(lot), f"The {outcome.test} result was voided: record the test again.")


# Instruments -----------------------------------------------------------------------------------------------------


def instruments_page(request: Request, viewer: Viewer, forms: Mapping[str, FormState] | None = None) -> HTMLResponse:
    forms = dict(forms or {})
    today = qc.utcnow().date()
    items = qc.instruments(viewer.unit_of_work())  # staff only: a sponsor user gets 403
    rows = [
        {
            "instrument": item,
            "status": qc.calibration_status(item, today).value,
            "form": forms.get(f"calibrate-{item.code}", FormState()),
        }
        for item in items
    ]
    context: dict[str, Any] = {
        "rows": rows,
        "today": today,
        "can_manage": viewer.can(Action.MANAGE_INSTRUMENTS),
        "form": forms.get("register", FormState()),
        "calibration_classes": CALIBRATION_CLASSES,
    }
    refused = [form for form in forms.values() if form.refused]
    return render(request, "instruments.html", context, status=refused[0].status if refused else 200)


@router.get("/instruments", response_class=HTMLResponse)
def instrument_list(request: Request, viewer: InstrumentReader) -> HTMLResponse:
    return instruments_page(request, viewer)


def _instrument(read: Reader) -> tuple[str, str, str, date, date]:
    return (
        read.text("code"),
        read.text("name"),
        read.text("kind"),
        read.day("calibrated_on"),
        read.day("calibration_due"),
    )


@router.post("/instruments")
def register_instrument(request: Request, viewer: InstrumentKeeper, values: FormValues) -> Response:
    outcome = submit(
        values,
        INSTRUMENT_FIELDS,
        _instrument,
        lambda wanted: qc.register(viewer.unit_of_work(), *wanted, actor=viewer.identity.username),
        conflict_field="code",
    )
    if isinstance(outcome, FormState):
        return instruments_page(request, viewer, {"register": outcome})
    return saved(request, "/instruments", f"Instrument {outcome.code} registered.")


@router.post("/instruments/{code}/calibration")
def recalibrate_instrument(request: Request, code: str, viewer: InstrumentKeeper, values: FormValues) -> Response:
    outcome = submit(
        values,
        CALIBRATION_FIELDS,
        lambda read: (read.day("calibrated_on"), read.day("calibration_due")),
        lambda wanted: qc.recalibrate(viewer.unit_of_work(), code, *wanted, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return instruments_page(request, viewer, {f"calibrate-{code}": outcome})
    message = f"Calibration of {outcome.code} recorded: valid {outcome.calibrated_on} to {outcome.calibration_due}."
    return saved(request, "/instruments", message)
