"""The disposition page of a batch (QA and the qualified person) and the batch record downloads.

``/batches/{lot}/release`` shows the batch's status, every reason its release is refused for (each linked to where
it is resolved: the batch record, its QC results, the deviation, the audit trail below), the batch's signatures
and its audit trail, with the signature forms: "Review audit trail" for REVIEW_QUALITY (QA, QP), "Release" and
"Reject" for the qualified person (DISPOSE_BATCHES), each enabled only while allowed. A refused signature or
release is shown in its form, with every reason.

``/batches/{lot}/record.html|.pdf|.json`` are the batch record export (staff; a sponsor its own batch's, once
released, anything else "not found").
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.api.routes.disposition import ExportFormat, record_response
from opencdmo.domain import Action, BatchStatus
from opencdmo.domain.signatures import Meaning
from opencdmo.services import batch_record_export, disposition
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, form_page, page
from opencdmo.web.signing import SIGNATURE_FIELDS, signed, signing_prompt

router = APIRouter(route_class=PageRoute, include_in_schema=False)

QualityViewer = Annotated[Viewer, Depends(page(Action.REVIEW_QUALITY))]
RecordViewer = Annotated[Viewer, Depends(page(Action.VIEW_BATCH_RECORDS))]
Reviewer = Annotated[Viewer, Depends(form_page(Action.REVIEW_QUALITY))]
Disposer = Annotated[Viewer, Depends(form_page(Action.DISPOSE_BATCHES))]

REVIEW_FIELDS = ("comment", *SIGNATURE_FIELDS)
RELEASE_FIELDS = SIGNATURE_FIELDS
REJECT_FIELDS = ("reason", *SIGNATURE_FIELDS)


def _segment(value: str) -> str:
    return quote(value, safe="")


def release_path(lot: str) -> str:
    return f"/batches/{_segment(lot)}/release"


def blocker_link(blocker: disposition.Blocker, lot: str) -> str:
    """Where a blocker is resolved."""
    if blocker.topic is disposition.Topic.BATCH_RECORD:
        return f"/batch-records/{_segment(lot)}"
    if blocker.topic is disposition.Topic.QC:
        return f"/qc/{_segment(lot)}"
    if blocker.topic is disposition.Topic.DEVIATION and blocker.key is not None:
        return f"/deviations/{_segment(blocker.key)}"
    if blocker.topic is disposition.Topic.AUDIT_TRAIL:
        return "#audit-trail"
    return f"/batches/{_segment(lot)}"


def release_page(
    request: Request,
    viewer: Viewer,
    lot: str,
    *,
    review_form: FormState | None = None,
    release_form: FormState | None = None,
    reject_form: FormState | None = None,
) -> HTMLResponse:
    state = disposition.get(viewer.unit_of_work(), lot)
    in_qc = state.status is BatchStatus.IN_QC
    may_review = viewer.can(Action.REVIEW_QUALITY) and in_qc
    may_dispose = viewer.can(Action.DISPOSE_BATCHES) and in_qc
    shown = next((form for form in (review_form, release_form, reject_form) if form is not None), None)
    context = {
        "state": state,
        "lot": state.lot_number,
        "blockers": [(blocker, blocker_link(blocker, state.lot_number)) for blocker in state.blockers],
        "rejection_blockers": list(state.rejection_blockers),
        "signature_views": list(state.signatures),
        "events": list(state.events),
        "may_review": may_review,
        "may_dispose": may_dispose,
        "review_form": review_form or FormState(),
        "release_form": release_form or FormState(),
        "reject_form": reject_form or FormState(),
        "review_signing": (
            signing_prompt(request, viewer, Meaning.REVIEWED, form=review_form, prefix="review") if may_review else None
        ),
        "release_signing": (
            signing_prompt(request, viewer, Meaning.RELEASED, form=release_form, prefix="release")
            if may_dispose
            else None
        ),
        "reject_signing": (
            signing_prompt(request, viewer, Meaning.REJECTED, form=reject_form, prefix="reject")
            if may_dispose
            else None
        ),
        "downloads": [
            (export_format.value.upper(), f"/batches/{_segment(state.lot_number)}/record.{export_format.value}")
            for export_format in ExportFormat
        ],
    }
    return render(request, "release.html", context, status=shown.status if shown is not None else 200)


@router.get("/batches/{lot_number}/release", response_class=HTMLResponse)
def release_detail(request: Request, lot_number: str, viewer: QualityViewer) -> HTMLResponse:
    return release_page(request, viewer, lot_number)


def _comment(values: dict[str, str]) -> str | None:
    return values.get("comment", "").strip() or None


@router.post("/batches/{lot_number}/audit-review")
def review_audit_trail(request: Request, lot_number: str, viewer: Reviewer, values: FormValues) -> Response:
    outcome = submit(
        values,
        REVIEW_FIELDS,
        lambda _reader: _comment(values),
        lambda comment: signed(
            request,
            values,
            lambda credentials: disposition.review_audit_trail(
                viewer.unit_of_work(),
                lot_number,
                signer=viewer.identity.username,
                credentials=credentials,
                comment=comment,
            ),
        ),
    )
    if isinstance(outcome, FormState):
        return release_page(request, viewer, lot_number, review_form=outcome)
    return saved(request, release_path(lot_number), f"The audit trail of batch {lot_number} is reviewed and signed.")


@router.post("/batches/{lot_number}/release")
def release(request: Request, lot_number: str, viewer: Disposer, values: FormValues) -> Response:
    outcome = submit(
        values,
        RELEASE_FIELDS,
        lambda _reader: None,
        lambda _nothing: signed(
            request,
            values,
            lambda credentials: disposition.release(
                viewer.unit_of_work(), lot_number, signer=viewer.identity.username, credentials=credentials
            ),
        ),
    )
    if isinstance(outcome, FormState):
        return release_page(request, viewer, lot_number, release_form=outcome)
    return saved(request, release_path(lot_number), f"Batch {lot_number} is released.")


def _reason(reader: Reader) -> str:
    return reader.text("reason")


@router.post("/batches/{lot_number}/rejection")
def reject(request: Request, lot_number: str, viewer: Disposer, values: FormValues) -> Response:
    outcome = submit(
        values,
        REJECT_FIELDS,
        _reason,
        lambda reason: signed(
            request,
            values,
            lambda credentials: disposition.reject(
                viewer.unit_of_work(), lot_number, reason, signer=viewer.identity.username, credentials=credentials
            ),
        ),
    )
    if isinstance(outcome, FormState):
        return release_page(request, viewer, lot_number, reject_form=outcome)
    return saved(request, release_path(lot_number), f"Batch {lot_number} is rejected.")


@router.get("/batches/{lot_number}/record.{export_format}")
def record_export(lot_number: str, export_format: ExportFormat, viewer: RecordViewer) -> Response:
    """The batch record as a printable page (HTML) or a download (PDF, JSON)."""
    view = batch_record_export.build(viewer.unit_of_work(), lot_number, viewer=viewer.identity.username)
    return record_response(view, export_format, download=export_format is not ExportFormat.HTML)
