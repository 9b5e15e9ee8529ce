"""Use cases on deviations and their corrective and preventive actions (CAPA).

::

    open ─► investigation + root cause ─► CAPA added ─► done (owner or QA) ─► effectiveness checked ─► closed
                                                                                            (QA signs, APPROVED)

:func:`open_in` opens a deviation inside another use case's open unit of work (an out-of-specification step
value or QC result opens one in the same transaction as the value); it numbers deviations per year,
DEV-2026-0001, and writes the audit trail. Every other use case here opens and commits its own unit of work and
writes its audit events in it, under the deviation's :attr:`~opencdmo.domain.Deviation.record_id` (which starts
with the batch's lot number, so a batch's trail holds its deviations): a CAPA action is ``RECORD_ID/capa-N``.

Which role may call which use case is the entrypoints' check (the role × action matrix): opening needs
OPEN_DEVIATIONS; the investigation, CAPA planning, the effectiveness check and closing need REVIEW_QUALITY. One
rule depends on who the caller is and lives here: a CAPA action is completed by its owner or by QA
(:func:`complete_capa`). Sponsor users read the deviations of their own released batches, and nothing else
(another's, or one of a batch not released, is "not found", like a missing one); they never write.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.signatures import Meaning, content_hash
from opencdmo.errors import DomainError, Forbidden, NotFound
from opencdmo.services import audit, gmp_access, signatures
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

RECORD_TYPE = "deviation"
"""The record type of a deviation in the audit trail and on its closing signature."""
CAPA_RECORD_TYPE = "capa-action"


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_number(uow: UnitOfWork, at: datetime) -> str:
    prefix = f"DEV-{at.year}-"
    return f"{prefix}{uow.deviations.numbers_starting_with(prefix) + 1:04d}"


def open_in(
    uow: UnitOfWork,
    *,
    severity: domain.Severity,
    title: str,
    description: str,
    actor: str,
    batch: domain.Batch | None = None,
    source: str | None = None,
    now: Clock = utcnow,
) -> domain.Deviation:
    """Open a deviation in the caller's unit of work (the caller commits)."""
    at = now()
    deviation = domain.Deviation(
        number=next_number(uow, at),
        severity=severity,
        title=title,
        description=description,
        opened_by=actor,
        opened_at=at,
        batch=batch,
        source=source,
    )
    uow.deviations.add(deviation)
    audit.record(
        uow,
        actor=actor,
        action=AuditAction.CREATE,
        record_type="deviation",
        record_id=deviation.record_id,
        field="severity",
        new=severity.value,
        reason=title,
        now=lambda: at,
    )
    return deviation


def _require_staff(uow: UnitOfWork, what: str) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden(f"only CDMO staff may {what}")


def _visible(uow: UnitOfWork, deviation: domain.Deviation | None) -> bool:
    """Staff see every deviation; a sponsor only those of its own batches once released (the repository has
    already kept out other sponsors' and the site's own)."""
    if deviation is None:
        return False
    if uow.sponsor_id is None:
        return True
    return deviation.batch is not None and deviation.batch.status is domain.BatchStatus.RELEASED


def _find(uow: UnitOfWork, number: str) -> domain.Deviation:
    deviation = uow.deviations.get(number)
    if deviation is None or not _visible(uow, deviation):
        raise NotFound("deviation", number)
    return deviation


def _severity(value: domain.Severity | str) -> domain.Severity:
    try:
        return domain.Severity(value)
    except ValueError:
        allowed = ", ".join(member.value for member in domain.Severity)
        raise DomainError(f"{value!r} is not one of: {allowed}", field="severity") from None


@retry_on_race
def open(  # the use case's name: the builtin open is not used in this module
    uow: UnitOfWork,
    *,
    lot: str | None = None,
    severity: domain.Severity | str,
    title: str,
    description: str,
    actor: str,
    now: Clock = utcnow,
) -> domain.Deviation:
    """Open a deviation, on a batch (``lot``) or on the site as a whole; numbered DEV-YYYY-NNNN."""
    chosen = _severity(severity)
    with uow:
        _require_staff(uow, "open deviations")
        batch = None
        if lot is not None:
            batch = uow.batches.get(lot)
            if batch is None:
                raise DomainError(f"there is no batch {lot!r}", field="lot")
        deviation = open_in(
            uow, severity=chosen, title=title, description=description, actor=actor, batch=batch, now=now
        )
        uow.commit()
        return deviation


@retry_on_race
def record_investigation(
    uow: UnitOfWork, number: str, investigation: str, root_cause: str, *, actor: str, now: Clock = utcnow
) -> domain.Deviation:
    """Record (or rewrite, while open) the investigation and the root cause; each change audited old -> new."""
    with uow:
        _require_staff(uow, "investigate deviations")
        deviation = _find(uow, number)
        before = {"investigation": deviation.investigation, "root_cause": deviation.root_cause}
        deviation.record_investigation(investigation, root_cause)
        after = {"investigation": deviation.investigation, "root_cause": deviation.root_cause}
        audit.record_changes(
            uow,
            actor=actor,
            record_type=RECORD_TYPE,
            record_id=deviation.record_id,
            before=before,
            after=after,
            now=now,
        )
        uow.commit()
        return deviation


def _capa_id(deviation: domain.Deviation, index: int) -> str:
    return f"{deviation.record_id}/capa-{index}"


@retry_on_race
def add_capa(
    uow: UnitOfWork,
    number: str,
    description: str,
    owner: str,
    due_date: date,
    *,
    actor: str,
    now: Clock = utcnow,
) -> domain.CapaAction:
    """Add a CAPA action owned by an active CDMO staff user, due on ``due_date``."""
    with uow:
        _require_staff(uow, "plan CAPA actions")
        deviation = _find(uow, number)
        user = uow.users.get(owner) if isinstance(owner, str) else None
        if user is None or not user.active or user.role is domain.Role.SPONSOR:
            raise DomainError(f"{owner!r} is not an active CDMO staff user", field="owner")
        action = deviation.add_capa(description, owner, due_date)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=CAPA_RECORD_TYPE,
            record_id=_capa_id(deviation, len(deviation.capa)),
            new=action.as_dict(),
            now=now,
        )
        uow.commit()
        return action


@retry_on_race
def complete_capa(uow: UnitOfWork, number: str, index: int, *, actor: str, now: Clock = utcnow) -> domain.CapaAction:
    """Mark CAPA action ``index`` (1, 2, ...) done: only its owner or QA (REVIEW_QUALITY) may."""
    at = now()
    with uow:
        _require_staff(uow, "complete CAPA actions")
        deviation = _find(uow, number)
        action = deviation.capa_action(index)
        user = uow.users.get(actor)
        if action.owner != actor and (user is None or not user.can(domain.Action.REVIEW_QUALITY)):
            raise Forbidden(f"CAPA action {index} of {number} is completed by its owner, {action.owner}, or by QA")
        if not deviation.is_open:
            raise DomainError(f"{number} is closed and cannot change", field="status")
        action.complete(at)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CHANGE,
            record_type=CAPA_RECORD_TYPE,
            record_id=_capa_id(deviation, index),
            field="status",
            old=domain.CapaStatus.OPEN.value,
            new=domain.CapaStatus.DONE.value,
            now=lambda: at,
        )
        uow.commit()
        return action


@retry_on_race
def check_effectiveness(
    uow: UnitOfWork, number: str, index: int, finding: str, *, actor: str, now: Clock = utcnow
) -> domain.CapaAction:
    """Record whether a done CAPA action worked (QA)."""
    with uow:
        _require_staff(uow, "check CAPA effectiveness")
        deviation = _find(uow, number)
        action = deviation.capa_action(index)
        if not deviation.is_open:
            raise DomainError(f"{number} is closed and cannot change", field="status")
        before = action.effectiveness
        action.check_effectiveness(finding)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CHANGE,
            record_type=CAPA_RECORD_TYPE,
            record_id=_capa_id(deviation, index),
            field="effectiveness",
            old=before,
            new=action.effectiveness,
            now=now,
        )
        uow.commit()
        return action


@retry_on_race
def close(
    uow: UnitOfWork,
    number: str,
    *,
    signer: str,
    credentials: Credentials,
    comment: str | None = None,
    now: Clock = utcnow,
) -> domain.Deviation:
    """QA closes the deviation by electronic signature (meaning APPROVED, over :meth:`Deviation.content`); refused,
    with every reason, while :meth:`Deviation.closure_blockers` lists any."""
    signatures.authenticate(uow, signer, credentials, now=now)
    at = now()
    with uow:
        _require_staff(uow, "close deviations")
        deviation = _find(uow, number)
        deviation.close(at)
        audit.record(
            uow,
            actor=signer,
            action=AuditAction.CHANGE,
            record_type=RECORD_TYPE,
            record_id=deviation.record_id,
            field="status",
            old=domain.DeviationStatus.OPEN.value,
            new=domain.DeviationStatus.CLOSED.value,
            now=lambda: at,
        )
        signatures.seal(
            uow,
            signer=signer,
            meaning=Meaning.APPROVED,
            record_type=RECORD_TYPE,
            record_id=deviation.record_id,
            content=deviation.content(),
            comment=comment,
            now=lambda: at,
        )
        uow.commit()
        return deviation


@dataclass(frozen=True)
class DeviationDetail:
    """A deviation as its page and the API show it: the record, its closing signature(s) checked against its
    current content (BROKEN when it changed after signing), and what still keeps it from closing."""

    deviation: domain.Deviation
    signatures: builtins.list[SignatureView]
    blockers: builtins.list[str]


def get(uow: UnitOfWork, number: str) -> DeviationDetail:
    with uow:
        deviation = _find(uow, number)
        current = content_hash(RECORD_TYPE, deviation.record_id, deviation.content())
        shown = signatures.views(uow.signatures.of(RECORD_TYPE, deviation.record_id), current)
        blockers = deviation.closure_blockers() if deviation.is_open else []
        return DeviationDetail(deviation=deviation, signatures=shown, blockers=blockers)


def list(  # the use case's name: annotations here say builtins.list
    uow: UnitOfWork, *, status: domain.DeviationStatus | str | None = None, lot: str | None = None
) -> builtins.list[domain.Deviation]:
    """Deviations, newest first, in ``status`` and of batch ``lot`` when given. A sponsor sees only those of its own
    released batches; a ``lot`` the caller may not read is "not found"."""
    wanted = None
    if status is not None:
        try:
            wanted = domain.DeviationStatus(status)
        except ValueError:
            allowed = ", ".join(member.value for member in domain.DeviationStatus)
            raise DomainError(f"{status!r} is not one of: {allowed}", field="status") from None
    with uow:
        if lot is not None:
            gmp_access.visible_batch(uow, lot)
        found = uow.deviations.list(status=wanted, lot_number=lot)
        return [deviation for deviation in found if _visible(uow, deviation)]


def open_on_batch(uow: UnitOfWork, lot: str) -> builtins.list[domain.Deviation]:
    """The open deviations of a batch, inside the caller's open unit of work (a release is refused while any)."""
    return uow.deviations.list(status=domain.DeviationStatus.OPEN, lot_number=lot)
