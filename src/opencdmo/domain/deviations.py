"""Deviations and their corrective and preventive actions (CAPA). Standard library only.

::

    open ──(investigation + root cause, CAPA done and checked effective)──► closed (QA signs)

A deviation may concern a batch (then it blocks the batch's release while open) or the site as a whole. Major
and critical deviations need at least one CAPA action; every action needs an effectiveness check before the
deviation closes. Closed deviations never reopen: a recurrence is a new deviation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opencdmo.domain import _rules
from opencdmo.errors import DomainError

if TYPE_CHECKING:
    from opencdmo.domain.batches import Batch
    from opencdmo.domain.sponsors import Sponsor

MAX_TEXT = 4000


def long_text(value: object, field: str) -> str:
    """A description, investigation or finding: like :func:`_rules.text`, but line breaks (and tabs) are allowed,
    written as ``\n`` whatever the browser sent (``\r\n``); no other control character."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not isinstance(value, str) or not value.strip():
        raise DomainError("must be a non-empty text", field=field)
    if value != value.strip():
        raise DomainError("must not start or end with spaces or blank lines", field=field)
    if len(value) > MAX_TEXT:
        raise DomainError(f"must be at most {MAX_TEXT} characters", field=field)
    if any((ord(character) < 32 and character not in "\n\t") or ord(character) == 127 for character in value):
        raise DomainError("must not contain control characters other than line breaks and tabs", field=field)
    return value


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class DeviationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CapaStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(eq=False)
class CapaAction:
    """One corrective or preventive action, owned by a person, due on a date."""

    description: str
    owner: str
    due_date: date
    status: CapaStatus = CapaStatus.OPEN
    completed_at: datetime | None = None
    effectiveness: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.description = long_text(self.description, "description")
        self.owner = _rules.text(self.owner, "owner", max_length=60)
        if not isinstance(self.due_date, date) or isinstance(self.due_date, datetime):
            raise DomainError("must be a date", field="due_date")
        self.status = _rules.choice(CapaStatus, self.status, "status")

    def complete(self, at: datetime) -> None:
        if self.status is CapaStatus.DONE:
            raise DomainError("this action is already done", field="status")
        self.status = CapaStatus.DONE
        self.completed_at = _rules.utc(at, "completed_at")

    def check_effectiveness(self, finding: str) -> None:
        if self.status is not CapaStatus.DONE:
            raise DomainError("an action's effectiveness is checked once it is done", field="effectiveness")
        self.effectiveness = long_text(finding, "effectiveness")

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "owner": self.owner,
            "due_date": self.due_date.isoformat(),
            "status": self.status.value,
            "effectiveness": self.effectiveness,
        }


@dataclass(eq=False)
class Deviation:
    """A departure from an approved instruction or specification, investigated and closed by QA."""

    number: str
    severity: Severity
    title: str
    description: str
    opened_by: str
    opened_at: datetime
    batch: Batch | None = None
    source: str | None = None
    investigation: str | None = None
    root_cause: str | None = None
    status: DeviationStatus = DeviationStatus.OPEN
    closed_at: datetime | None = None
    capa: list[CapaAction] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        self.number = _rules.text(self.number, "number", max_length=20)
        self.severity = _rules.choice(Severity, self.severity, "severity")
        self.title = _rules.text(self.title, "title", max_length=200)
        self.description = long_text(self.description, "description")
        self.opened_by = _rules.text(self.opened_by, "opened_by", max_length=60)
        self.opened_at = _rules.utc(self.opened_at, "opened_at")
        if self.source is not None:
            self.source = _rules.text(self.source, "source", max_length=200)
        self.status = _rules.choice(DeviationStatus, self.status, "status")

    @property
    def sponsor(self) -> Sponsor | None:
        return None if self.batch is None else self.batch.sponsor

    @property
    def is_open(self) -> bool:
        return self.status is DeviationStatus.OPEN

    @property
    def record_id(self) -> str:
        """How the audit trail names it: under its batch's lot when it has one, so a batch's trail includes it."""
        return self.number if self.batch is None else f"{self.batch.lot_number}/{self.number}"

    def record_investigation(self, investigation: str, root_cause: str) -> None:
        self._check_open()
        self.investigation = long_text(investigation, "investigation")
        self.root_cause = long_text(root_cause, "root_cause")

    def add_capa(self, description: str, owner: str, due_date: date) -> CapaAction:
        self._check_open()
        action = CapaAction(description=description, owner=owner, due_date=due_date)
        self.capa.append(action)
        return action

    def capa_action(self, index: int) -> CapaAction:
        """The action numbered ``index`` (1, 2, ... in the order they were added)."""
        if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= len(self.capa):
            raise DomainError(f"{self.number} has no CAPA action {index}", field="capa")
        return self.capa[index - 1]

    def closure_blockers(self) -> list[str]:
        """Why the deviation cannot close yet, in words; empty when it can."""
        blockers = []
        if not self.investigation:
            blockers.append("the investigation is not recorded")
        if not self.root_cause:
            blockers.append("the root cause is not recorded")
        if self.severity is not Severity.MINOR and not self.capa:
            blockers.append(f"a {self.severity.value} deviation needs at least one CAPA action")
        for index, action in enumerate(self.capa, start=1):
            if action.status is not CapaStatus.DONE:
                blockers.append(f"CAPA action {index} is not done")
            elif not action.effectiveness:
                blockers.append(f"CAPA action {index} has no effectiveness check")
        return blockers

    def close(self, at: datetime) -> None:
        self._check_open()
        blockers = self.closure_blockers()
        if blockers:
            raise DomainError(f"{self.number} cannot close: {'; '.join(blockers)}", field="status")
        self.status = DeviationStatus.CLOSED
        self.closed_at = _rules.utc(at, "closed_at")

    def content(self) -> dict[str, Any]:
        """What QA's closing signature signs."""
        return {
            "number": self.number,
            "lot": None if self.batch is None else self.batch.lot_number,
            "severity": self.severity.value,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "investigation": self.investigation,
            "root_cause": self.root_cause,
            "capa": [action.as_dict() for action in self.capa],
        }

    def _check_open(self) -> None:
        if not self.is_open:
            raise DomainError(f"{self.number} is closed and cannot change", field="status")

    def __repr__(self) -> str:
        return f"Deviation({self.number!r}, {self.severity.value}, {self.status.value})"
