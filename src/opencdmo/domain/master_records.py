"""Master batch records: the approved instructions a batch of a process is made by. Standard library only.

A master batch record belongs to a process template and has numbered versions. A version is written as a
draft, approved once by electronic signature (by the quality unit), and from then on never changes: a change is
a new version, and approving it supersedes the one before. A batch keeps the version it started with.

Each step lists the values the operator records: numbers with units and specification limits, free text, or a
check ("yes" when done). A parameter can be *critical* and can ask for a second person's verification
(EU GMP Annex 11 §6); a critical parameter always asks for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opencdmo.domain import _rules
from opencdmo.errors import DomainError

if TYPE_CHECKING:
    from opencdmo.domain.processes import ProcessTemplate

PROCEDURE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,59}")
MAX_VALUE_LENGTH = 500
CHECK_VALUES = {"yes": "yes", "y": "yes", "true": "yes", "done": "yes", "no": "no", "n": "no", "false": "no"}


def procedure_code(value: object, field: str = "procedure") -> str:
    """A procedure code (an SOP, a master record, a QC method): upper-case letters, digits, '.', '_' and '-'."""
    code = _rules.text(value, field, max_length=60)
    if not PROCEDURE_PATTERN.fullmatch(code):
        raise DomainError("must be 2 to 60 upper-case letters, digits, '.', '_' or '-'", field=field)
    return code


def format_number(value: float) -> str:
    """A number the way people write it: no trailing '.0', no exponent for everyday magnitudes."""
    return f"{value:.10g}"


def spec_text(low: float | None, high: float | None, unit: str | None) -> str | None:
    """Specification limits in words, e.g. ``6.8 - 7.2 pH``, ``>= 95 %``; None when there are none."""
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{format_number(low)} - {format_number(high)}{suffix}"
    if low is not None:
        return f">= {format_number(low)}{suffix}"
    if high is not None:
        return f"<= {format_number(high)}{suffix}"
    return None


def check_limits(low: float | None, high: float | None, field: str) -> tuple[float | None, float | None]:
    limits = []
    for limit in (low, high):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))):
            raise DomainError("limits must be numbers", field=field)
        if limit is not None and not math.isfinite(limit):
            raise DomainError("limits must be finite numbers", field=field)
        limits.append(None if limit is None else float(limit))
    if limits[0] is not None and limits[1] is not None and limits[0] > limits[1]:
        raise DomainError("the lower limit must not be above the upper limit", field=field)
    return limits[0], limits[1]


def parse_number(raw: object, field: str) -> float:
    text = _rules.text(raw, field, max_length=40)
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise DomainError(f"{text!r} is not a number", field=field) from None
    if not math.isfinite(number):
        raise DomainError("must be a finite number", field=field)
    return number


class ParameterKind(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    CHECK = "check"


@dataclass(frozen=True)
class Parameter:
    """A value recorded at a step. Limits apply to numbers; a check is in specification when answered yes."""

    name: str
    kind: ParameterKind = ParameterKind.NUMBER
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    critical: bool = False
    verify: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _rules.text(self.name, "name", max_length=60))
        object.__setattr__(self, "kind", _rules.choice(ParameterKind, self.kind, "kind"))
        if self.unit is not None:
            object.__setattr__(self, "unit", _rules.text(self.unit, "unit", max_length=20))
        low, high = check_limits(self.low, self.high, f"{self.name}.limits")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if self.kind is not ParameterKind.NUMBER and (low is not None or high is not None or self.unit):
            raise DomainError("only a number has a unit and limits", field=self.name)
        if not isinstance(self.critical, bool) or not isinstance(self.verify, bool):
            raise DomainError("critical and verify are true or false", field=self.name)

    @property
    def needs_verification(self) -> bool:
        """Whether a second person verifies the value (always, for a critical parameter)."""
        return self.critical or self.verify

    @property
    def spec(self) -> str | None:
        if self.kind is ParameterKind.CHECK:
            return "yes"
        return spec_text(self.low, self.high, self.unit)

    def normalise(self, raw: object) -> str:
        """The value as stored, or DomainError naming this parameter when it is not a valid value."""
        if self.kind is ParameterKind.NUMBER:
            return format_number(parse_number(raw, self.name))
        if self.kind is ParameterKind.CHECK:
            answer = CHECK_VALUES.get(_rules.text(raw, self.name, max_length=10).lower())
            if answer is None:
                raise DomainError("answer yes or no", field=self.name)
            return answer
        return _rules.text(raw, self.name, max_length=MAX_VALUE_LENGTH)

    def in_spec(self, value: str) -> bool | None:
        """Whether a stored value meets the specification; None when there is none (free text, no limits)."""
        if self.kind is ParameterKind.CHECK:
            return value == "yes"
        if self.kind is ParameterKind.TEXT or (self.low is None and self.high is None):
            return None
        number = float(value)
        return (self.low is None or number >= self.low) and (self.high is None or number <= self.high)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "critical": self.critical,
            "verify": self.verify,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameter:
        return cls(
            name=data["name"],
            kind=ParameterKind(data.get("kind", "number")),
            unit=data.get("unit"),
            low=data.get("low"),
            high=data.get("high"),
            critical=bool(data.get("critical", False)),
            verify=bool(data.get("verify", False)),
        )


@dataclass(frozen=True)
class MasterStep:
    """One instruction of the master record and the values recorded when it is done."""

    position: int
    title: str
    instructions: str
    parameters: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", _rules.whole(self.position, "position", minimum=1, maximum=500))
        object.__setattr__(self, "title", _rules.text(self.title, "title", max_length=120))
        object.__setattr__(self, "instructions", _rules.text(self.instructions, "instructions", max_length=4000))
        parameters = tuple(self.parameters)
        if not parameters:
            raise DomainError(f"step {self.position} records no value", field="parameters")
        names = [parameter.name for parameter in parameters]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise DomainError(f"step {self.position} names {', '.join(duplicated)} twice", field="parameters")
        object.__setattr__(self, "parameters", parameters)

    def parameter(self, name: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise DomainError(f"step {self.position} records no {name!r}", field="parameter")

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "title": self.title,
            "instructions": self.instructions,
            "parameters": [parameter.as_dict() for parameter in self.parameters],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MasterStep:
        return cls(
            position=data["position"],
            title=data["title"],
            instructions=data["instructions"],
            parameters=tuple(Parameter.from_dict(item) for item in data["parameters"]),
        )


def numbered(steps: Iterable[MasterStep]) -> list[MasterStep]:
    """The steps, checked to be numbered 1, 2, 3... in order."""
    ordered = list(steps)
    for expected, step in enumerate(ordered, start=1):
        if step.position != expected:
            raise DomainError(f"steps are numbered 1, 2, 3...: step {expected} is numbered {step.position}")
    return ordered


class MasterRecordStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


@dataclass(eq=False)
class MasterBatchRecord:
    """One version of the master batch record of a process."""

    process: ProcessTemplate
    version: int
    procedure: str
    title: str
    created_by: str
    created_at: datetime
    steps: list[MasterStep] = field(default_factory=list)
    status: MasterRecordStatus = MasterRecordStatus.DRAFT
    approved_at: datetime | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.version = _rules.whole(self.version, "version", minimum=1)
        self.procedure = procedure_code(self.procedure)
        self.title = _rules.text(self.title, "title", max_length=120)
        self.created_by = _rules.text(self.created_by, "created_by", max_length=60)
        self.created_at = _rules.utc(self.created_at, "created_at")
        self.status = _rules.choice(MasterRecordStatus, self.status, "status")
        self.steps = numbered(self.steps)

    @property
    def record_id(self) -> str:
        """How the audit trail and signatures name this version."""
        return f"{self.process.name}/v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status is MasterRecordStatus.DRAFT

    def step(self, position: int) -> MasterStep:
        if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= len(self.steps):
            raise DomainError(f"{self.label} has no step {position}", field="step")
        return self.steps[position - 1]

    def replace_steps(self, steps: Iterable[MasterStep]) -> None:
        """Rewrite the steps of a draft (an approved version never changes)."""
        self._check_draft()
        self.steps = numbered(steps)

    def approve(self, at: datetime) -> None:
        self._check_draft()
        if not self.steps:
            raise DomainError("a master batch record without steps cannot be approved", field="steps")
        self.status = MasterRecordStatus.APPROVED
        self.approved_at = _rules.utc(at, "approved_at")

    def supersede(self) -> None:
        if self.status is not MasterRecordStatus.APPROVED:
            raise DomainError(f"only an approved version is superseded, not a {self.status.value} one")
        self.status = MasterRecordStatus.SUPERSEDED

    def content(self) -> dict[str, Any]:
        """What an approval signs: everything that instructs the operator."""
        return {
            "process": self.process.name,
            "version": self.version,
            "procedure": self.procedure,
            "title": self.title,
            "steps": [step.as_dict() for step in self.steps],
        }

    def _check_draft(self) -> None:
        if not self.is_draft:
            raise DomainError(
                f"{self.label} is {self.status.value} and can no longer change: write a new version",
                field="status",
            )

    def __repr__(self) -> str:
        return f"MasterBatchRecord({self.record_id!r}, {self.status.value})"
