"""The audit trail, searched and exported (CDMO staff who review it: QA, the qualified person, the administrator).

``GET /audit?record_type=&record_id=&user=&since=&until=&format=json|csv``: events matching every filter given,
oldest first (``newest_first=true`` for the other way, ``before=N`` for the next page of such a list); JSON as a
list of events, CSV as a download with every column (RFC 4180; a cell a spreadsheet would run as a formula gets a
leading apostrophe). ``GET /audit/verification``: whether the whole chain verifies, and where it breaks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query, Response

from opencdmo import domain
from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity
from opencdmo.api.schemas import Moment, Printable, Public, error_responses
from opencdmo.domain.audit import AuditEvent
from opencdmo.errors import Forbidden
from opencdmo.services import audit

router = APIRouter(tags=["audit trail"], responses=error_responses(401, 403))

READERS = (domain.Action.REVIEW_QUALITY, domain.Action.MANAGE_USERS)
"""Who reads the audit trail: the quality unit, which reviews it (QA, the QP), and the administrator (security)."""


class MayAct(Protocol):
    def can(self, action: domain.Action, /) -> bool: ...


def may_read_the_audit_trail(who: MayAct) -> bool:
    """Whether an identity (or a web page's viewer) may read the audit trail."""
    return any(who.can(action) for action in READERS)


def audit_reader(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    if identity.role is domain.Role.SPONSOR or not may_read_the_audit_trail(identity):
        raise Forbidden(f"the role {identity.role.value!r} may not read the audit trail")
    return Caller(identity=identity, application=application)


Reader = Annotated[Caller, Depends(audit_reader)]


class AuditFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class AuditEventPublic(Public):
    """One event; values are JSON text as stored. ``hash`` chains it to ``previous_hash`` (tamper evidence)."""

    sequence: int
    occurred_at: datetime
    username: str
    action: str
    record_type: str
    record_id: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    previous_hash: str
    hash: str

    @classmethod
    def from_domain(cls, event: AuditEvent) -> AuditEventPublic:
        return cls(**{name: getattr(event, name) for name in audit.EXPORT_COLUMNS})


class ChainPublic(Public):
    intact: bool
    checked: int
    head_hash: str
    first_break: str | None


@router.get(
    "/audit",
    response_model=list[AuditEventPublic],
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}, **error_responses(422)},
)
def search_audit_trail(
    caller: Reader,
    record_type: Annotated[
        str | None, Query(max_length=80, description="Only events on this kind of record."), Printable
    ] = None,
    record_id: Annotated[
        str | None, Query(max_length=200, description="Only events on this record."), Printable
    ] = None,
    tree: Annotated[bool, Query(description="With record_id: also every record under it (ids 'ID/...').")] = False,
    user: Annotated[str | None, Query(max_length=80, description="Only events by this username."), Printable] = None,
    since: Annotated[datetime | None, Query(description="From this time on (inclusive)."), Moment] = None,
    until: Annotated[datetime | None, Query(description="Before this time."), Moment] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_SEARCH_RESULTS)] = 1000,
    newest_first: Annotated[bool, Query()] = False,
    before: Annotated[int | None, Query(ge=1, description="Only events numbered below this one.")] = None,
    export_format: Annotated[AuditFormat, Query(alias="format")] = AuditFormat.JSON,
) -> Response | list[AuditEventPublic]:
    query = audit.AuditQuery(
        record_type=record_type,
        record_id=record_id,
        username=user,
        since=since,
        until=until,
        limit=limit,
        record_tree=tree,
        newest_first=newest_first,
        before=before,
    )
    events = audit.search(caller.unit_of_work(), query)
    if export_format is AuditFormat.CSV:
        return Response(
            audit.export_csv(events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"', "Cache-Control": "no-store"},
        )
    return [AuditEventPublic.from_domain(event) for event in events]


@router.get("/audit/verification")
def verify_audit_trail(caller: Reader) -> ChainPublic:
    """Check every stored event against its hash and the chain."""
    verdict = audit.verify(caller.unit_of_work())
    return ChainPublic(
        intact=verdict.intact,
        checked=verdict.checked,
        head_hash=verdict.head_hash,
        first_break=None if verdict.first_break is None else str(verdict.first_break),
    )
