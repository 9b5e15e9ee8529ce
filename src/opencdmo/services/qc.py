"""Use cases of quality control: instruments and their calibration, release specifications, test results.

A result is accepted only when the batch is completed or in QC, from a registered instrument whose calibration
is valid on the day of the test (21 CFR 11.10(h); the refusal says why), by an analyst currently trained on the
test's method (P11-09). Pass or fail is computed against the specification; a failing result opens a MAJOR
deviation in the same transaction (:func:`services.deviations.open_in`) and names it. A second analyst verifies
a result by electronic signature (meaning VERIFIED over :meth:`QcResult.content`). A result is never deleted: a
wrong one is voided with a reason and the test recorded again; while a non-void result of a test exists a
second one is refused.

:func:`release_checks` lists, in words, every QC reason a batch's release must be refused for; the disposition
use case calls it inside its own unit of work.

Every write is audited in its own transaction with the actor and the injected clock: instruments as record type
``instrument`` with the code as id, specifications as ``qc-specification`` with the process name as id, results as
``qc-result`` with :attr:`QcResult.record_id` (``LOT/qc/TEST#ID``, under the batch's lot, so a batch's trail
holds its results). Which role may call which use case is the entrypoints' check (the role × action matrix):
MANAGE_INSTRUMENTS, REVIEW_QUALITY (specifications), RECORD_QC_RESULTS (record, verify), RECORD_QC_RESULTS or
REVIEW_QUALITY (void). Reads of a batch's results go through :func:`gmp_access.visible_batch` (a sponsor: its own
released batches only); instruments, specifications and the worklist are CDMO staff data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.signatures import Meaning, content_hash
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound
from opencdmo.services import audit, deviations, gmp_access, signatures, training
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

INSTRUMENT = "instrument"
SPECIFICATION = "qc-specification"
RESULT = "qc-result"
"""Record types in the audit trail (and of a result's verification signature)."""
DUE_SOON = timedelta(days=30)
"""A calibration falling due within this time is shown as due soon."""
VERIFY = "verify"
INSTRUMENT_FIELDS = ("name", "kind", "calibrated_on", "calibration_due", "active")
QC_STATUSES = (domain.BatchStatus.COMPLETED, domain.BatchStatus.IN_QC)
"""A batch's QC results are recorded, verified and voided in these statuses only (never after disposition)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _require_staff(uow: UnitOfWork, what: str) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden(f"only CDMO staff may {what}")


# Instruments -------------------------------------------------------------------------------------------------------


class CalibrationStatus(StrEnum):
    VALID = "valid"
    DUE_SOON = "due within 30 days"
    EXPIRED = "expired"
    NOT_YET = "not yet valid"
    RETIRED = "retired"


def calibration_status(instrument: domain.Instrument, on: date) -> CalibrationStatus:
    """Where an instrument's calibration stands on ``on``."""
    if not instrument.active:
        return CalibrationStatus.RETIRED
    if on < instrument.calibrated_on:
        return CalibrationStatus.NOT_YET
    if on > instrument.calibration_due:
        return CalibrationStatus.EXPIRED
    if instrument.calibration_due - on <= DUE_SOON:
        return CalibrationStatus.DUE_SOON
    return CalibrationStatus.VALID


def instruments(uow: UnitOfWork) -> list[domain.Instrument]:
    """Every registered instrument (retired ones too), by code."""
    with uow:
        _require_staff(uow, "see the instrument register")
        return uow.instruments.list()


def instrument(uow: UnitOfWork, code: str) -> domain.Instrument:
    with uow:
        _require_staff(uow, "see the instrument register")
        return _instrument(uow, code)


def _instrument(uow: UnitOfWork, code: str) -> domain.Instrument:
    found = uow.instruments.get(code)
    if found is None:
        raise NotFound("instrument", code)
    return found


@retry_on_race
def register(
    uow: UnitOfWork,
    code: str,
    name: str,
    kind: str,
    calibrated_on: date,
    calibration_due: date,
    *,
    actor: str,
    now: Clock = utcnow,
) -> domain.Instrument:
    """Register an instrument with its current calibration period; its code is unique."""
    item = domain.Instrument(code, name, kind, calibrated_on, calibration_due)
    with uow:
        _require_staff(uow, "register instruments")
        if uow.instruments.get(item.code) is not None:
            raise Conflict(f"an instrument {item.code} is already registered")
        uow.instruments.add(item)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=INSTRUMENT,
            record_id=item.code,
            new=audit.snapshot(item, INSTRUMENT_FIELDS),
            now=now,
        )
        uow.commit()
        return item


@retry_on_race
def recalibrate(
    uow: UnitOfWork,
    code: str,
    calibrated_on: date,
    calibration_due: date,
    *,
    actor: str,
    now: Clock = utcnow,
) -> domain.Instrument:
    """Record a new calibration of a registered, active instrument (audited old -> new)."""
    with uow:
        _require_staff(uow, "calibrate instruments")
        item = _instrument(uow, code)
        if not item.active:
            raise DomainError(f"instrument {item.code} is retired", field="code")
        before = audit.snapshot(item, INSTRUMENT_FIELDS)
        item.recalibrate(calibrated_on, calibration_due)
        audit.record_changes(
            uow,
            actor=actor,
            record_type=INSTRUMENT,
            record_id=item.code,
            before=before,
            after=audit.snapshot(item, INSTRUMENT_FIELDS),
            reason="calibration",
            now=now,
        )
        uow.commit()
        return item


@retry_on_race
def retire(uow: UnitOfWork, code: str, *, reason: str | None = None, actor: str, now: Clock = utcnow) -> None:
    """Take an instrument out of use: no result is accepted from it any more (it stays registered)."""
    with uow:
        _require_staff(uow, "retire instruments")
        item = _instrument(uow, code)
        if not item.active:
            raise DomainError(f"instrument {item.code} is already retired", field="code")
        item.retire()
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CHANGE,
            record_type=INSTRUMENT,
            record_id=item.code,
            field="active",
            old=True,
            new=False,
            reason=reason,
            now=now,
        )
        uow.commit()


# Release specifications ------------------------------------------------------------------------------------------


def _process(uow: UnitOfWork, name: str) -> domain.ProcessTemplate:
    process = uow.processes.get(name)
    if process is None:
        raise NotFound("process", name)
    return process


@retry_on_race
def set_specification(
    uow: UnitOfWork, process: str, tests: Sequence[domain.QcTest], *, actor: str, now: Clock = utcnow
) -> domain.QcSpecification:
    """Set the release specification of a process: the tests every new result of its batches is recorded
    against (results already recorded keep the limits they were recorded under)."""
    chosen = list(tests)
    if not chosen:
        raise DomainError("a release specification has at least one test", field="tests")
    names = [test.name for test in chosen]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DomainError(f"the specification names {', '.join(twice)} twice", field="tests")
    with uow:
        _require_staff(uow, "write release specifications")
        template = _process(uow, process)
        existing = uow.qc.specification(template.name)
        if existing is None:
            specification = domain.QcSpecification(process=template, tests=chosen)
            uow.qc.add_specification(specification)
            audit.record(
                uow,
                actor=actor,
                action=AuditAction.CREATE,
                record_type=SPECIFICATION,
                record_id=template.name,
                new=[test.as_dict() for test in chosen],
                now=now,
            )
        else:
            before = [test.as_dict() for test in existing.tests]
            existing.tests = chosen
            specification = existing
            audit.record_changes(
                uow,
                actor=actor,
                record_type=SPECIFICATION,
                record_id=template.name,
                before={"tests": before},
                after={"tests": [test.as_dict() for test in chosen]},
                now=now,
            )
        uow.commit()
        return specification


def specification(uow: UnitOfWork, process: str) -> domain.QcSpecification:
    """The release specification of a process (NotFound when the process has none)."""
    with uow:
        _require_staff(uow, "read release specifications")
        template = _process(uow, process)
        found = uow.qc.specification(template.name)
        if found is None:
            raise NotFound("release specification of", process)
        return found


def specifications(uow: UnitOfWork) -> list[domain.QcSpecification]:
    with uow:
        _require_staff(uow, "read release specifications")
        return uow.qc.specifications()


# Results -----------------------------------------------------------------------------------------------------------


def _process_of(batch: domain.Batch) -> domain.ProcessTemplate:
    return batch.order.program.process


def _staff_batch(uow: UnitOfWork, lot: str) -> domain.Batch:
    batch = uow.batches.get(lot)
    if batch is None:
        raise NotFound("batch", lot)
    return batch


def _check_in_qc(batch: domain.Batch) -> None:
    if batch.status not in QC_STATUSES:
        raise DomainError(
            f"batch {batch.lot_number} is {batch.status.value}: QC results are recorded, verified and voided "
            "while it is completed or in QC",
            field="lot",
        )


@dataclass(frozen=True)
class RecordedResult:
    """A new result and, when it failed, the number of the deviation it opened."""

    result: domain.QcResult
    deviation: str | None


@retry_on_race
def record_result(
    uow: UnitOfWork,
    lot: str,
    test: str,
    value: object,
    instrument_code: str,
    *,
    actor: str,
    now: Clock = utcnow,
) -> RecordedResult:
    """Record the result of one release test of a batch, measured on ``instrument_code``, as analyst ``actor``."""
    at = now()
    with uow:
        _require_staff(uow, "record QC results")
        batch = _staff_batch(uow, lot)
        _check_in_qc(batch)
        process = _process_of(batch)
        spec = uow.qc.specification(process.name)
        if spec is None:
            raise DomainError(f"the process {process.name} has no release specification", field="test")
        qc_test = spec.test(test)
        item = uow.instruments.get(instrument_code) if isinstance(instrument_code, str) else None
        if item is None:
            raise DomainError(f"no instrument {instrument_code!r} is registered", field="instrument")
        training.require_current(uow, actor, qc_test.method, on=at.date())
        if any(result.test == qc_test.name and not result.is_void for result in uow.qc.results(batch.lot_number)):
            raise Conflict(
                f"{qc_test.name} of batch {batch.lot_number} already has a result: void it (with a reason) before "
                "recording another"
            )
        result = domain.QcResult.record(batch, qc_test, value, item, analyst=actor, at=at)
        uow.qc.add_result(result)
        uow.reread()  # the result's id names it in the audit trail
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=RESULT,
            record_id=result.record_id,
            field="value",
            new={
                "value": result.value,
                "unit": result.unit,
                "spec": result.spec,
                "passed": result.passed,
                "instrument": item.code,
            },
            now=lambda: at,
        )
        deviation = None
        if not result.passed:
            deviation = deviations.open_in(
                uow,
                severity=domain.Severity.MAJOR,
                title=f"{result.test} out of specification",
                description=(
                    f"{result.test} of batch {batch.lot_number}: {result.display_value} against the specification "
                    f"{result.spec} (result #{result.id}, instrument {item.code}, analyst {actor})."
                ),
                actor=actor,
                batch=batch,
                source=source_of(result.test),
                now=lambda: at,
            )
        uow.commit()
        return RecordedResult(result=result, deviation=None if deviation is None else deviation.number)


def source_of(test: str) -> str:
    """The source of the deviation a failing result of ``test`` opens."""
    return f"QC {test}"


def _result(uow: UnitOfWork, result_id: int) -> domain.QcResult:
    found = uow.qc.result(result_id)
    if found is None:
        raise NotFound("QC result", result_id)
    return found


@retry_on_race
def verify_result(
    uow: UnitOfWork, result_id: int, *, signer: str, credentials: Credentials, now: Clock = utcnow
) -> domain.QcResult:
    """A second analyst, trained on the method, verifies a result by electronic signature (VERIFIED)."""
    signatures.authenticate(uow, signer, credentials, now=now)
    at = now()
    with uow:
        _require_staff(uow, "verify QC results")
        result = _result(uow, result_id)
        _check_in_qc(result.batch)
        training.require_current(uow, signer, result.method, on=at.date())
        result.verify(by=signer, at=at)
        audit.record(
            uow,
            actor=signer,
            action=VERIFY,
            record_type=RESULT,
            record_id=result.record_id,
            field="verified_by",
            new=signer,
            now=lambda: at,
        )
        signatures.seal(
            uow,
            signer=signer,
            meaning=Meaning.VERIFIED,
            record_type=RESULT,
            record_id=result.record_id,
            content=result.content(),
            now=lambda: at,
        )
        uow.commit()
        return result


@retry_on_race
def void_result(uow: UnitOfWork, result_id: int, reason: str, *, actor: str, now: Clock = utcnow) -> domain.QcResult:
    """Void a wrong result with a reason (it stays on record, struck through); the test may then be recorded again."""
    with uow:
        _require_staff(uow, "void QC results")
        result = _result(uow, result_id)
        _check_in_qc(result.batch)
        result.void(reason=reason, by=actor)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.VOID,
            record_type=RESULT,
            record_id=result.record_id,
            field="status",
            old="valid",
            new="void",
            reason=result.voided_reason,
            now=now,
        )
        uow.commit()
        return result


# Reading ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultLine:
    """One result as shown: the record, its verification signature(s) checked against its current content, and
    the deviation it opened when it failed."""

    result: domain.QcResult
    signatures: list[SignatureView]
    deviation: str | None


@dataclass(frozen=True)
class TestLine:
    """One test of the specification and its current (non-void) result, if any."""

    test: domain.QcTest
    current: ResultLine | None

    @property
    def state(self) -> str:
        if self.current is None:
            return "to record"
        result = self.current.result
        if not result.passed:
            return "failed"
        return "passed" if result.is_verified else "to verify"


@dataclass(frozen=True)
class BatchResults:
    """The QC page of a batch: its specification, each test with its current result, every result ever recorded
    (voided ones too) and the QC reasons a release would be refused for."""

    batch: domain.Batch
    process: str
    specification: domain.QcSpecification | None
    tests: list[TestLine]
    results: list[ResultLine]
    checks: list[str]

    @property
    def open_for_results(self) -> bool:
        return self.batch.status in QC_STATUSES


def _lines(uow: UnitOfWork, batch: domain.Batch, found: list[domain.QcResult]) -> list[ResultLine]:
    signed = uow.signatures.of_many(RESULT, [result.record_id for result in found])
    opened: dict[tuple[str, datetime], str] = {}
    if any(not result.passed for result in found):
        for deviation in uow.deviations.list(lot_number=batch.lot_number):
            if deviation.source is not None:
                opened[(deviation.source, deviation.opened_at)] = deviation.number
    return [
        ResultLine(
            result=result,
            signatures=signatures.views(
                signed.get(result.record_id, []), content_hash(RESULT, result.record_id, result.content())
            ),
            deviation=None if result.passed else opened.get((source_of(result.test), result.recorded_at)),
        )
        for result in found
    ]


def _checks(spec: domain.QcSpecification | None, process: str, found: list[domain.QcResult]) -> list[str]:
    if spec is None:
        return [f"the process {process} has no release specification"]
    reasons = []
    current = {result.test: result for result in found if not result.is_void}
    for qc_test in spec.tests:
        result = current.get(qc_test.name)
        if result is None:
            reasons.append(f"QC test {qc_test.name} has no result")
            continue
        if not result.is_verified:
            reasons.append(f"the QC result of {qc_test.name} is not verified")
        if not result.passed:
            reasons.append(
                f"the QC result of {qc_test.name} failed: {result.display_value} against the specification "
                f"{result.spec}"
            )
    return reasons


def release_checks(uow: UnitOfWork, lot: str) -> list[str]:
    """Every QC reason, in words, to refuse the release of batch ``lot``; empty when QC allows it.

    Runs inside the caller's open unit of work (it neither opens nor commits one): no specification for the
    batch's process; each test of the specification without a (non-void) result; each result not verified; each
    failed result. NotFound when the caller may not see the batch.
    """
    batch = gmp_access.visible_batch(uow, lot)
    process = _process_of(batch).name
    return _checks(uow.qc.specification(process), process, uow.qc.results(batch.lot_number))


def results(uow: UnitOfWork, lot: str) -> BatchResults:
    """The QC results of a batch the caller may read (a sponsor: its own, once released)."""
    with uow:
        batch = gmp_access.visible_batch(uow, lot)
        process = _process_of(batch).name
        spec = uow.qc.specification(process)
        found = uow.qc.results(batch.lot_number)
        lines = _lines(uow, batch, found)
        current = {line.result.test: line for line in lines if not line.result.is_void}
        tests = [TestLine(test=qc_test, current=current.get(qc_test.name)) for qc_test in (spec.tests if spec else [])]
        return BatchResults(
            batch=batch,
            process=process,
            specification=spec,
            tests=tests,
            results=lines,
            checks=_checks(spec, process, found),
        )


def result(uow: UnitOfWork, result_id: int) -> ResultLine:
    """One result with its signatures, if the caller may read its batch's records."""
    with uow:
        found = _result(uow, result_id)  # a sponsor's scope finds only its own batches' results
        if uow.sponsor_id is not None and found.batch.status is not domain.BatchStatus.RELEASED:
            raise NotFound("QC result", result_id)
        [line] = _lines(uow, found.batch, [found])
        return line


@dataclass(frozen=True)
class WorklistRow:
    """A batch in QC (or completed) and what its QC still needs."""

    lot: str
    sponsor: str
    process: str
    status: domain.BatchStatus
    has_specification: bool
    to_record: list[str] = field(default_factory=list)
    to_verify: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.has_specification and not (self.to_record or self.to_verify or self.failed)


def worklist(uow: UnitOfWork) -> list[WorklistRow]:
    """Every batch completed or in QC, by lot, with the tests still to record and the results still to verify."""
    with uow:
        _require_staff(uow, "see the QC worklist")
        batches = [batch for status in QC_STATUSES for batch in uow.batches.list(status=status)]
        specs: dict[str, domain.QcSpecification | None] = {}
        rows = []
        for batch in sorted(batches, key=lambda item: item.lot_number):
            process = _process_of(batch).name
            if process not in specs:
                specs[process] = uow.qc.specification(process)
            spec = specs[process]
            current = {result.test: result for result in uow.qc.results(batch.lot_number) if not result.is_void}
            tests = spec.tests if spec is not None else []
            rows.append(
                WorklistRow(
                    lot=batch.lot_number,
                    sponsor=batch.sponsor.name,
                    process=process,
                    status=batch.status,
                    has_specification=spec is not None,
                    to_record=[test.name for test in tests if test.name not in current],
                    to_verify=[name for name, result in current.items() if not result.is_verified],
                    failed=[name for name, result in current.items() if not result.passed],
                )
            )
        return rows
