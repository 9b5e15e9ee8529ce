"""The batch record of one lot as a :class:`~opencdmo.services.record_views.BatchRecordView`, read from storage.

:func:`build` fills every field of the view: the master batch record with its approval signatures, every entry
(originals and corrections) with its verification signature, deviations with CAPA and closure signature, QC
results (voided ones too, and tests still without a result) with their verification signature, the batch's own
signatures (audit-trail review, release or rejection), the batch's audit trail and whether the WHOLE audit chain
verifies. Each signature's ``intact`` is computed against the hash of the signed record's current content, so a
record changed after signing (even by a direct database write) shows its signature BROKEN (P11-14, P11-15).

A batch executed without an electronic batch record (imported as released, say) exports what it has (deviations,
QC, signatures, audit trail) and names no master record (:data:`NO_BATCH_RECORD`).

Who may read it (:func:`gmp_access.visible_batch`): CDMO staff any batch; a sponsor its own batches, once released.
A sponsor's export shows the batch's own trail (the repository refuses any other sponsor's) and whether the whole
chain verifies, which the audit repository answers as a yes or no without handing the sponsor any other event.

:func:`signed_content` is what a release or rejection signs: the export's content without what the disposition
itself changes (status, the batch's own signatures, the audit trail, when and by whom the export was made) and
without the ``intact`` flags (they follow from the content), so that the signature stays bound exactly as long as
the record it was given over is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from opencdmo import domain
from opencdmo.domain.audit import AuditEvent
from opencdmo.domain.master_records import format_number
from opencdmo.domain.signatures import Meaning, Signature, content_hash
from opencdmo.services import audit, batch_records, deviations, master_records, qc
from opencdmo.services.gmp_access import visible_batch
from opencdmo.services.record_views import (
    AuditLine,
    BatchRecordView,
    CapaLine,
    DeviationLine,
    EntryLine,
    QcLine,
    SignatureLine,
)
from opencdmo.services.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]

REVIEW_RECORD_TYPE = "batch-audit-trail"
"""The record type of a batch's audit-trail review signature (record id: the lot number)."""
DISPOSITION_RECORD_TYPE = "batch-disposition"
"""The record type of a batch's release or rejection signature and status change (record id: the lot number)."""
DISPOSITION_RECORD_TYPES = frozenset({REVIEW_RECORD_TYPE, DISPOSITION_RECORD_TYPE})
"""Events of these record types are the disposition's own: they are left out of the trail a review signs."""
VOLATILE_FIELDS = frozenset(
    {"status", "signatures", "audit_trail", "audit_chain_intact", "generated_at", "generated_by"}
)
"""Fields of the view a release or rejection does not sign (see :func:`signed_content`)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


# Reading the record -----------------------------------------------------------------------------------------------


def _line(signature: Signature, current_hash: str | None) -> SignatureLine:
    return SignatureLine(
        printed_name=signature.printed_name,
        username=signature.username,
        meaning=signature.meaning.value,
        signed_at=signature.signed_at,
        comment=signature.comment,
        intact=current_hash is not None and signature.is_intact(current_hash),
    )


def _signed_by(found: Sequence[Signature], username: str | None, at: datetime | None) -> Signature | None:
    """The verification among ``found`` given by ``username`` (at ``at`` when several): the one the record names."""
    theirs = [signature for signature in found if signature.username == username]
    for signature in theirs:
        if at is not None and signature.signed_at == at:
            return signature
    return theirs[-1] if theirs else None


def _entries(uow: UnitOfWork, record: domain.BatchRecord) -> tuple[EntryLine, ...]:
    lot = record.lot_number
    ids = {id(entry): batch_records.entry_record_id(lot, entry) for entry in record.entries}
    signed = uow.signatures.of_many(batch_records.ENTRY_RECORD_TYPE, ids.values()) if record.entries else {}
    index = {id(entry): position for position, entry in enumerate(record.entries)}
    lines = []
    for entry in record.entries:
        step = record.master.step(entry.step)
        parameter = step.parameter(entry.parameter)
        record_id = ids[id(entry)]
        verification = None
        if entry.verified_by is not None:
            signature = _signed_by(signed.get(record_id, []), entry.verified_by, entry.verified_at)
            if signature is not None:
                verification = _line(signature, batch_records.entry_hash(lot, entry))
        lines.append(
            EntryLine(
                step_position=entry.step,
                step_title=step.title,
                parameter=entry.parameter,
                unit=parameter.unit,
                value=entry.value,
                spec=parameter.spec,
                in_spec=entry.in_spec,
                recorded_by=entry.recorded_by,
                recorded_at=entry.recorded_at,
                critical=parameter.critical,
                corrects=None if entry.corrects is None else index.get(id(entry.corrects)),
                reason=entry.reason,
                superseded=entry.superseded,
                verification=verification,
            )
        )
    return tuple(lines)


def _deviations(uow: UnitOfWork, lot: str) -> tuple[DeviationLine, ...]:
    found = sorted(uow.deviations.list(lot_number=lot), key=lambda deviation: (deviation.opened_at, deviation.number))
    signed = uow.signatures.of_many(deviations.RECORD_TYPE, [deviation.record_id for deviation in found])
    lines = []
    for deviation in found:
        closure = None
        closing = [s for s in signed.get(deviation.record_id, []) if s.meaning is Meaning.APPROVED]
        if closing:
            current = content_hash(deviations.RECORD_TYPE, deviation.record_id, deviation.content())
            closure = _line(closing[-1], current)
        lines.append(
            DeviationLine(
                number=deviation.number,
                severity=deviation.severity.value,
                status=deviation.status.value,
                title=deviation.title,
                description=deviation.description,
                source=deviation.source,
                opened_by=deviation.opened_by,
                opened_at=deviation.opened_at,
                investigation=deviation.investigation,
                root_cause=deviation.root_cause,
                capa=tuple(
                    CapaLine(
                        description=action.description,
                        owner=action.owner,
                        due_date=action.due_date,
                        status=action.status.value,
                        effectiveness=action.effectiveness,
                    )
                    for action in deviation.capa
                ),
                closure=closure,
            )
        )
    return tuple(lines)


def _qc(uow: UnitOfWork, batch: domain.Batch) -> tuple[QcLine, ...]:
    results = uow.qc.results(batch.lot_number)
    signed = uow.signatures.of_many(qc.RESULT, [result.record_id for result in results]) if results else {}
    lines = []
    for result in results:
        verification = None
        if result.verified_by is not None:
            signature = _signed_by(signed.get(result.record_id, []), result.verified_by, result.verified_at)
            if signature is not None:
                verification = _line(signature, content_hash(qc.RESULT, result.record_id, result.content()))
        lines.append(
            QcLine(
                test=result.test,
                method=result.method,
                value=format_number(result.value),
                unit=result.unit,
                spec=result.spec,
                passed=result.passed,
                instrument=result.instrument.code,
                analyst=result.analyst,
                recorded_at=result.recorded_at,
                verification=verification,
                voided_reason=result.voided_reason,
            )
        )
    specification = uow.qc.specification(batch.order.program.process.name)
    answered = {result.test for result in results if not result.is_void}
    for test in specification.tests if specification is not None else []:
        if test.name not in answered:
            lines.append(
                QcLine(
                    test=test.name,
                    method=test.method,
                    value=None,
                    unit=test.unit,
                    spec=test.spec,
                    passed=None,
                    instrument=None,
                    analyst=None,
                    recorded_at=None,
                    verification=None,
                    voided_reason=None,
                )
            )
    return tuple(lines)


def _audit_line(event: AuditEvent) -> AuditLine:
    return AuditLine(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        username=event.username,
        action=event.action,
        record_type=event.record_type,
        record_id=event.record_id,
        field=event.field,
        old_value=event.old_value,
        new_value=event.new_value,
        reason=event.reason,
    )


# The trail a review signs -------------------------------------------------------------------------------------------


def reviewed_events(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The batch's events a review of its audit trail covers: every event but the disposition's own (record types
    :data:`DISPOSITION_RECORD_TYPES`: the review, its signature, the release or rejection and its signature).

    This is the rule that keeps a review from going stale by itself: the review's own event (record id
    ``LOT/audit-review``) and its signature's event are written after the reviewed content is computed, and are
    left out when it is computed again; so is the release that follows it. Any other event on the batch after the
    review (a correction, a QC result, a deviation) changes the content and makes the review stale."""
    return [event for event in events if event.record_type not in DISPOSITION_RECORD_TYPES]


def review_content(lot: str, events: Sequence[AuditEvent]) -> dict[str, Any]:
    """What a review of the batch's audit trail signs: how many events it covers, and the last one's number and hash
    (``events`` are the batch's whole trail, oldest first; :func:`reviewed_events` picks the reviewed ones)."""
    covered = reviewed_events(events)
    last = covered[-1] if covered else None
    return {
        "lot": lot,
        "events": len(covered),
        "last_sequence": 0 if last is None else last.sequence,
        "last_hash": None if last is None else last.hash,
    }


def review_hash(lot: str, events: Sequence[AuditEvent]) -> str:
    return content_hash(REVIEW_RECORD_TYPE, lot, review_content(lot, events))


# What a disposition signs -------------------------------------------------------------------------------------------


def _plain(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value) if item.name != "intact"}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def signed_content(view: BatchRecordView) -> dict[str, Any]:
    """The content a release or rejection signs: the export's content (as its JSON has it) less
    :data:`VOLATILE_FIELDS`, the ``intact`` flags and the QC tests still without a result (they come from the
    process's current specification, not from the batch)."""
    content = {item.name: _plain(getattr(view, item.name)) for item in fields(view) if item.name not in VOLATILE_FIELDS}
    content["qc"] = [_plain(line) for line in view.qc if line.value is not None]
    return content


def record_hash(lot: str, content: dict[str, Any]) -> str:
    return content_hash(DISPOSITION_RECORD_TYPE, lot, content)


# Building -------------------------------------------------------------------------------------------------------


NO_BATCH_RECORD = "none: the batch has no electronic batch record"
"""What the export names as the master record of a batch executed without one (e.g. imported as released)."""


def _unsigned(
    uow: UnitOfWork,
    batch: domain.Batch,
    record: domain.BatchRecord | None,
    events: Sequence[AuditEvent],
    *,
    viewer: str,
    now: Clock,
    check_chain: bool,
) -> BatchRecordView:
    """The view without the batch's own signatures (they are checked against what it holds)."""
    approval: tuple[SignatureLine, ...] = ()
    if record is not None:
        master = record.master
        master_hash = content_hash(master_records.RECORD_TYPE, master.record_id, master.content())
        signed = uow.signatures.of(master_records.RECORD_TYPE, master.record_id)
        approval = tuple(_line(signature, master_hash) for signature in signed)
    return BatchRecordView(
        lot_number=batch.lot_number,
        sponsor=batch.sponsor.name,
        order_number=batch.order.number,
        process=batch.order.program.process.name,
        product_family=batch.order.program.product_family.name,
        master_record=NO_BATCH_RECORD if record is None else record.master.label,
        master_approval=approval,
        status=batch.status.value,
        started_at=None if record is None else record.started_at,
        completed_at=None if record is None else record.completed_at,
        entries=() if record is None else _entries(uow, record),
        deviations=_deviations(uow, batch.lot_number),
        qc=_qc(uow, batch),
        signatures=(),
        audit_trail=tuple(_audit_line(event) for event in events),
        audit_chain_intact=uow.audit.chain_intact() if check_chain else False,
        generated_at=now(),
        generated_by=viewer,
    )


def _disposition_content(view: BatchRecordView, has_record: bool) -> dict[str, Any]:
    if not has_record:
        return {"lot_number": view.lot_number, "batch_record": None}
    return signed_content(view)


def disposition_content(uow: UnitOfWork, lot: str) -> dict[str, Any]:
    """What a release or rejection of ``lot`` signs now, inside an open unit of work: :func:`signed_content` of its
    batch record, or only the lot number for a batch without one (a rejection may come before any record)."""
    batch = visible_batch(uow, lot)
    record = uow.batch_records.get(batch.lot_number)
    view = _unsigned(uow, batch, record, (), viewer=audit.SYSTEM, now=utcnow, check_chain=False)
    return _disposition_content(view, record is not None)


def view_in(uow: UnitOfWork, lot: str, *, viewer: str, now: Clock = utcnow) -> BatchRecordView:
    """:func:`build` inside the caller's open unit of work."""
    batch = visible_batch(uow, lot)
    record = uow.batch_records.get(batch.lot_number)
    events = audit.batch_events(uow, batch.lot_number)
    unsigned = _unsigned(uow, batch, record, events, viewer=viewer, now=now, check_chain=True)
    reviewed = review_hash(batch.lot_number, events)
    disposed = record_hash(batch.lot_number, _disposition_content(unsigned, record is not None))
    own = [_line(signature, reviewed) for signature in uow.signatures.of(REVIEW_RECORD_TYPE, batch.lot_number)]
    own += [_line(signature, disposed) for signature in uow.signatures.of(DISPOSITION_RECORD_TYPE, batch.lot_number)]
    own.sort(key=lambda line: line.signed_at)
    return replace(unsigned, signatures=tuple(own))


def build(uow: UnitOfWork, lot: str, *, viewer: str, now: Clock = utcnow) -> BatchRecordView:
    """The complete batch record of ``lot`` for ``viewer`` (the username named as who generated it): everything
    recorded on the batch; a batch executed without an electronic batch record (imported as released, say) has
    no master record, no entries, and says so (:data:`NO_BATCH_RECORD`)."""
    with uow:
        return view_in(uow, lot, viewer=viewer, now=now)
