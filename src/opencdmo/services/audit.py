"""Use cases on the audit trail: record events inside a use case's transaction, verify the chain, search it.

:func:`record` and :func:`record_changes` are called by other use cases inside their open unit of work, before
they commit: the events are stored in the same transaction as the change, so a change that fails (or is rolled
back) leaves no event, and a committed change always has its events. They never commit themselves.

Values are stored as JSON text (see :func:`encode_value`) so that a number, a date and a list read back
unambiguously; passwords and tokens are never given to them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from opencdmo.domain.audit import AuditAction, AuditEvent, ChainVerdict, seal, verify_chain
from opencdmo.errors import Forbidden, InputError
from opencdmo.services.gmp_access import visible_batch
from opencdmo.services.unit_of_work import UnitOfWork

SYSTEM = "system"
"""The actor of changes made from the command line or by the application itself."""

DEFAULT_BATCH_SIZE = 10_000
MAX_SEARCH_RESULTS = 10_000

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _plain(value: Any) -> Any:
    """``value`` as something :func:`json.dumps` writes, for the types the domain's records hold."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(item) for item in value), key=str)
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name  # a record refers to another by its name (a sponsor, a program, a process)
    raise TypeError(f"cannot write a {type(value).__name__} in the audit trail")


def encode_value(value: Any) -> str | None:
    """A value as JSON text (None stays None: no value); sets as sorted lists, records by name."""
    if value is None:
        return None
    return json.dumps(value, default=_plain, ensure_ascii=False, sort_keys=True)


def record(
    uow: UnitOfWork,
    *,
    actor: str,
    action: AuditAction | str,
    record_type: str,
    record_id: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    now: Clock = utcnow,
) -> AuditEvent:
    """Append one event in the open unit of work's transaction (the caller commits)."""
    sequence, previous_hash = uow.audit.tail()
    event = seal(
        sequence=sequence + 1,
        previous_hash=previous_hash,
        occurred_at=now(),
        username=actor,
        action=str(action),
        record_type=record_type,
        record_id=record_id,
        field=field,
        old_value=encode_value(old),
        new_value=encode_value(new),
        reason=reason,
    )
    uow.audit.append(event)
    return event


def record_changes(
    uow: UnitOfWork,
    *,
    actor: str,
    record_type: str,
    record_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None = None,
    now: Clock = utcnow,
) -> list[AuditEvent]:
    """One ``change`` event per field of ``after`` whose value differs from ``before``, in ``after``'s order."""
    events = []
    for field, new in after.items():
        old = before.get(field)
        if encode_value(old) != encode_value(new):
            events.append(
                record(
                    uow,
                    actor=actor,
                    action=AuditAction.CHANGE,
                    record_type=record_type,
                    record_id=record_id,
                    field=field,
                    old=old,
                    new=new,
                    reason=reason,
                    now=now,
                )
            )
    return events


def snapshot(item: object, fields: Collection[str]) -> dict[str, Any]:
    """The named attributes of a record, for :func:`record_changes` or a ``create`` event's new value."""
    return {field: getattr(item, field) for field in fields}


def verify(uow: UnitOfWork, *, batch_size: int = DEFAULT_BATCH_SIZE) -> ChainVerdict:
    """Check the whole stored chain, streaming it ``batch_size`` events at a time; CDMO staff only."""
    if batch_size < 1:
        raise InputError(f"the batch size must be at least 1, not {batch_size}")
    with uow:
        _require_staff(uow)
        return verify_chain(uow.audit.events(batch_size=batch_size))


@dataclass(frozen=True)
class AuditQuery:
    """Every filter optional; ``since`` inclusive, ``until`` exclusive (aware datetimes)."""

    record_type: str | None = None
    record_id: str | None = None
    username: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    record_tree: bool = False
    """With ``record_id``: that record and every record under it (ids ``record_id/...``, e.g. a batch's)."""
    newest_first: bool = False
    before: int | None = None
    """Only events with a lower sequence number: the next page of a newest-first list."""


def search(uow: UnitOfWork, query: AuditQuery) -> list[AuditEvent]:
    """Events matching the query, oldest first (or newest first); CDMO staff only."""
    if not 1 <= query.limit <= MAX_SEARCH_RESULTS:
        raise InputError(f"the limit must be 1 to {MAX_SEARCH_RESULTS}, not {query.limit}")
    if query.before is not None and query.before < 1:
        raise InputError(f"before must be a sequence number from 1, not {query.before}")
    for name, moment in (("since", query.since), ("until", query.until)):
        if moment is not None and moment.tzinfo is None:
            raise InputError(f"{name} must carry a time zone (e.g. 2026-11-26T12:00:00Z)")
    if query.since is not None and query.until is not None and query.until <= query.since:
        raise InputError("until must be after since")
    with uow:
        _require_staff(uow)
        return uow.audit.search(
            record_type=query.record_type,
            record_id=query.record_id,
            username=query.username,
            since=query.since,
            until=query.until,
            limit=query.limit,
            record_tree=query.record_tree,
            newest_first=query.newest_first,
            before=query.before,
        )


def _require_staff(uow: UnitOfWork) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden("only CDMO staff may read the audit trail")


# One batch's trail ------------------------------------------------------------------------------------------------


def batch_events(uow: UnitOfWork, lot_number: str) -> list[AuditEvent]:
    """The audit trail of one batch, oldest first, inside the caller's open unit of work: the events on the batch
    (record id = lot number) and on every record under it (ids ``LOT/...``: its batch record and entries,
    deviations, QC results, disposition). The caller has found the batch through ``gmp_access.visible_batch``; a
    sponsor's scope reads the trail of its own batches only (the repository checks it again)."""
    return uow.audit.of_batch(lot_number)


def for_batch(uow: UnitOfWork, lot_number: str) -> list[AuditEvent]:
    """The audit trail of one batch the caller may see (staff: any; its sponsor: once released), oldest first."""
    with uow:
        visible_batch(uow, lot_number)
        return batch_events(uow, lot_number)


# Export ---------------------------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "sequence",
    "occurred_at",
    "username",
    "action",
    "record_type",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "previous_hash",
    "hash",
)
"""The columns of an export, in order: every field of an event, so an export can be checked against the chain."""
EXPORT_SCHEMA = "opencdmo.audit-trail/1"
"""Names the layout of the JSON export."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_rows(events: Iterable[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Each event as a plain dict of :data:`EXPORT_COLUMNS` (the time as ISO 8601 UTC)."""
    for event in events:
        row = {column: getattr(event, column) for column in EXPORT_COLUMNS}
        row["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
        yield row


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV injection), except
    a plain negative number, which reads as one either way."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return f"'{text}"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_csv(events: Iterable[AuditEvent]) -> str:
    """Events as CSV text (RFC 4180, a header row of :data:`EXPORT_COLUMNS`); empty fields for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in export_rows(events):
        writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])
    return buffer.getvalue()


def export_json(events: Iterable[AuditEvent]) -> str:
    """Events as a JSON document ``{"schema", "events": [...]}``, each event with every column, in the given order."""
    document = {"schema": EXPORT_SCHEMA, "events": list(export_rows(events))}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
