"""Quality control: instruments and their calibration, release specifications, and test results. Standard library only.

A result is accepted only from a registered, active instrument whose calibration is valid on the day of the test
(21 CFR 11.10(h)); pass or fail is computed against the specification the result was recorded under, which the
result keeps; a second analyst verifies it. A result is never deleted: a wrong one is voided with a reason and the
test repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from opencdmo.domain import _rules
from opencdmo.domain.master_records import (
    check_limits,
    format_number,
    parse_number,
    procedure_code,
    spec_text,
)
from opencdmo.errors import DomainError

if TYPE_CHECKING:
    from opencdmo.domain.batches import Batch
    from opencdmo.domain.processes import ProcessTemplate


def _date(value: object, field: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise DomainError("must be a date", field=field)
    return value


@dataclass(eq=False)
class Instrument:
    """A registered laboratory instrument and its current calibration period."""

    code: str
    name: str
    kind: str
    calibrated_on: date
    calibration_due: date
    active: bool = True
    id: int | None = None

    def __post_init__(self) -> None:
        self.code = procedure_code(self.code, "code")
        self.name = _rules.text(self.name, "name", max_length=120)
        self.kind = _rules.text(self.kind, "kind", max_length=60)
        self._check_period(self.calibrated_on, self.calibration_due)

    def calibration_valid(self, on: date) -> bool:
        return self.active and self.calibrated_on <= on <= self.calibration_due

    def refusal(self, on: date) -> str | None:
        """Why a result from this instrument is refused on ``on``, or None when it is accepted."""
        if not self.active:
            return f"instrument {self.code} is retired"
        if on < self.calibrated_on:
            return f"instrument {self.code} was calibrated on {self.calibrated_on}, after the test date {on}"
        if on > self.calibration_due:
            return f"instrument {self.code}'s calibration expired on {self.calibration_due}"
        return None

    def recalibrate(self, calibrated_on: date, calibration_due: date) -> None:
        self._check_period(calibrated_on, calibration_due)

    def retire(self) -> None:
        self.active = False

    def _check_period(self, calibrated_on: date, calibration_due: date) -> None:
        start = _date(calibrated_on, "calibrated_on")
        end = _date(calibration_due, "calibration_due")
        if end <= start:
            raise DomainError("the calibration falls due after the day it was done", field="calibration_due")
        self.calibrated_on = start
        self.calibration_due = end


@dataclass(frozen=True)
class QcTest:
    """One test of a release specification: the method (a procedure analysts are trained on) and its limits."""

    name: str
    method: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _rules.text(self.name, "name", max_length=80))
        object.__setattr__(self, "method", procedure_code(self.method, "method"))
        if self.unit is not None:
            object.__setattr__(self, "unit", _rules.text(self.unit, "unit", max_length=20))
        low, high = check_limits(self.low, self.high, f"{self.name}.limits")
        if low is None and high is None:
            raise DomainError("a release test has at least one limit", field=self.name)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def spec(self) -> str:
        return spec_text(self.low, self.high, self.unit) or ""

    def passes(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "unit": self.unit, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QcTest:
        return cls(
            name=data["name"], method=data["method"], unit=data.get("unit"), low=data.get("low"), high=data.get("high")
        )


@dataclass(eq=False)
class QcSpecification:
    """The release specification of a process: the tests every batch of it must pass."""

    process: ProcessTemplate
    tests: list[QcTest] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        names = [test.name for test in self.tests]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise DomainError(f"the specification names {', '.join(duplicated)} twice", field="tests")

    def test(self, name: str) -> QcTest:
        for test in self.tests:
            if test.name == name:
                return test
        raise DomainError(f"the specification of {self.process.name} has no test {name!r}", field="test")


@dataclass(eq=False)
class QcResult:
    """One test result of one batch, with the specification and instrument it was recorded under."""

    batch: Batch
    test: str
    method: str
    unit: str | None
    low: float | None
    high: float | None
    value: float
    instrument: Instrument
    analyst: str
    recorded_at: datetime
    passed: bool = False
    verified_by: str | None = None
    verified_at: datetime | None = None
    voided_reason: str | None = None
    voided_by: str | None = None
    id: int | None = None

    @classmethod
    def record(
        cls, batch: Batch, test: QcTest, raw_value: object, instrument: Instrument, *, analyst: str, at: datetime
    ) -> QcResult:
        """A new result, refused when the instrument's calibration is not valid on the day of the test."""
        when = _rules.utc(at, "recorded_at")
        refusal = instrument.refusal(when.date())
        if refusal is not None:
            raise DomainError(f"{refusal}: the result is refused", field="instrument")
        value = parse_number(raw_value, "value")
        return cls(
            batch=batch,
            test=test.name,
            method=test.method,
            unit=test.unit,
            low=test.low,
            high=test.high,
            value=value,
            instrument=instrument,
            analyst=_rules.text(analyst, "analyst", max_length=60),
            recorded_at=when,
            passed=test.passes(value),
        )

    @property
    def spec(self) -> str:
        return spec_text(self.low, self.high, self.unit) or ""

    @property
    def display_value(self) -> str:
        return format_number(self.value) + (f" {self.unit}" if self.unit else "")

    @property
    def is_void(self) -> bool:
        return self.voided_reason is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_by is not None

    @property
    def record_id(self) -> str:
        return f"{self.batch.lot_number}/qc/{self.test}#{self.id}"

    def verify(self, *, by: str, at: datetime) -> None:
        if self.is_void:
            raise DomainError("a voided result is not verified", field="status")
        if self.is_verified:
            raise DomainError(f"already verified by {self.verified_by}", field="verified_by")
        verifier = _rules.text(by, "verified_by", max_length=60)
        if verifier == self.analyst:
            raise DomainError(
                f"a second analyst verifies: {verifier} recorded this result and cannot verify it", field="verified_by"
            )
        self.verified_by = verifier
        self.verified_at = _rules.utc(at, "verified_at")

    def void(self, *, reason: str, by: str) -> None:
        if self.is_void:
            raise DomainError("the result is already void", field="status")
        self.voided_reason = _rules.text(reason, "reason", max_length=500)
        self.voided_by = _rules.text(by, "voided_by", max_length=60)

    def content(self) -> dict[str, Any]:
        """What the verifying analyst signs."""
        return {
            "lot": self.batch.lot_number,
            "test": self.test,
            "method": self.method,
            "spec": self.spec,
            "value": self.value,
            "passed": self.passed,
            "instrument": self.instrument.code,
            "analyst": self.analyst,
            "recorded_at": self.recorded_at.isoformat(),
        }

    def __repr__(self) -> str:
        return f"QcResult({self.batch.lot_number!r}, {self.test!r}, {self.display_value!r})"
