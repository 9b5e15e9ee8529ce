"""The audit chain: canonical content, hashes, and verification naming the first broken event."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from opencdmo.domain.audit import GENESIS, AuditEvent, BreakKind, canonical_content, seal, verify_chain

START = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)


def chain(length: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    previous = GENESIS
    for sequence in range(1, length + 1):
        event = seal(
            sequence=sequence,
            previous_hash=previous,
            occurred_at=START + timedelta(seconds=sequence),
            username="qa.lead",
            action="change",
            record_type="order",
            record_id="HLX-0001",
            field="due_date",
            old_value=f'"2027-01-{sequence:02d}"',
            new_value=f'"2027-02-{sequence:02d}"',
            reason=None if sequence % 2 else "customer request",
        )
        events.append(event)
        previous = event.hash
    return events


def test_canonical_content_is_fixed_compact_json_in_utc_with_microseconds() -> None:
    content = canonical_content(
        sequence=7,
        occurred_at=datetime(2026, 11, 26, 10, 30, 15, 5, tzinfo=timezone(timedelta(hours=1))),
        username="jdoe",
        action="change",
        record_type="site",
        record_id="Basel",
        field="region",
        old_value='"EU"',
        new_value='"Zürich"',
        reason=None,
        previous_hash=GENESIS,
    )
    assert (
        content
        == (
            '[7,"2026-11-26T09:30:15.000005Z","jdoe","change","site","Basel","region","\\"EU\\"","\\"Zürich\\"",null,'
            f'"{GENESIS}"]'
        ).encode()
    )


def test_the_hash_is_sha256_of_the_canonical_content_including_the_previous_hash() -> None:
    first, second = chain(2)
    assert first.hash == hashlib.sha256(first.canonical()).hexdigest()
    assert second.previous_hash == first.hash
    relinked = dataclasses.replace(second, previous_hash=GENESIS)
    assert relinked.computed_hash() != second.hash


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    (event,) = chain(1)
    elsewhere = dataclasses.replace(event, occurred_at=event.occurred_at.astimezone(timezone(timedelta(hours=-5))))
    assert elsewhere.computed_hash() == event.hash


def test_seal_refuses_a_naive_time_and_empty_names() -> None:
    with pytest.raises(ValueError, match="time zone"):
        seal(sequence=1, previous_hash=GENESIS, occurred_at=datetime(2026, 1, 1), username="a", action="b",
             record_type="c", record_id="d")  # fmt: skip
    with pytest.raises(ValueError, match="username"):
        seal(sequence=1, previous_hash=GENESIS, occurred_at=START, username="", action="b", record_type="c",
             record_id="d")  # fmt: skip
    with pytest.raises(ValueError, match="start at 1"):
        seal(sequence=0, previous_hash=GENESIS, occurred_at=START, username="a", action="b", record_type="c",
             record_id="d")  # fmt: skip


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    events = chain(5)
    verdict = verify_chain(events)
    assert verdict.intact
    assert verdict.checked == 5
    assert verdict.head_hash == events[-1].hash


def test_an_empty_chain_is_intact() -> None:
    verdict = verify_chain([])
    assert verdict.intact
    assert verdict.checked == 0
    assert verdict.head_hash == GENESIS


@pytest.mark.parametrize("field", ["new_value", "username", "reason", "record_id", "occurred_at"])
def test_a_changed_field_is_named_at_its_event(field: str) -> None:
    events = chain(6)
    original = getattr(events[3], field)
    forged = original + timedelta(seconds=1) if field == "occurred_at" else f"{original}x"
    events[3] = dataclasses.replace(events[3], **{field: forged})
    verdict = verify_chain(events)
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.CHANGED)
    assert verdict.checked == 3


def test_a_changed_event_with_a_recomputed_hash_breaks_the_link_of_the_next() -> None:
    events = chain(6)
    forged = dataclasses.replace(events[2], new_value='"2099-01-01"')
    events[2] = dataclasses.replace(forged, hash=forged.computed_hash())
    verdict = verify_chain(events)
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.UNLINKED)
    assert "event 3" in str(verdict.first_break)


def test_a_deleted_event_is_named_as_missing() -> None:
    events = chain(6)
    del events[2]
    verdict = verify_chain(events)
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.MISSING)
    assert "event 3 is missing" in str(verdict.first_break)


def test_deleted_first_events_are_missing_too() -> None:
    verdict = verify_chain(chain(6)[2:])
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (3, BreakKind.MISSING)
    assert "events 1 to 2 are missing" in str(verdict.first_break)


@pytest.mark.parametrize(("first", "second"), [(1, 4), (3, 4), (0, 5)])
def test_swapped_events_are_named_as_reordered(first: int, second: int) -> None:
    events = chain(6)
    events[first], events[second] = events[second], events[first]
    verdict = verify_chain(events)
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (second + 1, BreakKind.REORDERED)
    assert verdict.checked == first


def test_a_gap_after_which_the_order_goes_on_is_missing_not_reordered() -> None:
    events = chain(6)
    verdict = verify_chain([*events[:2], *events[3:]])
    assert verdict.first_break is not None
    assert verdict.first_break.kind is BreakKind.MISSING


def test_an_event_given_again_after_a_later_one_is_reordered() -> None:
    events = chain(4)
    verdict = verify_chain([*events, events[1]])
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (2, BreakKind.REORDERED)
    assert verdict.checked == 4


def test_swapped_contents_under_kept_sequence_numbers_are_changed_events() -> None:
    """What a DBA swapping two rows' content (all but the key) leaves behind."""
    events = chain(6)
    second, fifth = events[1], events[4]
    events[1] = dataclasses.replace(fifth, sequence=2)
    events[4] = dataclasses.replace(second, sequence=5)
    verdict = verify_chain(events)
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (2, BreakKind.CHANGED)


def test_an_inserted_event_is_named() -> None:
    events = chain(5)
    intruder = seal(
        sequence=3,
        previous_hash=events[1].hash,
        occurred_at=START,
        username="mallory",
        action="change",
        record_type="order",
        record_id="HLX-0001",
    )
    # Inserted with its own number: the stored event 3 then comes again.
    verdict = verify_chain([*events[:2], intruder, *events[2:]])
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (3, BreakKind.REORDERED)
    # Inserted with the events after it renumbered: the renumbered event's content no longer matches its hash.
    renumbered = [dataclasses.replace(event, sequence=event.sequence + 1) for event in events[2:]]
    verdict = verify_chain([*events[:2], intruder, *renumbered])
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.CHANGED)


def test_a_first_event_not_starting_from_genesis_is_unlinked() -> None:
    (event,) = chain(1)
    forged = dataclasses.replace(event, previous_hash="f" * 64)
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    verdict = verify_chain([forged])
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (1, BreakKind.UNLINKED)


def test_verification_reads_the_events_once_as_a_stream() -> None:
    events = chain(50)
    verdict = verify_chain(event for event in events)
    assert verdict.intact
    assert verdict.checked == 50
