"""The tamper-evident audit trail: events, their canonical form, and the hash chain that links them.

Each event's ``hash`` is the SHA-256 of its canonical content, which includes its sequence number and the
``previous_hash`` of the event before it; the first event's previous hash is :data:`GENESIS`. Changing, removing,
inserting or reordering stored events therefore breaks the chain at the first event touched, and
:func:`verify_chain` names that event and what is wrong with it.

A chain proves its own consistency only: whoever can rewrite every event from some point on, hashes included,
can forge a consistent tail. Keeping the head hash (see :attr:`ChainVerdict.head_hash`) somewhere else, e.g. in
a signed report, closes that gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

GENESIS = "0" * 64
"""The previous hash of the first event."""

MAX_NAME_LENGTH = 80
MAX_RECORD_ID_LENGTH = 200


class AuditAction(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    VOID = "void"
    DELETE = "delete"
    SIGN_IN = "sign-in"
    ISSUE_TOKEN = "issue-token"  # noqa: S105 (an action's name, not a secret)
    REVOKE_TOKEN = "revoke-token"  # noqa: S105 (an action's name, not a secret)
    DEACTIVATE = "deactivate"
    RESET_PASSWORD = "reset-password"  # noqa: S105 (an action's name, not a secret)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the trail. Values are text, JSON-encoded (see :func:`encode_value`); None when not applicable."""

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

    def canonical(self) -> bytes:
        return canonical_content(
            sequence=self.sequence,
            occurred_at=self.occurred_at,
            username=self.username,
            action=self.action,
            record_type=self.record_type,
            record_id=self.record_id,
            field=self.field,
            old_value=self.old_value,
            new_value=self.new_value,
            reason=self.reason,
            previous_hash=self.previous_hash,
        )

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


# One encoder for every event: json.dumps with options would build a new one per call.
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("an audit event's time must carry a time zone")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" written as "Z"


def canonical_content(
    *,
    sequence: int,
    occurred_at: datetime,
    username: str,
    action: str,
    record_type: str,
    record_id: str,
    field: str | None,
    old_value: str | None,
    new_value: str | None,
    reason: str | None,
    previous_hash: str,
) -> bytes:
    """The bytes an event's hash is taken over: a compact JSON array of its fields in a fixed order, UTF-8.

    The time is written in UTC with microseconds, so the same instant always gives the same bytes.
    """
    content = [
        sequence,
        _utc_text(occurred_at),
        username,
        action,
        record_type,
        record_id,
        field,
        old_value,
        new_value,
        reason,
        previous_hash,
    ]
    return _CANONICAL_JSON.encode(content).encode("utf-8")


def seal(
    *,
    sequence: int,
    previous_hash: str,
    occurred_at: datetime,
    username: str,
    action: str,
    record_type: str,
    record_id: str,
    field: str | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """A new event chained after the event whose hash is ``previous_hash``, with its own hash computed."""
    if sequence < 1:
        raise ValueError(f"audit sequence numbers start at 1, not {sequence}")
    for name, value, limit in (
        ("username", username, MAX_NAME_LENGTH),
        ("action", action, MAX_NAME_LENGTH),
        ("record type", record_type, MAX_NAME_LENGTH),
        ("record id", record_id, MAX_RECORD_ID_LENGTH),
    ):
        if not value or len(value) > limit:
            raise ValueError(f"an audit event's {name} must be 1 to {limit} characters, not {value!r}")
    if occurred_at.tzinfo is None:
        raise ValueError("an audit event's time must carry a time zone")
    occurred_at = occurred_at.astimezone(UTC)
    content = canonical_content(
        sequence=sequence,
        occurred_at=occurred_at,
        username=username,
        action=action,
        record_type=record_type,
        record_id=record_id,
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        previous_hash=previous_hash,
    )
    return AuditEvent(
        sequence=sequence,
        occurred_at=occurred_at,
        username=username,
        action=action,
        record_type=record_type,
        record_id=record_id,
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        previous_hash=previous_hash,
        hash=hashlib.sha256(content).hexdigest(),
    )


class BreakKind(StrEnum):
    CHANGED = "changed"
    """The event's content no longer matches its hash."""
    MISSING = "missing"
    """Sequence numbers jump: events before this one are gone."""
    REORDERED = "reordered"
    """The event comes after one with the same or a higher sequence number."""
    UNLINKED = "unlinked"
    """The event's previous hash is not the hash of the event before it (one was replaced, inserted or removed)."""


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    kind: BreakKind
    detail: str

    def __str__(self) -> str:
        return f"event {self.sequence}: {self.detail}"


@dataclass(frozen=True)
class ChainVerdict:
    """What :func:`verify_chain` found: how many events it checked before stopping, and the first break."""

    checked: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(events: Iterable[AuditEvent]) -> ChainVerdict:
    """Check events given in stored order (ascending sequence, from 1); stop at the first break.

    Reads ``events`` once, holding two events at a time (one to tell a moved event from a gap), so a chain of
    any length can be streamed through it.
    """
    expected_sequence = 1
    previous_hash = GENESIS
    checked = 0
    stream = iter(events)
    upcoming = next(stream, None)
    while upcoming is not None:
        event, upcoming = upcoming, next(stream, None)
        found: ChainBreak | None = None
        if event.sequence < expected_sequence:
            found = ChainBreak(
                event.sequence,
                BreakKind.REORDERED,
                f"out of order: it comes after event {expected_sequence - 1}",
            )
        elif event.sequence > expected_sequence and upcoming is not None and upcoming.sequence < event.sequence:
            found = ChainBreak(
                event.sequence,
                BreakKind.REORDERED,
                f"out of order: it comes before event {upcoming.sequence} (event {expected_sequence} was expected)",
            )
        elif event.sequence > expected_sequence:
            gap = (
                f"event {expected_sequence} is"
                if event.sequence == expected_sequence + 1
                else f"events {expected_sequence} to {event.sequence - 1} are"
            )
            found = ChainBreak(event.sequence, BreakKind.MISSING, f"{gap} missing before it")
        elif event.computed_hash() != event.hash:
            found = ChainBreak(event.sequence, BreakKind.CHANGED, "its content was changed after it was recorded")
        elif event.previous_hash != previous_hash:
            found = ChainBreak(
                event.sequence,
                BreakKind.UNLINKED,
                f"its previous hash does not match event {event.sequence - 1}'s hash "
                "(an event before it was replaced, inserted or removed)"
                if event.sequence > 1
                else "the first event does not start the chain",
            )
        if found is not None:
            return ChainVerdict(checked=checked, head_hash=previous_hash, first_break=found)
        checked += 1
        expected_sequence += 1
        previous_hash = event.hash
    return ChainVerdict(checked=checked, head_hash=previous_hash, first_break=None)
