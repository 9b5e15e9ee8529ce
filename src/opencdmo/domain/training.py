"""Training records (21 CFR Part 11 §11.10(i), P11-09): who is trained on which procedure, from when, until when.

A procedure is named by a code such as ``MBR-MAB-DS`` (a master batch record) or ``QCM-HPLC-ASSAY`` (a QC
method). A record is valid from ``trained_on`` up to, not including, ``valid_until``: on ``valid_until`` the
training has expired. Records are never changed: a retraining adds a new record, and of a user's records on a
procedure the one with the latest ``valid_until`` is the one that counts. Only CDMO staff are trained on
procedures; a sponsor user never executes or signs one. Standard library only.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from opencdmo.domain import _rules
from opencdmo.domain.accounts import Role, User
from opencdmo.errors import DomainError

PROCEDURE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,59}")
EXPIRY_WARNING = timedelta(days=30)
"""A current training that expires within this time is shown as expiring."""
MAX_VALIDITY_YEARS = 10


class TrainingStatus(StrEnum):
    CURRENT = "current"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NOT_YET = "not-yet-valid"


def procedure_code(value: object, field: str = "procedure") -> str:
    """A procedure code: 2 to 60 upper-case letters, digits, '-', '.' or '_', starting with a letter or digit."""
    code = _rules.text(value, field, max_length=60)
    if not PROCEDURE_PATTERN.fullmatch(code):
        raise DomainError(
            "must be 2 to 60 upper-case letters, digits, '-', '.' or '_', starting with a letter or digit "
            "(e.g. MBR-MAB-DS)",
            field=field,
        )
    return code


def day(value: object, field: str) -> date:
    """A calendar date (a datetime is refused: training is recorded by the day)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise DomainError(f"must be a date such as 2027-03-01, not {value!r}", field=field)
    return value


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months; the 31st of a shorter month becomes its last day (Jan 31 + 1 month = Feb 28).

    Raises ValueError for a negative number of months or a result after the year 9999."""
    if months < 0:
        raise ValueError("months must not be negative")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if year > date.max.year:
        raise ValueError(f"{months} months after {start.isoformat()} is after the year {date.max.year}")
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _at_most(trained_on: date) -> date:
    """The latest end of validity of a training on ``trained_on``."""
    try:
        return add_months(trained_on, 12 * MAX_VALIDITY_YEARS)
    except ValueError:  # beyond the year 9999
        return date.max


@dataclass(eq=False)
class TrainingRecord:
    """One training of one user on one procedure. Never changed once recorded."""

    user: User
    procedure: str
    trained_on: date
    valid_until: date
    recorded_by: str
    recorded_at: datetime
    id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.user, User):
            raise DomainError("must be a user", field="user")
        if self.user.role is Role.SPONSOR:
            raise DomainError(
                f"{self.user.username} is a sponsor user: only CDMO staff are trained on procedures", field="user"
            )
        self.procedure = procedure_code(self.procedure)
        self.trained_on = day(self.trained_on, "trained_on")
        self.valid_until = day(self.valid_until, "valid_until")
        if self.valid_until <= self.trained_on:
            raise DomainError(
                f"must be after the training date {self.trained_on.isoformat()}, not {self.valid_until.isoformat()}",
                field="valid_until",
            )
        if self.valid_until > _at_most(self.trained_on):
            raise DomainError(f"a training is valid for at most {MAX_VALIDITY_YEARS} years", field="valid_until")
        self.recorded_by = _rules.text(self.recorded_by, "recorded_by", max_length=80)
        self.recorded_at = _rules.utc(self.recorded_at, "recorded_at")

    @property
    def username(self) -> str:
        return self.user.username

    def is_current(self, on: date) -> bool:
        """Whether the training is valid on ``on``: from ``trained_on`` up to, not including, ``valid_until``."""
        return self.trained_on <= on < self.valid_until

    def status(self, on: date, *, warning: timedelta = EXPIRY_WARNING) -> TrainingStatus:
        if on < self.trained_on:
            return TrainingStatus.NOT_YET
        if on >= self.valid_until:
            return TrainingStatus.EXPIRED
        return TrainingStatus.EXPIRING if self.valid_until - on <= warning else TrainingStatus.CURRENT

    def __repr__(self) -> str:
        return (
            f"TrainingRecord({self.user.username!r}, {self.procedure!r}, "
            f"{self.trained_on.isoformat()}..{self.valid_until.isoformat()})"
        )


def latest(records: list[TrainingRecord]) -> TrainingRecord | None:
    """The record that counts among one user's records on one procedure: the latest ``valid_until`` (of two with
    the same, the later training)."""
    return max(records, key=lambda record: (record.valid_until, record.trained_on), default=None)
