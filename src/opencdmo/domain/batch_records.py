"""Executed batch records: what operators recorded for one batch against its master record. Standard library only.

Rules (21 CFR 11.10(f), EU GMP Annex 11 §6 and §9):

- steps are done in order: nothing is recorded for step N+1 before step N is complete, and a step is complete
  when each of its values is recorded and, where the master asks for it, verified by a second person;
- a value is recorded once; changing it is a *correction*, which needs a reason and adds a new entry: the
  original stays in the record, marked superseded, and the correction names it;
- the person who recorded a value never verifies it.

Whether a value is out of specification is decided here; opening the deviation it calls for is the service's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from opencdmo.domain import _rules
from opencdmo.domain.master_records import MasterBatchRecord, MasterRecordStatus, Parameter
from opencdmo.errors import DomainError

if TYPE_CHECKING:
    from opencdmo.domain.batches import Batch

MAX_REASON_LENGTH = 500


class BatchRecordStatus(StrEnum):
    IN_PROGRESS = "in-progress"
    COMPLETE = "complete"


@dataclass(eq=False)
class StepEntry:
    """One value as recorded (an original or a correction). ``corrects`` is the entry a correction replaces."""

    step: int
    parameter: str
    value: str
    recorded_by: str
    recorded_at: datetime
    in_spec: bool | None = None
    corrects: StepEntry | None = None
    reason: str | None = None
    superseded: bool = False
    verified_by: str | None = None
    verified_at: datetime | None = None
    id: int | None = None

    @property
    def is_correction(self) -> bool:
        return self.corrects is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_by is not None

    def content(self, lot_number: str) -> dict[str, object]:
        """What a verification signs: the value and who recorded it when."""
        return {
            "lot": lot_number,
            "step": self.step,
            "parameter": self.parameter,
            "value": self.value,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
            "corrects": None if self.corrects is None else self.corrects.id,
            "reason": self.reason,
        }


@dataclass(eq=False)
class BatchRecord:
    """The executed record of one batch, bound for life to the master record version it started with."""

    batch: Batch
    master: MasterBatchRecord
    started_by: str
    started_at: datetime
    status: BatchRecordStatus = BatchRecordStatus.IN_PROGRESS
    completed_at: datetime | None = None
    entries: list[StepEntry] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        if self.id is None and self.master.status is not MasterRecordStatus.APPROVED:
            raise DomainError(
                f"{self.master.label} is {self.master.status.value}: a batch starts only on an approved version",
                field="master",
            )
        self.started_by = _rules.text(self.started_by, "started_by", max_length=60)
        self.started_at = _rules.utc(self.started_at, "started_at")
        self.status = _rules.choice(BatchRecordStatus, self.status, "status")

    @property
    def lot_number(self) -> str:
        return self.batch.lot_number

    def current(self, step: int, parameter: str) -> StepEntry | None:
        """The value that stands for a parameter (the latest correction), or None when not recorded yet."""
        for entry in reversed(self.entries):
            if entry.step == step and entry.parameter == parameter and not entry.superseded:
                return entry
        return None

    def _standing(self) -> dict[tuple[int, str], StepEntry]:
        """The value that stands for each recorded (step, parameter), found in one pass over the entries."""
        return {(entry.step, entry.parameter): entry for entry in self.entries if not entry.superseded}

    def missing(self, position: int) -> list[str]:
        """What step ``position`` still lacks: values not recorded and values awaiting verification."""
        return self._missing(position, self._standing())

    def _missing(self, position: int, standing: dict[tuple[int, str], StepEntry]) -> list[str]:
        step = self.master.step(position)
        lacking = []
        for parameter in step.parameters:
            entry = standing.get((position, parameter.name))
            if entry is None:
                lacking.append(parameter.name)
            elif parameter.needs_verification and not entry.is_verified:
                lacking.append(f"verification of {parameter.name}")
        return lacking

    def is_step_complete(self, position: int) -> bool:
        return not self.missing(position)

    @property
    def next_step(self) -> int | None:
        """The first step not complete, or None when every step is."""
        standing = self._standing()
        for step in self.master.steps:
            if self._missing(step.position, standing):
                return step.position
        return None

    @property
    def corrections(self) -> list[StepEntry]:
        return [entry for entry in self.entries if entry.is_correction]

    @property
    def out_of_spec(self) -> list[StepEntry]:
        """Current values outside their specification."""
        return [entry for entry in self.entries if not entry.superseded and entry.in_spec is False]

    def record(self, step: int, parameter: str, raw_value: object, *, by: str, at: datetime) -> StepEntry:
        """Record a value for the first time (a second value for the same parameter is a correction)."""
        self._check_open()
        definition = self._parameter(step, parameter)
        standing = self._standing()
        for earlier in range(1, step):
            lacking = self._missing(earlier, standing)
            if lacking:
                raise DomainError(
                    f"step {step} cannot be recorded before step {earlier} is complete "
                    f"(still missing: {', '.join(lacking)})",
                    field="step",
                )
        if (step, parameter) in standing:
            raise DomainError(
                f"{parameter!r} of step {step} is already recorded: correct it with a reason", field=parameter
            )
        return self._append(definition, step, raw_value, by=by, at=at)

    def correct(self, step: int, parameter: str, raw_value: object, *, reason: str, by: str, at: datetime) -> StepEntry:
        """Replace a recorded value; the original stays visible, marked superseded, and verification restarts."""
        self._check_open()
        definition = self._parameter(step, parameter)
        original = self.current(step, parameter)
        if original is None:
            raise DomainError(f"{parameter!r} of step {step} has not been recorded yet", field=parameter)
        why = _rules.text(reason, "reason", max_length=MAX_REASON_LENGTH)
        entry = self._append(definition, step, raw_value, by=by, at=at, corrects=original, reason=why)
        original.superseded = True
        return entry

    def verify(self, entry: StepEntry, *, by: str, at: datetime) -> None:
        """A second person confirms a value that needs it."""
        if entry not in self.entries:
            raise DomainError("the entry is not part of this batch record", field="entry")
        definition = self._parameter(entry.step, entry.parameter)
        if not definition.needs_verification:
            raise DomainError(f"{entry.parameter!r} needs no second-person verification", field=entry.parameter)
        if entry.superseded:
            raise DomainError("this value was corrected: verify the correction", field=entry.parameter)
        if entry.is_verified:
            raise DomainError(f"{entry.parameter!r} is already verified by {entry.verified_by}", field=entry.parameter)
        verifier = _rules.text(by, "verified_by", max_length=60)
        if verifier == entry.recorded_by:
            raise DomainError(
                f"a second person verifies: {verifier} recorded this value and cannot verify it", field="verified_by"
            )
        entry.verified_by = verifier
        entry.verified_at = _rules.utc(at, "verified_at")

    def complete(self, at: datetime) -> None:
        self._check_open()
        step = self.next_step
        if step is not None:
            raise DomainError(
                f"the record is not complete: step {step} still lacks {', '.join(self.missing(step))}",
                field="status",
            )
        self.status = BatchRecordStatus.COMPLETE
        self.completed_at = _rules.utc(at, "completed_at")

    def _parameter(self, step: int, parameter: str) -> Parameter:
        return self.master.step(step).parameter(parameter)

    def _append(
        self,
        definition: Parameter,
        step: int,
        raw_value: object,
        *,
        by: str,
        at: datetime,
        corrects: StepEntry | None = None,
        reason: str | None = None,
    ) -> StepEntry:
        value = definition.normalise(raw_value)
        entry = StepEntry(
            step=step,
            parameter=definition.name,
            value=value,
            recorded_by=_rules.text(by, "recorded_by", max_length=60),
            recorded_at=_rules.utc(at, "recorded_at"),
            in_spec=definition.in_spec(value),
            corrects=corrects,
            reason=reason,
        )
        self.entries.append(entry)
        return entry

    def _check_open(self) -> None:
        if self.status is not BatchRecordStatus.IN_PROGRESS:
            raise DomainError(f"the batch record of {self.lot_number} is complete and closed", field="status")

    def __repr__(self) -> str:
        return f"BatchRecord({self.lot_number!r}, {self.master.record_id!r}, {self.status.value})"
