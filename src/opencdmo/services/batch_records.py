"""Use cases on executed batch records: start one on the approved master record, record values step by step,
correct them with a reason, verify them by a second person's electronic signature, complete the record, and
read it as a page or the API shows it.

The rules of execution are the domain's (:mod:`opencdmo.domain.batch_records`: steps in order, a value recorded
once, corrections keep the original, the recorder never verifies). This module adds what needs the database:

- a batch record starts only on the process's approved master record version, and moves the batch to
  in-progress (from planned or scheduled; a batch already in progress without a record may start one);
- whoever records, corrects or verifies a value is currently trained on the master's procedure code
  (P11-09), and a verifier holds EXECUTE_BATCHES or REVIEW_QUALITY;
- an out-of-specification value opens a deviation in the same transaction (major for a critical parameter,
  minor otherwise) and the result names it;
- completing the record moves the batch to completed and on to in-qc.

Every write is audited in the same transaction. Record ids: the batch record is its lot number (record type
:data:`RECORD_TYPE`), a value ``LOT/step-N/PARAMETER`` (record type :data:`ENTRY_RECORD_TYPE`), the batch's
status changes ``LOT`` (record type ``batch``). A verification's signature names the one entry it verifies:
:func:`entry_record_id` (``LOT/step-N/PARAMETER#ID``), over :meth:`StepEntry.content`.

Reads go through :func:`gmp_access.visible_batch`: staff see every batch's record, a sponsor only those of its
own released batches; anything else answers NotFound, like a missing record.

:func:`record` is the hot path of the shop floor: one transaction loads the record with its entries and master,
checks the training, appends the entry and one audit event, and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.batch_records import BatchRecord, BatchRecordStatus, StepEntry
from opencdmo.domain.master_records import Parameter, ParameterKind
from opencdmo.domain.signatures import Meaning, content_hash
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound
from opencdmo.services import audit, deviations, gmp_access, signatures, training
from opencdmo.services._names import can_name_a_record
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

RECORD_TYPE = "batch-record"
ENTRY_RECORD_TYPE = "step-entry"
BATCH_RECORD_TYPE = "batch"
NOT_STARTED = "not-started"
"""The status of a batch without a batch record, as the read model shows it."""
VERIFIERS = (domain.Action.EXECUTE_BATCHES, domain.Action.REVIEW_QUALITY)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _require_staff(uow: UnitOfWork, action: str) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden(f"only CDMO staff may {action}")


def value_id(lot_number: str, step: int, parameter: str) -> str:
    """The audit trail's record id of one recorded value (originals and corrections alike)."""
    return f"{lot_number}/step-{step}/{parameter}"


def entry_record_id(lot_number: str, entry: StepEntry) -> str:
    """The record id a verification signature of ``entry`` is given under: one entry, one id."""
    return f"{value_id(lot_number, entry.step, entry.parameter)}#{entry.id}"


def entry_hash(lot_number: str, entry: StepEntry) -> str:
    """The hash a verification signature of ``entry`` must carry to be intact."""
    return content_hash(ENTRY_RECORD_TYPE, entry_record_id(lot_number, entry), entry.content(lot_number))


def _record_of(uow: UnitOfWork, lot_number: str) -> BatchRecord:
    """The batch record to write to (loaded lean: use it inside the unit of work), or NotFound."""
    record = uow.batch_records.to_execute(lot_number) if can_name_a_record(lot_number) else None
    if record is None:
        raise NotFound("batch record", lot_number)
    return record


def _entry(record: BatchRecord, entry_id: int) -> StepEntry:
    found = next((entry for entry in record.entries if entry.id == entry_id), None)
    if found is None:
        raise NotFound("value", f"{record.lot_number} #{entry_id}")
    return found


def _batch_status(uow: UnitOfWork, batch: domain.Batch, before: domain.BatchStatus, actor: str, at: datetime) -> None:
    audit.record(
        uow,
        actor=actor,
        action=AuditAction.CHANGE,
        record_type=BATCH_RECORD_TYPE,
        record_id=batch.lot_number,
        field="status",
        old=before.value,
        new=batch.status.value,
        now=lambda: at,
    )


# Writing -----------------------------------------------------------------------------------------------------


@retry_on_race
def start(uow: UnitOfWork, lot_number: str, *, actor: str, now: Clock = utcnow) -> BatchRecord:
    """Start the batch record of a batch on its process's approved master record; the batch goes in progress."""
    moment = now()
    with uow:
        _require_staff(uow, "execute batches")
        batch = uow.batches.get(lot_number) if can_name_a_record(lot_number) else None
        if batch is None:
            raise NotFound("batch", lot_number)
        if uow.batch_records.to_execute(batch.lot_number) is not None:
            raise Conflict(f"batch {batch.lot_number} already has a batch record")
        process = batch.order.program.process
        master = uow.master_records.approved(process.name)
        if master is None:
            raise DomainError(
                f"process {process.name!r} has no approved master batch record: "
                "the quality unit approves one before a batch can be executed",
                field="lot",
            )
        training.require_current(uow, actor, master.procedure, on=moment.date())
        if batch.status is not domain.BatchStatus.IN_PROGRESS:
            before = batch.status
            if batch.status is domain.BatchStatus.PLANNED:
                batch.schedule()
            batch.start()
            _batch_status(uow, batch, before, actor, moment)
        record = BatchRecord(batch=batch, master=master, started_by=actor, started_at=moment)
        uow.batch_records.add(record)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=RECORD_TYPE,
            record_id=batch.lot_number,
            field="master",
            new=master.record_id,
            now=lambda: moment,
        )
        uow.commit()
        return record


@dataclass(frozen=True)
class Recorded:
    """A value as recorded (or corrected), and the deviation it opened when out of specification."""

    entry: StepEntry
    deviation: str | None = None


def _deviation_for(
    uow: UnitOfWork, record: BatchRecord, entry: StepEntry, definition: Parameter, actor: str, at: datetime
) -> str | None:
    """Open the deviation an out-of-specification value calls for (inside the caller's transaction)."""
    if entry.in_spec is not False:
        return None
    shown = f"{entry.value} {definition.unit}" if definition.unit else entry.value
    opened = deviations.open_in(
        uow,
        severity=domain.Severity.MAJOR if definition.critical else domain.Severity.MINOR,
        title=f"{entry.parameter} out of specification at step {entry.step}",
        description=(
            f"{entry.parameter} recorded as {shown} at step {entry.step} of batch {record.lot_number}; "
            f"specification {definition.spec}."
            + (f" Correction of {entry.corrects.value}: {entry.reason}" if entry.corrects is not None else "")
        ),
        actor=actor,
        batch=record.batch,
        source=f"step {entry.step} / {entry.parameter}",
        now=lambda: at,
    )
    return opened.number


@retry_on_race
def record(
    uow: UnitOfWork, lot_number: str, step: int, parameter: str, value: str, *, actor: str, now: Clock = utcnow
) -> Recorded:
    """Record the value of a parameter of a step (the first time: changing it is :func:`correct`)."""
    moment = now()
    with uow:
        _require_staff(uow, "execute batches")
        batch_record = _record_of(uow, lot_number)
        training.require_current(uow, actor, batch_record.master.procedure, on=moment.date())
        entry = batch_record.record(step, parameter, value, by=actor, at=moment)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=ENTRY_RECORD_TYPE,
            record_id=value_id(batch_record.lot_number, entry.step, entry.parameter),
            field="value",
            new=entry.value,
            now=lambda: moment,
        )
        definition = batch_record.master.step(entry.step).parameter(entry.parameter)
        number = _deviation_for(uow, batch_record, entry, definition, actor, moment)
        uow.commit()
        return Recorded(entry, number)


@retry_on_race
def correct(
    uow: UnitOfWork,
    lot_number: str,
    entry_id: int,
    value: str,
    *,
    reason: str,
    actor: str,
    now: Clock = utcnow,
) -> Recorded:
    """Correct a recorded value with a reason: a new entry replaces it, the original stays, marked superseded."""
    moment = now()
    with uow:
        _require_staff(uow, "execute batches")
        batch_record = _record_of(uow, lot_number)
        original = _entry(batch_record, entry_id)
        if original.superseded:
            raise DomainError(
                f"this value of {original.parameter!r} was already corrected: correct the latest value",
                field="value",
            )
        training.require_current(uow, actor, batch_record.master.procedure, on=moment.date())
        entry = batch_record.correct(original.step, original.parameter, value, reason=reason, by=actor, at=moment)
        audit.record(
            uow,
            actor=actor,
            action="correct",
            record_type=ENTRY_RECORD_TYPE,
            record_id=value_id(batch_record.lot_number, entry.step, entry.parameter),
            field="value",
            old=original.value,
            new=entry.value,
            reason=entry.reason,
            now=lambda: moment,
        )
        definition = batch_record.master.step(entry.step).parameter(entry.parameter)
        number = _deviation_for(uow, batch_record, entry, definition, actor, moment)
        uow.commit()
        return Recorded(entry, number)


@retry_on_race
def verify(
    uow: UnitOfWork,
    lot_number: str,
    entry_id: int,
    *,
    signer: str,
    credentials: Credentials,
    comment: str | None = None,
    now: Clock = utcnow,
) -> StepEntry:
    """A second person verifies a value by electronic signature (meaning *verified*) over the entry's content."""
    signatures.authenticate(uow, signer, credentials, now=now)
    moment = now()
    with uow:
        _require_staff(uow, "verify batch records")
        user = uow.users.get(signer)
        if user is None or not any(user.can(action) for action in VERIFIERS):
            raise Forbidden(f"{signer} may not verify batch record values")
        batch_record = _record_of(uow, lot_number)
        entry = _entry(batch_record, entry_id)
        training.require_current(uow, signer, batch_record.master.procedure, on=moment.date())
        batch_record.verify(entry, by=signer, at=moment)
        lot = batch_record.lot_number
        audit.record(
            uow,
            actor=signer,
            action="verify",
            record_type=ENTRY_RECORD_TYPE,
            record_id=value_id(lot, entry.step, entry.parameter),
            field="verified_by",
            new=signer,
            now=lambda: moment,
        )
        signatures.seal(
            uow,
            signer=signer,
            meaning=Meaning.VERIFIED,
            record_type=ENTRY_RECORD_TYPE,
            record_id=entry_record_id(lot, entry),
            content=entry.content(lot),
            comment=comment,
            now=lambda: moment,
        )
        uow.commit()
        return entry


@retry_on_race
def complete(uow: UnitOfWork, lot_number: str, *, actor: str, now: Clock = utcnow) -> BatchRecord:
    """Close a record whose every step is done; the batch is completed and goes to QC."""
    moment = now()
    with uow:
        _require_staff(uow, "execute batches")
        batch_record = _record_of(uow, lot_number)
        batch_record.complete(moment)
        batch = batch_record.batch
        before = batch.status
        batch.complete()
        _batch_status(uow, batch, before, actor, moment)
        batch.send_to_qc()
        _batch_status(uow, batch, domain.BatchStatus.COMPLETED, actor, moment)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CHANGE,
            record_type=RECORD_TYPE,
            record_id=batch.lot_number,
            field="status",
            old=BatchRecordStatus.IN_PROGRESS.value,
            new=batch_record.status.value,
            now=lambda: moment,
        )
        uow.commit()
        return batch_record


# Reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """One recorded value (an original or a correction) as a page shows it."""

    id: int
    step: int
    parameter: str
    value: str
    unit: str | None
    in_spec: bool | None
    recorded_by: str
    recorded_at: datetime
    superseded: bool
    corrects: int | None
    """The id of the entry this correction replaced."""
    reason: str | None
    needs_verification: bool
    verified_by: str | None
    verified_at: datetime | None
    verification: SignatureView | None
    deviation: str | None
    """The number of the deviation this value opened (out of specification)."""

    @property
    def shown(self) -> str:
        return f"{self.value} {self.unit}" if self.unit else self.value

    @property
    def awaiting_verification(self) -> bool:
        return self.needs_verification and self.verified_by is None and not self.superseded


@dataclass(frozen=True)
class ParameterView:
    name: str
    kind: ParameterKind
    unit: str | None
    spec: str | None
    critical: bool
    needs_verification: bool
    current: EntryView | None
    history: list[EntryView]
    """Every entry of the parameter, originals and corrections, in the order recorded."""


@dataclass(frozen=True)
class StepView:
    position: int
    title: str
    instructions: str
    parameters: list[ParameterView]
    missing: list[str]
    complete: bool
    locked: bool
    """Nothing can be recorded yet: an earlier step is not complete."""

    @property
    def open_parameters(self) -> list[ParameterView]:
        """The parameters still to record."""
        return [parameter for parameter in self.parameters if parameter.current is None]


@dataclass(frozen=True)
class BatchRecordView:
    """A batch's record as the page and the API show it (``status`` is :data:`NOT_STARTED` without one)."""

    lot_number: str
    batch_status: domain.BatchStatus
    sponsor: str
    order: str
    process: str
    status: str
    master: str | None
    """The master record version the record runs on (``PROCESS/vN``)."""
    master_label: str | None
    master_version: int | None
    procedure: str | None
    started_by: str | None
    started_at: datetime | None
    completed_at: datetime | None
    steps: list[StepView]
    entries: list[EntryView]
    next_step: int | None
    approved_master: str | None
    """Without a record: the approved version a start would use (None when none is approved)."""

    @property
    def started(self) -> bool:
        return self.status != NOT_STARTED

    @property
    def in_progress(self) -> bool:
        return self.status == BatchRecordStatus.IN_PROGRESS.value

    @property
    def can_complete(self) -> bool:
        return self.in_progress and self.next_step is None

    @property
    def awaiting_verification(self) -> list[EntryView]:
        return [entry for entry in self.entries if entry.awaiting_verification]


def _entry_views(
    uow: UnitOfWork, record: BatchRecord, deviation_of: dict[tuple[str, datetime], str]
) -> dict[int, EntryView]:
    lot = record.lot_number
    verified = [entry for entry in record.entries if entry.verified_by is not None]
    signed = uow.signatures.of_many(ENTRY_RECORD_TYPE, [entry_record_id(lot, e) for e in verified]) if verified else {}
    views: dict[int, EntryView] = {}
    for entry in record.entries:
        definition = record.master.step(entry.step).parameter(entry.parameter)
        verification = None
        if entry.verified_by is not None:
            found = signatures.views(signed.get(entry_record_id(lot, entry), []), entry_hash(lot, entry))
            verification = found[-1] if found else None
        assert entry.id is not None
        views[entry.id] = EntryView(
            id=entry.id,
            step=entry.step,
            parameter=entry.parameter,
            value=entry.value,
            unit=definition.unit,
            in_spec=entry.in_spec,
            recorded_by=entry.recorded_by,
            recorded_at=entry.recorded_at,
            superseded=entry.superseded,
            corrects=None if entry.corrects is None else entry.corrects.id,
            reason=entry.reason,
            needs_verification=definition.needs_verification,
            verified_by=entry.verified_by,
            verified_at=entry.verified_at,
            verification=verification,
            deviation=deviation_of.get((f"step {entry.step} / {entry.parameter}", entry.recorded_at)),
        )
    return views


def _step_views(record: BatchRecord, entries: dict[int, EntryView]) -> list[StepView]:
    next_step = record.next_step
    steps = []
    for step in record.master.steps:
        parameters = []
        for parameter in step.parameters:
            history = [
                entries[entry.id]
                for entry in record.entries
                if entry.id is not None and entry.step == step.position and entry.parameter == parameter.name
            ]
            current = record.current(step.position, parameter.name)
            parameters.append(
                ParameterView(
                    name=parameter.name,
                    kind=parameter.kind,
                    unit=parameter.unit,
                    spec=parameter.spec,
                    critical=parameter.critical,
                    needs_verification=parameter.needs_verification,
                    current=None if current is None or current.id is None else entries[current.id],
                    history=history,
                )
            )
        missing = record.missing(step.position)
        steps.append(
            StepView(
                position=step.position,
                title=step.title,
                instructions=step.instructions,
                parameters=parameters,
                missing=missing,
                complete=not missing,
                locked=next_step is not None and step.position > next_step,
            )
        )
    return steps


def get(uow: UnitOfWork, lot_number: str) -> BatchRecordView:
    """The batch record of a batch the caller may read (a sponsor: its own, released), or the batch's state
    before its record starts."""
    with uow:
        batch = gmp_access.visible_batch(uow, lot_number) if can_name_a_record(lot_number) else None
        if batch is None:
            raise NotFound("batch record", lot_number)
        process = batch.order.program.process
        found = uow.batch_records.get(batch.lot_number)
        common: dict[str, Any] = {
            "lot_number": batch.lot_number,
            "batch_status": batch.status,
            "sponsor": batch.sponsor.name,
            "order": batch.order.number,
            "process": process.name,
        }
        if found is None:
            approved = uow.master_records.approved(process.name) if uow.sponsor_id is None else None
            return BatchRecordView(
                **common,
                status=NOT_STARTED,
                master=None,
                master_label=None,
                master_version=None,
                procedure=None,
                started_by=None,
                started_at=None,
                completed_at=None,
                steps=[],
                entries=[],
                next_step=None,
                approved_master=None if approved is None else approved.record_id,
            )
        opened = {
            (deviation.source, deviation.opened_at): deviation.number
            for deviation in uow.deviations.list(lot_number=batch.lot_number)
            if deviation.source is not None
        }
        entries = _entry_views(uow, found, opened)
        return BatchRecordView(
            **common,
            status=found.status.value,
            master=found.master.record_id,
            master_label=found.master.label,
            master_version=found.master.version,
            procedure=found.master.procedure,
            started_by=found.started_by,
            started_at=found.started_at,
            completed_at=found.completed_at,
            steps=_step_views(found, entries),
            entries=list(entries.values()),
            next_step=found.next_step,
            approved_master=None,
        )


@dataclass(frozen=True)
class BatchRecordLine:
    """A batch record in a list."""

    lot_number: str
    sponsor: str
    process: str
    master: str
    batch_status: domain.BatchStatus
    status: BatchRecordStatus
    started_by: str
    started_at: datetime
    completed_at: datetime | None


def list_records(uow: UnitOfWork, *, status: BatchRecordStatus | None = None) -> list[BatchRecordLine]:
    """The batch records the caller may read, newest first (a sponsor: those of its own released batches)."""
    with uow:
        found = uow.batch_records.list(status=status)
        return [
            BatchRecordLine(
                lot_number=item.lot_number,
                sponsor=item.batch.sponsor.name,
                process=item.master.process.name,
                master=item.master.label,
                batch_status=item.batch.status,
                status=item.status,
                started_by=item.started_by,
                started_at=item.started_at,
                completed_at=item.completed_at,
            )
            for item in found
            if uow.sponsor_id is None or item.batch.status is domain.BatchStatus.RELEASED
        ]
