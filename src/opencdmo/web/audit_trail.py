"""The audit trail page: search by record type, record id (optionally with every record under it), user and dates,
newest first, a page of events at a time; CSV and JSON exports of the same search; a "Verify chain" button.

For those who review the trail (QA, the qualified person) and the administrator (security); a sponsor user or any
other role answers 403 (see :data:`opencdmo.api.routes.audit.READERS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.api.routes.audit import may_read_the_audit_trail
from opencdmo.domain.audit import AuditEvent, ChainVerdict
from opencdmo.errors import Forbidden, InputError
from opencdmo.services import audit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import CurrentViewer, FormViewer, Viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZES = (50, 100, 500)
DEFAULT_PAGE_SIZE = 100
MAX_TEXT = 200


def _reader(viewer: Viewer) -> Viewer:
    if viewer.is_sponsor or not may_read_the_audit_trail(viewer):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not read the audit trail")
    return viewer


def audit_viewer(viewer: CurrentViewer) -> Viewer:
    return _reader(viewer)


def audit_form_viewer(viewer: FormViewer) -> Viewer:
    return _reader(viewer)


AuditViewer = Annotated[Viewer, Depends(audit_viewer)]
AuditFormViewer = Annotated[Viewer, Depends(audit_form_viewer)]


@dataclass(frozen=True)
class AuditFilters:
    """The search as typed in the page's form (text), and what it means for :class:`audit.AuditQuery`."""

    record_type: str = ""
    record_id: str = ""
    tree: str = ""
    user: str = ""
    since: str = ""
    until: str = ""
    limit: int = DEFAULT_PAGE_SIZE
    before: int | None = None

    def query(self, **changes: object) -> str:
        """The query string of these filters with ``changes`` (empty ones left out)."""
        values = {**asdict(self), **changes}
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})

    def search(self, *, export: bool = False) -> audit.AuditQuery:
        since = _day(self.since)
        until = _day(self.until)
        return audit.AuditQuery(
            record_type=self.record_type or None,
            record_id=self.record_id or None,
            record_tree=bool(self.tree) and bool(self.record_id),
            username=self.user or None,
            since=None if since is None else datetime.combine(since, time(), UTC),
            until=None if until is None else datetime.combine(until + timedelta(days=1), time(), UTC),
            limit=audit.MAX_SEARCH_RESULTS if export else self.limit,
            newest_first=not export,
            before=None if export else self.before,
        )


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _filters(
    record_type: str, record_id: str, tree: str, user: str, since: str, until: str, limit: str, before: str
) -> tuple[AuditFilters, list[str]]:
    problems = []
    texts = {"record type": record_type, "record id": record_id, "user": user}
    for name, value in texts.items():
        if len(value) > MAX_TEXT:
            problems.append(f"{name}: at most {MAX_TEXT} characters")
    days = {"from": since, "to": until}
    for name, value in days.items():
        try:
            _day(value)
        except ValueError:
            problems.append(f"{name}: expected a date such as 2027-03-01, not {value[:40]!r}")
            days[name] = ""
    size = DEFAULT_PAGE_SIZE
    if limit:
        if limit.isdigit() and int(limit) in PAGE_SIZES:
            size = int(limit)
        else:
            problems.append(f"per page: choose {', '.join(str(number) for number in PAGE_SIZES)}")
    cursor = None
    if before:
        if before.isdigit() and 1 <= int(before) <= 2**62:
            cursor = int(before)
        else:
            problems.append(f"page: expected an event number, not {before[:20]!r}")
    filters = AuditFilters(
        record_type=record_type.strip()[:MAX_TEXT],
        record_id=record_id.strip()[:MAX_TEXT],
        tree="1" if tree else "",
        user=user.strip()[:MAX_TEXT],
        since=days["from"],
        until=days["to"],
        limit=size,
        before=cursor,
    )
    if filters.since and filters.until and filters.until < filters.since:
        problems.append("to: must not be before from")
        filters = replace(filters, until="")
    return filters, problems


def audit_page(
    request: Request, viewer: Viewer, filters: AuditFilters, problems: list[str], verdict: ChainVerdict | None = None
) -> HTMLResponse:
    events = audit.search(viewer.unit_of_work(), filters.search())
    unpaged = replace(filters, before=None)
    context = {
        "filters": filters,
        "problems": problems,
        "events": events,
        "page_sizes": PAGE_SIZES,
        "older": unpaged.query(before=events[-1].sequence) if len(events) == filters.limit else None,
        "newest": unpaged.query() if filters.before is not None else None,
        "export_query": unpaged.query(limit="", before=""),
        "max_export": audit.MAX_SEARCH_RESULTS,
        "verdict": verdict,
    }
    return render(request, "audit.html", context, status=422 if problems else 200)


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    viewer: AuditViewer,
    record_type: str = "",
    record_id: str = "",
    tree: str = "",
    user: str = "",
    since: str = "",
    until: str = "",
    limit: str = "",
    before: str = "",
) -> HTMLResponse:
    filters, problems = _filters(record_type, record_id, tree, user, since, until, limit, before)
    return audit_page(request, viewer, filters, problems)


def _exported(
    viewer: Viewer, record_type: str, record_id: str, tree: str, user: str, since: str, until: str
) -> list[AuditEvent]:
    filters, problems = _filters(record_type, record_id, tree, user, since, until, "", "")
    if problems:
        raise InputError("; ".join(problems))
    return audit.search(viewer.unit_of_work(), filters.search(export=True))


DOWNLOAD_HEADERS = {"Cache-Control": "no-store"}


def _download(body: str | bytes, media_type: str, filename: str) -> Response:
    """An export as an attachment that no cache keeps."""
    headers = {**DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/audit/export.csv")
def export_csv(
    viewer: AuditViewer,
    record_type: str = "",
    record_id: str = "",
    tree: str = "",
    user: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The search's events, oldest first (at most :data:`audit.MAX_SEARCH_RESULTS`), as CSV."""
    events = _exported(viewer, record_type, record_id, tree, user, since, until)
    return _download(audit.export_csv(events), "text/csv; charset=utf-8", "audit-trail.csv")


@router.get("/audit/export.json")
def export_json(
    viewer: AuditViewer,
    record_type: str = "",
    record_id: str = "",
    tree: str = "",
    user: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The search's events, oldest first (at most :data:`audit.MAX_SEARCH_RESULTS`), as JSON."""
    events = _exported(viewer, record_type, record_id, tree, user, since, until)
    return _download(audit.export_json(events), "application/json", "audit-trail.json")


@router.post("/audit/verification", response_class=HTMLResponse)
def verify_chain(request: Request, viewer: AuditFormViewer) -> HTMLResponse:
    """Check the whole chain and show the verdict above the newest events."""
    verdict = audit.verify(viewer.unit_of_work())
    return audit_page(request, viewer, AuditFilters(), [], verdict)
