"""Use cases on training records (21 CFR Part 11 §11.10(i), P11-09): record a training, and refuse a user who is
not currently trained on a procedure the right to execute or sign it.

:func:`require_current` is what other use cases call, inside their own open unit of work, before a user executes
a step of a batch record or signs a record made under a procedure::

    with uow:
        training.require_current(uow, signer, "MBR-MAB-DS", on=now().date())
        ...

Training records are added, never changed (a retraining adds a record; the one with the latest ``valid_until``
counts), and every one is audited. Only CDMO staff read or record them; which staff may record them (admin, QA)
is the entrypoints' check, as for every use case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.training import TrainingRecord, TrainingStatus, add_months, latest, procedure_code
from opencdmo.errors import Conflict, DomainError, Forbidden, InputError, NotFound
from opencdmo.services import audit
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

DEFAULT_MONTHS = 12
MAX_MONTHS = 120
RECORD_TYPE = "training"


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def _require_staff(uow: UnitOfWork) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden("training records are for CDMO staff only")


def valid_until(trained_on: date, *, until: date | None = None, months: int | None = None) -> date:
    """The end of a training's validity: ``until`` as given, or ``months`` (12 by default) after ``trained_on``."""
    if until is not None and months is not None:
        raise InputError("give the end of validity either as a date or as a number of months, not both")
    if until is not None:
        return until
    months = DEFAULT_MONTHS if months is None else months
    if isinstance(months, bool) or not 1 <= months <= MAX_MONTHS:
        raise InputError(f"a training is valid for 1 to {MAX_MONTHS} months, not {months}")
    try:
        return add_months(trained_on, months)
    except ValueError as error:
        raise InputError(str(error)) from None


@retry_on_race
def grant(
    uow: UnitOfWork,
    username: str,
    procedure: str,
    *,
    trained_on: date,
    valid_until: date,
    actor: str,
    now: Clock = utcnow,
) -> TrainingRecord:
    """Record that ``username`` was trained on ``procedure`` on ``trained_on``, valid up to ``valid_until``.

    Only active CDMO staff users are trained (a sponsor user never executes or signs a procedure); a training
    cannot be recorded before it happened (``trained_on`` after today) nor twice with the same dates.
    """
    moment = now()
    code = procedure_code(procedure)
    if isinstance(trained_on, date) and not isinstance(trained_on, datetime) and trained_on > moment.date():
        raise DomainError(
            f"must not be after today ({moment.date().isoformat()}): record a training once it took place",
            field="trained_on",
        )
    with uow:
        _require_staff(uow)
        user = uow.users.get(username)
        if user is None:
            raise NotFound("user", username)
        if user.role is domain.Role.SPONSOR:
            raise DomainError(
                f"{username} is a sponsor user: only CDMO staff are trained on procedures", field="username"
            )
        if not user.active:
            raise DomainError(f"{username} is deactivated", field="username")
        record = TrainingRecord(
            user=user,
            procedure=code,
            trained_on=trained_on,
            valid_until=valid_until,
            recorded_by=actor,
            recorded_at=moment,
        )
        for existing in uow.training.of(username, code):
            if (existing.trained_on, existing.valid_until) == (record.trained_on, record.valid_until):
                raise Conflict(
                    f"{username}'s training on {code} of {trained_on.isoformat()}, valid until "
                    f"{record.valid_until.isoformat()}, is already recorded"
                )
        uow.training.add(record)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=RECORD_TYPE,
            record_id=f"{username}/{code}",
            new={"trained_on": record.trained_on, "valid_until": record.valid_until},
            now=lambda: moment,
        )
        uow.commit()
        return record


def require_current(uow: UnitOfWork, username: str, procedure: str, *, on: date) -> None:
    """Refuse (:class:`Forbidden`) unless ``username`` holds a training on ``procedure`` valid on the day ``on``.

    Runs inside the caller's open unit of work (it neither opens nor commits one).
    """
    _require_staff(uow)
    records = uow.training.of(username, procedure)
    if any(record.is_current(on) for record in records):
        return
    last = latest(records)
    if last is None:
        raise Forbidden(f"{username} has no training on {procedure}")
    if last.valid_until <= on:
        raise Forbidden(f"{username}'s training on {procedure} expired on {last.valid_until.isoformat()}")
    raise Forbidden(
        f"{username}'s training on {procedure} is valid only from {last.trained_on.isoformat()}, "
        f"not on {on.isoformat()}"
    )


def of_user(uow: UnitOfWork, username: str) -> list[TrainingRecord]:
    """Every training record of a user (the history), by procedure and validity."""
    with uow:
        _require_staff(uow)
        if uow.users.get(username) is None:
            raise NotFound("user", username)
        return uow.training.of_user(username)


@dataclass(frozen=True)
class MatrixRow:
    """Where one user stands on one procedure: the record that counts, and its status on the day asked."""

    username: str
    role: str
    active: bool
    procedure: str
    trained_on: date
    valid_until: date
    status: TrainingStatus

    @property
    def current(self) -> bool:
        return self.status in (TrainingStatus.CURRENT, TrainingStatus.EXPIRING)


def _counting(records: list[TrainingRecord], on: date) -> TrainingRecord:
    """The record that counts on ``on``: a current one if there is any (the latest), else the latest of all."""
    found = latest([record for record in records if record.is_current(on)]) or latest(records)
    assert found is not None
    return found


def matrix(uow: UnitOfWork, on: date, *, username: str | None = None) -> list[MatrixRow]:
    """Each user's standing on each procedure they were ever trained on, by username and procedure."""
    with uow:
        _require_staff(uow)
        if username is not None and uow.users.get(username) is None:
            raise NotFound("user", username)
        records = uow.training.of_user(username) if username is not None else uow.training.list()
    grouped: dict[tuple[str, str], list[TrainingRecord]] = {}
    for record in records:
        grouped.setdefault((record.user.username, record.procedure), []).append(record)
    rows = []
    for (name, procedure), held in sorted(grouped.items()):
        record = _counting(held, on)
        rows.append(
            MatrixRow(
                username=name,
                role=record.user.role.value,
                active=record.user.active,
                procedure=procedure,
                trained_on=record.trained_on,
                valid_until=record.valid_until,
                status=record.status(on),
            )
        )
    return rows
