"""Request and response models of the quality routes: deviations with CAPA, instruments, release specifications and
QC results. Bodies refuse unknown fields and bound every value; the domain still checks every rule."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from opencdmo import domain
from opencdmo.api.schemas import Body, Day, Name60, Name80, Printable, Public
from opencdmo.api.signing import SignatureIn, SignaturePublic
from opencdmo.domain.deviations import MAX_TEXT
from opencdmo.services import deviations, qc


def _long_text(value: str) -> str:
    # A description may hold line breaks and tabs, never any other control character (PostgreSQL refuses NUL).
    if any((ord(character) < 32 and character not in "\r\n\t") or ord(character) == 127 for character in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


LongText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_long_text)]
Title = Annotated[str, Field(min_length=1, max_length=200), Printable]
LotNumber = Annotated[str, Field(min_length=1, max_length=40), Printable]
Reason = Annotated[str, Field(min_length=1, max_length=500), Printable]
Code = Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[A-Z0-9][A-Z0-9._-]+$"), Printable]
Limit = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]


# Deviations ------------------------------------------------------------------------------------------------------


class DeviationCreate(Body):
    """A new deviation, on a batch (``lot``) or on the site as a whole (no ``lot``)."""

    lot: LotNumber | None = None
    severity: domain.Severity
    title: Title
    description: LongText


class InvestigationIn(Body):
    investigation: LongText
    root_cause: LongText


class CapaCreate(Body):
    description: LongText
    owner: Name60
    """The username of the active CDMO staff member who owns the action."""
    due_date: Day


class EffectivenessIn(Body):
    finding: LongText


class ClosureIn(Body):
    """QA's closing signature (meaning ``approved``)."""

    signature: SignatureIn
    comment: Reason | None = None


class CapaPublic(Public):
    index: int
    """The action's number within its deviation (1, 2, ...), as the routes name it."""
    description: str
    owner: str
    due_date: date
    status: str
    completed_at: datetime | None
    effectiveness: str | None

    @classmethod
    def of(cls, index: int, action: domain.CapaAction) -> CapaPublic:
        return cls(
            index=index,
            description=action.description,
            owner=action.owner,
            due_date=action.due_date,
            status=action.status.value,
            completed_at=action.completed_at,
            effectiveness=action.effectiveness,
        )


class DeviationSummaryPublic(Public):
    number: str
    lot: str | None
    severity: str
    title: str
    source: str | None
    status: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_domain(cls, deviation: domain.Deviation) -> DeviationSummaryPublic:
        return cls(**_summary(deviation))


def _summary(deviation: domain.Deviation) -> dict[str, object]:
    return {
        "number": deviation.number,
        "lot": None if deviation.batch is None else deviation.batch.lot_number,
        "severity": deviation.severity.value,
        "title": deviation.title,
        "source": deviation.source,
        "status": deviation.status.value,
        "opened_by": deviation.opened_by,
        "opened_at": deviation.opened_at,
        "closed_at": deviation.closed_at,
    }


class DeviationPublic(DeviationSummaryPublic):
    """A deviation with its investigation, CAPA actions, what keeps it from closing and its closing signature
    (``intact`` False when the deviation changed after it was signed)."""

    description: str
    investigation: str | None
    root_cause: str | None
    capa: list[CapaPublic]
    blockers: list[str]
    signatures: list[SignaturePublic]

    @classmethod
    def of(cls, detail: deviations.DeviationDetail) -> DeviationPublic:
        deviation = detail.deviation
        return cls(
            **_summary(deviation),
            description=deviation.description,
            investigation=deviation.investigation,
            root_cause=deviation.root_cause,
            capa=[CapaPublic.of(index, action) for index, action in enumerate(deviation.capa, start=1)],
            blockers=detail.blockers,
            signatures=[SignaturePublic.from_view(view) for view in detail.signatures],
        )


# Instruments -----------------------------------------------------------------------------------------------------


class InstrumentCreate(Body):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=120), Printable]
    kind: Name60
    calibrated_on: Day
    calibration_due: Day
    """The last day a result from the instrument is accepted."""


class CalibrationIn(Body):
    calibrated_on: Day
    calibration_due: Day


class InstrumentPublic(Public):
    code: str
    name: str
    kind: str
    calibrated_on: date
    calibration_due: date
    active: bool
    calibration_status: str
    """valid, due within 30 days, expired, not yet valid or retired, as of today (UTC)."""

    @classmethod
    def of(cls, instrument: domain.Instrument, on: date) -> InstrumentPublic:
        return cls(
            code=instrument.code,
            name=instrument.name,
            kind=instrument.kind,
            calibrated_on=instrument.calibrated_on,
            calibration_due=instrument.calibration_due,
            active=instrument.active,
            calibration_status=qc.calibration_status(instrument, on).value,
        )


# Release specifications ------------------------------------------------------------------------------------------


class QcTestIn(Body):
    name: Name80
    method: Code
    """The QC method's procedure code: analysts need current training on it."""
    unit: Annotated[str, Field(min_length=1, max_length=20), Printable] | None = None
    low: Limit | None = None
    high: Limit | None = None

    def to_domain(self) -> domain.QcTest:
        return domain.QcTest(name=self.name, method=self.method, unit=self.unit, low=self.low, high=self.high)


class SpecificationIn(Body):
    tests: Annotated[list[QcTestIn], Field(min_length=1, max_length=50)]


class QcTestPublic(Public):
    name: str
    method: str
    unit: str | None
    low: float | None
    high: float | None
    spec: str

    @classmethod
    def from_domain(cls, test: domain.QcTest) -> QcTestPublic:
        return cls(name=test.name, method=test.method, unit=test.unit, low=test.low, high=test.high, spec=test.spec)


class SpecificationPublic(Public):
    process: str
    tests: list[QcTestPublic]

    @classmethod
    def from_domain(cls, specification: domain.QcSpecification) -> SpecificationPublic:
        return cls(
            process=specification.process.name,
            tests=[QcTestPublic.from_domain(test) for test in specification.tests],
        )


# Results ---------------------------------------------------------------------------------------------------------


class ResultCreate(Body):
    test: Name80
    value: Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(min_length=1, max_length=40), Printable]
    instrument: Name60
    """The code of the registered instrument the test ran on."""


class VerificationIn(Body):
    signature: SignatureIn


class VoidIn(Body):
    reason: Reason


class ResultPublic(Public):
    id: int
    lot: str
    test: str
    method: str
    spec: str
    unit: str | None
    value: float
    passed: bool
    instrument: str
    analyst: str
    recorded_at: datetime
    verified_by: str | None
    verified_at: datetime | None
    voided_reason: str | None
    voided_by: str | None
    deviation: str | None
    """The number of the deviation a failing result opened."""
    signatures: list[SignaturePublic]

    @classmethod
    def of(cls, line: qc.ResultLine) -> ResultPublic:
        result = line.result
        return cls(
            id=result.id or 0,
            lot=result.batch.lot_number,
            test=result.test,
            method=result.method,
            spec=result.spec,
            unit=result.unit,
            value=result.value,
            passed=result.passed,
            instrument=result.instrument.code,
            analyst=result.analyst,
            recorded_at=result.recorded_at,
            verified_by=result.verified_by,
            verified_at=result.verified_at,
            voided_reason=result.voided_reason,
            voided_by=result.voided_by,
            deviation=line.deviation,
            signatures=[SignaturePublic.from_view(view) for view in line.signatures],
        )


class BatchResultsPublic(Public):
    """A batch's QC: the specification, every result (voided ones too) and the QC reasons a release is refused for."""

    lot: str
    status: str
    process: str
    specification: SpecificationPublic | None
    results: list[ResultPublic]
    release_checks: list[str]

    @classmethod
    def of(cls, shown: qc.BatchResults) -> BatchResultsPublic:
        return cls(
            lot=shown.batch.lot_number,
            status=shown.batch.status.value,
            process=shown.process,
            specification=None if shown.specification is None else SpecificationPublic.from_domain(shown.specification),
            results=[ResultPublic.of(line) for line in shown.results],
            release_checks=shown.checks,
        )


class WorklistRowPublic(Public):
    lot: str
    sponsor: str
    process: str
    status: str
    has_specification: bool
    to_record: list[str]
    to_verify: list[str]
    failed: list[str]

    @classmethod
    def of(cls, row: qc.WorklistRow) -> WorklistRowPublic:
        return cls(
            lot=row.lot,
            sponsor=row.sponsor,
            process=row.process,
            status=row.status.value,
            has_specification=row.has_specification,
            to_record=row.to_record,
            to_verify=row.to_verify,
            failed=row.failed,
        )
