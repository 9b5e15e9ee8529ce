"""Request and response models of master batch records and batch execution (``/master-records``,
``/batch-records``): bodies refuse unknown fields and bound every value; the domain still checks each rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from opencdmo.api.schemas import Body, Changes, Printable, Public
from opencdmo.api.signing import SignatureIn, SignaturePublic
from opencdmo.domain.master_records import MAX_VALUE_LENGTH, MasterBatchRecord, MasterStep
from opencdmo.services import batch_records, master_records

Title = Annotated[str, Field(min_length=1, max_length=120), Printable]
Procedure = Annotated[str, Field(min_length=2, max_length=60, examples=["MBR-MAB-2000"]), Printable]
Comment = Annotated[str, Field(max_length=500), Printable] | None
Limit = Annotated[float | None, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]


# Master batch records ------------------------------------------------------------------------------------------


class ParameterIn(Body):
    """A value recorded at a step: a number (with unit and limits), free text, or a check (answered yes)."""

    name: Annotated[str, Field(min_length=1, max_length=60), Printable]
    kind: Literal["number", "text", "check"] = "number"
    unit: Annotated[str, Field(min_length=1, max_length=20), Printable] | None = None
    low: Limit = None
    high: Limit = None
    critical: bool = False
    verify: bool = False
    """Whether a second person verifies the value (a critical parameter always asks for it)."""


class StepIn(Body):
    title: Title
    instructions: Annotated[str, Field(min_length=1, max_length=4000)]
    parameters: Annotated[list[ParameterIn], Field(min_length=1, max_length=master_records.MAX_PARAMETERS)]


Steps = Annotated[list[StepIn], Field(max_length=master_records.MAX_STEPS)]


def steps_of(steps: list[StepIn]) -> list[MasterStep]:
    """The domain's steps, numbered 1, 2, 3... in the order given (a refused value names its step)."""
    return master_records.steps_from_data([step.model_dump(exclude_defaults=True) for step in steps])


class MasterRecordCreate(Body):
    """A new draft version of a process's master record; without ``steps`` it copies the approved version's."""

    process: Annotated[str, Field(min_length=1, max_length=120), Printable]
    procedure: Procedure
    title: Title
    steps: Steps | None = None


class MasterRecordUpdate(Changes):
    """A change to a draft: only the fields given change (the steps as a whole)."""

    procedure: Procedure | None = None
    title: Title | None = None
    steps: Steps | None = None


class ApprovalCreate(Body):
    signature: SignatureIn
    comment: Comment = None


class ParameterPublic(Public):
    name: str
    kind: str
    unit: str | None
    low: float | None
    high: float | None
    spec: str | None
    critical: bool
    verify: bool
    needs_verification: bool


class StepPublic(Public):
    position: int
    title: str
    instructions: str
    parameters: list[ParameterPublic]

    @classmethod
    def from_domain(cls, step: MasterStep) -> StepPublic:
        return cls(
            position=step.position,
            title=step.title,
            instructions=step.instructions,
            parameters=[
                ParameterPublic(
                    name=parameter.name,
                    kind=parameter.kind.value,
                    unit=parameter.unit,
                    low=parameter.low,
                    high=parameter.high,
                    spec=parameter.spec,
                    critical=parameter.critical,
                    verify=parameter.verify,
                    needs_verification=parameter.needs_verification,
                )
                for parameter in step.parameters
            ],
        )


class MasterRecordPublic(Public):
    """One version of a process's master batch record with its approval signatures (``intact`` false when the
    version changed after it was signed)."""

    process: str
    version: int
    record_id: str
    procedure: str
    title: str
    status: str
    created_by: str
    created_at: datetime
    approved_at: datetime | None
    steps: list[StepPublic]
    signatures: list[SignaturePublic]

    @classmethod
    def from_view(cls, view: master_records.MasterRecordView) -> MasterRecordPublic:
        record: MasterBatchRecord = view.record
        return cls(
            process=record.process.name,
            version=record.version,
            record_id=record.record_id,
            procedure=record.procedure,
            title=record.title,
            status=record.status.value,
            created_by=record.created_by,
            created_at=record.created_at,
            approved_at=record.approved_at,
            steps=[StepPublic.from_domain(step) for step in record.steps],
            signatures=[SignaturePublic.from_view(signature) for signature in view.signatures],
        )


# Batch records -------------------------------------------------------------------------------------------------

Value = Annotated[str, Field(min_length=1, max_length=MAX_VALUE_LENGTH, examples=["7.1", "yes"]), Printable]


class BatchRecordStart(Body):
    lot: Annotated[str, Field(min_length=1, max_length=40), Printable]


class EntryCreate(Body):
    """A value recorded at a step, as text: a number such as ``7.1``, ``yes`` or ``no`` for a check."""

    step: Annotated[int, Field(ge=1, le=500)]
    parameter: Annotated[str, Field(min_length=1, max_length=60), Printable]
    value: Value


class CorrectionCreate(Body):
    value: Value
    reason: Annotated[str, Field(min_length=1, max_length=500), Printable]


class VerificationCreate(Body):
    signature: SignatureIn
    comment: Comment = None


class EntryPublic(Public):
    """One recorded value: an original or a correction (``corrects`` names the entry it replaced)."""

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
    reason: str | None
    needs_verification: bool
    verified_by: str | None
    verified_at: datetime | None
    verification: SignaturePublic | None
    deviation: str | None
    """The deviation this value opened, when it was out of specification."""

    @classmethod
    def from_view(cls, view: batch_records.EntryView) -> EntryPublic:
        return cls(
            id=view.id,
            step=view.step,
            parameter=view.parameter,
            value=view.value,
            unit=view.unit,
            in_spec=view.in_spec,
            recorded_by=view.recorded_by,
            recorded_at=view.recorded_at,
            superseded=view.superseded,
            corrects=view.corrects,
            reason=view.reason,
            needs_verification=view.needs_verification,
            verified_by=view.verified_by,
            verified_at=view.verified_at,
            verification=None if view.verification is None else SignaturePublic.from_view(view.verification),
            deviation=view.deviation,
        )


class ExecutedParameterPublic(Public):
    name: str
    kind: str
    unit: str | None
    spec: str | None
    critical: bool
    needs_verification: bool
    current: EntryPublic | None
    """The value that stands (the latest correction), or null when not recorded yet."""
    history: list[EntryPublic]
    """Every value recorded, originals and corrections, in the order recorded."""


class ExecutedStepPublic(Public):
    position: int
    title: str
    instructions: str
    complete: bool
    locked: bool
    """Nothing can be recorded yet: an earlier step is not complete."""
    missing: list[str]
    parameters: list[ExecutedParameterPublic]


class BatchRecordPublic(Public):
    """A batch's record; ``status`` is ``not-started`` for a batch without one (``approved_master`` then names the
    master record version a start would use, for CDMO staff)."""

    lot_number: str
    batch_status: str
    sponsor: str
    order: str
    process: str
    status: str
    master: str | None
    master_version: int | None
    procedure: str | None
    started_by: str | None
    started_at: datetime | None
    completed_at: datetime | None
    next_step: int | None
    approved_master: str | None
    steps: list[ExecutedStepPublic]

    @classmethod
    def from_view(cls, view: batch_records.BatchRecordView) -> BatchRecordPublic:
        def entry(item: batch_records.EntryView | None) -> EntryPublic | None:
            return None if item is None else EntryPublic.from_view(item)

        return cls(
            lot_number=view.lot_number,
            batch_status=view.batch_status.value,
            sponsor=view.sponsor,
            order=view.order,
            process=view.process,
            status=view.status,
            master=view.master,
            master_version=view.master_version,
            procedure=view.procedure,
            started_by=view.started_by,
            started_at=view.started_at,
            completed_at=view.completed_at,
            next_step=view.next_step,
            approved_master=view.approved_master,
            steps=[
                ExecutedStepPublic(
                    position=step.position,
                    title=step.title,
                    instructions=step.instructions,
                    complete=step.complete,
                    locked=step.locked,
                    missing=step.missing,
                    parameters=[
                        ExecutedParameterPublic(
                            name=parameter.name,
                            kind=parameter.kind.value,
                            unit=parameter.unit,
                            spec=parameter.spec,
                            critical=parameter.critical,
                            needs_verification=parameter.needs_verification,
                            current=entry(parameter.current),
                            history=[EntryPublic.from_view(item) for item in parameter.history],
                        )
                        for parameter in step.parameters
                    ],
                )
                for step in view.steps
            ],
        )


class RecordedPublic(Public):
    """A value as recorded or corrected, and the deviation it opened (null when in specification)."""

    entry: EntryPublic
    deviation: str | None


class BatchRecordLinePublic(Public):
    lot_number: str
    sponsor: str
    process: str
    master: str
    batch_status: str
    status: str
    started_by: str
    started_at: datetime
    completed_at: datetime | None

    FIELDS: ClassVar[tuple[str, ...]] = ("lot_number", "sponsor", "process", "master", "started_by")

    @classmethod
    def from_line(cls, line: batch_records.BatchRecordLine) -> BatchRecordLinePublic:
        values: dict[str, Any] = {name: getattr(line, name) for name in cls.FIELDS}
        return cls(
            **values,
            batch_status=line.batch_status.value,
            status=line.status.value,
            started_at=line.started_at,
            completed_at=line.completed_at,
        )
