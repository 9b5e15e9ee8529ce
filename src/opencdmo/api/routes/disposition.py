"""Disposition of a batch by the qualified person, and the batch record export.

- ``GET /batches/{lot}/disposition`` (QA, QP): status, every blocker of a release and of a rejection, the audit-trail
  review, the batch's own signatures.
- ``POST /batches/{lot}/audit-review`` (REVIEW_QUALITY), ``POST /batches/{lot}/release`` and
  ``POST /batches/{lot}/rejection`` (DISPOSE_BATCHES: the qualified person), each with a ``signature``. A release
  refused while blockers exist answers 409 naming every one of them.
- ``GET /batches/{lot}/record?format=json|html|pdf`` (VIEW_BATCH_RECORDS): the complete batch record; a sponsor
  reads its own batch's once released, any other answers 404 like a missing one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from opencdmo.adapters import exports
from opencdmo.api.deps import Caller, require
from opencdmo.api.schemas import Body, Printable, Public, error_responses
from opencdmo.api.signing import SignatureIn, SignaturePublic, credentials_from
from opencdmo.domain import Action
from opencdmo.services import batch_record_export, disposition
from opencdmo.services.record_views import BatchRecordView

router = APIRouter(tags=["disposition"], responses=error_responses(401, 403))

Reviewer = Annotated[Caller, Depends(require(Action.REVIEW_QUALITY))]
Disposer = Annotated[Caller, Depends(require(Action.DISPOSE_BATCHES))]
RecordReader = Annotated[Caller, Depends(require(Action.VIEW_BATCH_RECORDS))]
Lot = Annotated[str, Path(max_length=40), Printable]
SIGNED = error_responses(404, 409, 422)

EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
"""The export's HTML is a standalone document with inline CSS only: nothing else may load or run in it."""
UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class ExportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


MEDIA_TYPES = {
    ExportFormat.JSON: "application/json",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.PDF: "application/pdf",
}


def record_response(view: BatchRecordView, export_format: ExportFormat, *, download: bool) -> Response:
    """The batch record rendered as ``export_format``: shown in the browser, or saved as a file when ``download``."""
    name = f"{UNSAFE_FILE_CHARACTERS.sub('_', view.lot_number)}-batch-record.{export_format.value}"
    headers = {
        "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{name}"',
        "Content-Security-Policy": EXPORT_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if export_format is ExportFormat.JSON:
        content: bytes = exports.to_json(view)
    elif export_format is ExportFormat.HTML:
        content = exports.to_html(view).encode("utf-8")
    else:
        content = exports.to_pdf(view)
    return Response(content, media_type=MEDIA_TYPES[export_format], headers=headers)


class BlockerPublic(Public):
    topic: str
    text: str
    deviation: str | None


class DispositionPublic(Public):
    """Where the disposition of a batch stands. ``blockers``: why a release is refused now (empty: the QP may
    release); ``rejection_blockers``: why a rejection is refused now."""

    lot_number: str
    sponsor: str
    status: str
    can_release: bool
    can_reject: bool
    audit_trail_reviewed: bool
    audit_trail_review_stale: bool
    blockers: list[BlockerPublic]
    rejection_blockers: list[BlockerPublic]
    signatures: list[SignaturePublic]
    audit_events: int

    @classmethod
    def from_service(cls, state: disposition.Disposition) -> DispositionPublic:
        def blockers(found: tuple[disposition.Blocker, ...]) -> list[BlockerPublic]:
            return [BlockerPublic(topic=item.topic.value, text=item.text, deviation=item.key) for item in found]

        return cls(
            lot_number=state.lot_number,
            sponsor=state.sponsor,
            status=state.status.value,
            can_release=state.can_release,
            can_reject=state.can_reject,
            audit_trail_reviewed=state.review.current,
            audit_trail_review_stale=state.review.stale,
            blockers=blockers(state.blockers),
            rejection_blockers=blockers(state.rejection_blockers),
            signatures=[SignaturePublic.from_view(view) for view in state.signatures],
            audit_events=len(state.events),
        )


class ReviewIn(Body):
    signature: SignatureIn
    comment: Annotated[str | None, Field(min_length=1, max_length=500), Printable] = None


class ReleaseIn(Body):
    signature: SignatureIn


class RejectionIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500), Printable]
    signature: SignatureIn


@router.get("/batches/{lot_number}/disposition", responses=error_responses(404, 422))
def get_disposition(lot_number: Lot, caller: Reviewer) -> DispositionPublic:
    return DispositionPublic.from_service(disposition.get(caller.unit_of_work(), lot_number))


@router.post("/batches/{lot_number}/audit-review", responses=SIGNED)
def review_audit_trail(lot_number: Lot, body: ReviewIn, caller: Reviewer, request: Request) -> DispositionPublic:
    """Sign the review of the batch's audit trail (meaning REVIEWED); QA or the QP, for a batch in QC."""
    disposition.review_audit_trail(
        caller.unit_of_work(),
        lot_number,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
        comment=body.comment,
    )
    return DispositionPublic.from_service(disposition.get(caller.unit_of_work(), lot_number))


@router.post("/batches/{lot_number}/release", responses=SIGNED)
def release(lot_number: Lot, body: ReleaseIn, caller: Disposer, request: Request) -> DispositionPublic:
    """The qualified person releases the batch (meaning RELEASED over the batch record); 409 with every reason
    while anything blocks it."""
    disposition.release(
        caller.unit_of_work(),
        lot_number,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
    )
    return DispositionPublic.from_service(disposition.get(caller.unit_of_work(), lot_number))


@router.post("/batches/{lot_number}/rejection", responses=SIGNED)
def reject(lot_number: Lot, body: RejectionIn, caller: Disposer, request: Request) -> DispositionPublic:
    """The qualified person rejects the batch (meaning REJECTED, the reason as the signature's comment)."""
    disposition.reject(
        caller.unit_of_work(),
        lot_number,
        body.reason,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
    )
    return DispositionPublic.from_service(disposition.get(caller.unit_of_work(), lot_number))


@router.get(
    "/batches/{lot_number}/record",
    response_class=Response,
    responses={
        200: {
            "description": "The batch record",
            "content": {"application/json": {}, "text/html": {}, "application/pdf": {}},
        },
        **error_responses(404, 422),
    },
)
def export_record(
    lot_number: Lot,
    caller: RecordReader,
    export_format: Annotated[
        ExportFormat, Query(alias="format", description="json (machine-readable), html (printable) or pdf.")
    ] = ExportFormat.JSON,
) -> Response:
    """The complete batch record with every signature (BROKEN when the record changed after signing), its audit
    trail and whether the audit chain verifies. A sponsor reads its own batch's record once released."""
    view = batch_record_export.build(caller.unit_of_work(), lot_number, viewer=caller.identity.username)
    return record_response(view, export_format, download=export_format is ExportFormat.PDF)
