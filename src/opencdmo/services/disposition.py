"""Disposition of a batch by electronic signature: review of its audit trail, then release or rejection.

::

    in-qc ──(audit trail reviewed: REVIEWED by QA or QP)──► release (RELEASED by the QP) ──► released
                                                        └─► reject with a reason (REJECTED by the QP) ──► rejected

- :func:`blockers` lists, in words, every reason a release is refused for: the batch is not in QC; it has no batch
  record or the record is not complete; every QC reason (:func:`services.qc.release_checks`); each open deviation
  of the batch; the audit trail is not reviewed, or changed after its review.
- :func:`review_audit_trail` (REVIEW_QUALITY: QA or the QP) signs, meaning REVIEWED, record type
  ``batch-audit-trail`` and the lot number as id, the content ``{"lot", "events", "last_sequence", "last_hash"}``
  of the batch's audit trail at review time. The review is stale when that content, computed again now, differs:
  "the audit trail changed after its review on DATE by NAME". The rule that keeps the review from going stale by
  itself: the content counts every event of the batch but the disposition's own (record types
  ``batch-audit-trail`` and ``batch-disposition``: reviews, their signatures, the release or rejection and its
  signature), see :func:`batch_record_export.reviewed_events`. The review's own event, record id
  ``LOT/audit-review``, is written after the signed content is computed.
- :func:`release` (DISPOSE_BATCHES: the qualified person only, A11-14) is refused with EVERY reason
  (:class:`ReleaseRefused`, a Conflict) while any blocker exists; otherwise it signs, meaning RELEASED, record type
  ``batch-disposition``, the batch record's content (:func:`batch_record_export.signed_content`), and moves the
  batch to released.
- :func:`reject` (the QP) needs a reason, which is the signature's comment (REJECTED, same record and content); it
  is allowed with open deviations or failed QC (that is often why), but only for a batch in QC whose audit trail
  was reviewed since its last change.

Each use case checks the signer's role itself (the entrypoints check it too), authenticates the signer in a
transaction of its own (:func:`signatures.authenticate`) after checking the preconditions, so that a refused
release does not spend a signing, and writes its audit events and signature in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from opencdmo import domain
from opencdmo.domain.audit import AuditEvent
from opencdmo.domain.signatures import Meaning, Signature
from opencdmo.errors import Conflict, DomainError, Forbidden
from opencdmo.services import audit, batch_record_export, deviations, qc, signatures
from opencdmo.services.batch_record_export import DISPOSITION_RECORD_TYPE, REVIEW_RECORD_TYPE
from opencdmo.services.gmp_access import visible_batch
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

REVIEW = "review"
RELEASE = "release"
REJECT = "reject"
"""The audit actions of a review, a release and a rejection."""
MAX_REASON_LENGTH = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


class Topic(StrEnum):
    """What a blocker is about, so a page can link to where it is resolved."""

    STATUS = "status"
    BATCH_RECORD = "batch-record"
    QC = "qc"
    DEVIATION = "deviation"
    AUDIT_TRAIL = "audit-trail"


@dataclass(frozen=True)
class Blocker:
    """One reason a release is refused, in words; ``key`` names the deviation of a DEVIATION blocker."""

    topic: Topic
    text: str
    key: str | None = None

    def __str__(self) -> str:
        return self.text


class ReleaseRefused(Conflict):
    """A release refused while blockers exist; ``reasons`` holds every one of them, in words."""

    def __init__(self, lot: str, reasons: Sequence[str], what: str = "released") -> None:
        self.lot = lot
        self.reasons = list(reasons)
        super().__init__(f"batch {lot} cannot be {what}: {'; '.join(self.reasons)}")


@dataclass(frozen=True)
class ReviewState:
    """Where the audit-trail review of a batch stands: the latest review's signature, and whether it is stale."""

    signature: Signature | None
    stale: bool

    @property
    def current(self) -> bool:
        return self.signature is not None and not self.stale

    @property
    def blocker(self) -> str | None:
        if self.signature is None:
            return "the audit trail is not reviewed"
        if self.stale:
            return (
                f"the audit trail changed after its review on {self.signature.signed_at:%Y-%m-%d %H:%M} UTC by "
                f"{self.signature.printed_name}"
            )
        return None


@dataclass(frozen=True)
class Disposition:
    """The disposition of a batch as its page and the API show it."""

    lot_number: str
    status: domain.BatchStatus
    sponsor: str
    blockers: tuple[Blocker, ...]
    """Every reason a release is refused now (empty: the QP may release)."""
    rejection_blockers: tuple[Blocker, ...]
    """Every reason a rejection is refused now (empty: the QP may reject)."""
    review: ReviewState
    signatures: tuple[SignatureView, ...]
    """The batch's own signatures (reviews, release or rejection), each checked against the current content."""
    events: tuple[AuditEvent, ...]
    """The batch's audit trail, oldest first."""

    @property
    def can_release(self) -> bool:
        return self.status is domain.BatchStatus.IN_QC and not self.blockers

    @property
    def can_reject(self) -> bool:
        return self.status is domain.BatchStatus.IN_QC and not self.rejection_blockers

    @property
    def can_review(self) -> bool:
        return self.status is domain.BatchStatus.IN_QC and not self.review.current


# Checks ---------------------------------------------------------------------------------------------------------


def _require_staff(uow: UnitOfWork, what: str) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden(f"only CDMO staff may {what}")


def _require_role(uow: UnitOfWork, signer: str, action: domain.Action, what: str) -> None:
    user = uow.users.get(signer)
    if user is None or not user.can(action):
        role = "unknown user" if user is None else f"role {user.role.value!r}"
        raise Forbidden(f"the {role} may not {what}")


def _review_state(lot: str, events: Sequence[AuditEvent], reviews: Sequence[Signature]) -> ReviewState:
    done = [signature for signature in reviews if signature.meaning is Meaning.REVIEWED]
    if not done:
        return ReviewState(signature=None, stale=False)
    latest = done[-1]
    return ReviewState(latest, stale=not latest.is_intact(batch_record_export.review_hash(lot, events)))


def _status_blocker(batch: domain.Batch) -> list[Blocker]:
    if batch.status is domain.BatchStatus.IN_QC:
        return []
    return [Blocker(Topic.STATUS, f"the batch is {batch.status.value}, not in QC")]


def _record_blockers(uow: UnitOfWork, batch: domain.Batch) -> list[Blocker]:
    record = uow.batch_records.get(batch.lot_number)
    if record is None:
        return [Blocker(Topic.BATCH_RECORD, "the batch has no batch record")]
    if record.status is not domain.BatchRecordStatus.COMPLETE:
        step = record.next_step
        lacking = "" if step is None else f": step {step} still lacks {', '.join(record.missing(step))}"
        return [Blocker(Topic.BATCH_RECORD, f"the batch record is not complete{lacking}")]
    return []


def _deviation_blockers(uow: UnitOfWork, batch: domain.Batch) -> list[Blocker]:
    found = sorted(deviations.open_on_batch(uow, batch.lot_number), key=lambda deviation: deviation.number)
    return [
        Blocker(Topic.DEVIATION, f"deviation {deviation.number} is open: {deviation.title}", deviation.number)
        for deviation in found
    ]


@dataclass(frozen=True)
class _Checked:
    batch: domain.Batch
    events: list[AuditEvent]
    review: ReviewState
    release: list[Blocker]
    rejection: list[Blocker]


def _check(uow: UnitOfWork, lot: str) -> _Checked:
    """Every blocker of a release and of a rejection, inside an open unit of work."""
    batch = visible_batch(uow, lot)
    events = audit.batch_events(uow, batch.lot_number)
    review = _review_state(batch.lot_number, events, uow.signatures.of(REVIEW_RECORD_TYPE, batch.lot_number))
    status = _status_blocker(batch)
    review_blocker = [] if review.blocker is None else [Blocker(Topic.AUDIT_TRAIL, review.blocker)]
    release = [
        *status,
        *_record_blockers(uow, batch),
        *(Blocker(Topic.QC, reason) for reason in qc.release_checks(uow, batch.lot_number)),
        *_deviation_blockers(uow, batch),
        *review_blocker,
    ]
    return _Checked(batch, events, review, release, [*status, *review_blocker])


def blockers(uow: UnitOfWork, lot: str) -> list[str]:
    """Every reason, in words, the release of batch ``lot`` is refused for now; empty when the QP may release it."""
    with uow:
        _require_staff(uow, "read a batch's disposition")
        return [blocker.text for blocker in _check(uow, lot).release]


def get(uow: UnitOfWork, lot: str) -> Disposition:
    """The disposition of a batch: status, blockers, the review, the batch's own signatures and its audit trail."""
    with uow:
        _require_staff(uow, "read a batch's disposition")
        checked = _check(uow, lot)
        batch = checked.batch
        reviewed = batch_record_export.review_hash(batch.lot_number, checked.events)
        shown = signatures.views(uow.signatures.of(REVIEW_RECORD_TYPE, batch.lot_number), reviewed)
        disposed = uow.signatures.of(DISPOSITION_RECORD_TYPE, batch.lot_number)
        if disposed:
            content = batch_record_export.disposition_content(uow, batch.lot_number)
            current = batch_record_export.record_hash(batch.lot_number, content)
            shown += signatures.views(disposed, current)
        shown.sort(key=lambda view: view.signed_at)
        return Disposition(
            lot_number=batch.lot_number,
            status=batch.status,
            sponsor=batch.sponsor.name,
            blockers=tuple(checked.release),
            rejection_blockers=tuple(checked.rejection),
            review=checked.review,
            signatures=tuple(shown),
            events=tuple(checked.events),
        )


# Use cases ------------------------------------------------------------------------------------------------------


def _preflight(uow: UnitOfWork, lot: str, signer: str, action: domain.Action, what: str) -> _Checked:
    with uow:
        _require_staff(uow, what)
        _require_role(uow, signer, action, what)
        return _check(uow, lot)


@retry_on_race
def review_audit_trail(
    uow: UnitOfWork, lot: str, *, signer: str, credentials: Credentials, comment: str | None = None, now: Clock = utcnow
) -> Signature:
    """Sign the review of the batch's audit trail (REVIEWED); QA or the QP, for a batch in QC."""
    what = "review audit trails"
    checked = _preflight(uow, lot, signer, domain.Action.REVIEW_QUALITY, what)
    if checked.batch.status is not domain.BatchStatus.IN_QC:
        raise DomainError(
            f"the audit trail of batch {lot} is reviewed once the batch is in QC; it is {checked.batch.status.value}",
            field="status",
        )
    signatures.authenticate(uow, signer, credentials, now=now)
    at = now()
    with uow:
        _require_role(uow, signer, domain.Action.REVIEW_QUALITY, what)
        batch = visible_batch(uow, lot)
        if batch.status is not domain.BatchStatus.IN_QC:
            raise DomainError(f"batch {lot} is {batch.status.value}, no longer in QC", field="status")
        events = audit.batch_events(uow, batch.lot_number)
        content = batch_record_export.review_content(batch.lot_number, events)  # before the review's own events
        audit.record(
            uow,
            actor=signer,
            action=REVIEW,
            record_type=REVIEW_RECORD_TYPE,
            record_id=f"{batch.lot_number}/audit-review",
            field="events",
            new=content["events"],
            reason=comment,
            now=lambda: at,
        )
        signature = signatures.seal(
            uow,
            signer=signer,
            meaning=Meaning.REVIEWED,
            record_type=REVIEW_RECORD_TYPE,
            record_id=batch.lot_number,
            content=content,
            comment=comment,
            now=lambda: at,
        )
        uow.commit()
        return signature


def _dispose(
    uow: UnitOfWork,
    lot: str,
    *,
    signer: str,
    credentials: Credentials,
    meaning: Meaning,
    reason: str | None,
    now: Clock,
) -> Signature:
    releasing = meaning is Meaning.RELEASED
    what = "release batches" if releasing else "reject batches"
    done = "released" if releasing else "rejected"
    checked = _preflight(uow, lot, signer, domain.Action.DISPOSE_BATCHES, what)
    refused = checked.release if releasing else checked.rejection
    if refused:
        raise ReleaseRefused(lot, [blocker.text for blocker in refused], done)
    signatures.authenticate(uow, signer, credentials, now=now)
    at = now()
    with uow:
        _require_role(uow, signer, domain.Action.DISPOSE_BATCHES, what)
        again = _check(uow, lot)  # what may have changed since the preflight
        refused = again.release if releasing else again.rejection
        if refused:
            raise ReleaseRefused(lot, [blocker.text for blocker in refused], done)
        batch = again.batch
        content = batch_record_export.disposition_content(uow, batch.lot_number)
        before = batch.status
        if releasing:
            batch.release()
        else:
            batch.reject()
        audit.record(
            uow,
            actor=signer,
            action=RELEASE if releasing else REJECT,
            record_type=DISPOSITION_RECORD_TYPE,
            record_id=batch.lot_number,
            field="status",
            old=before.value,
            new=batch.status.value,
            reason=reason,
            now=lambda: at,
        )
        signature = signatures.seal(
            uow,
            signer=signer,
            meaning=meaning,
            record_type=DISPOSITION_RECORD_TYPE,
            record_id=batch.lot_number,
            content=content,
            comment=reason,
            now=lambda: at,
        )
        uow.commit()
        return signature


@retry_on_race
def release(uow: UnitOfWork, lot: str, *, signer: str, credentials: Credentials, now: Clock = utcnow) -> Signature:
    """The qualified person releases the batch by electronic signature (RELEASED over the batch record); refused
    with every reason (:class:`ReleaseRefused`) while :func:`blockers` lists any."""
    return _dispose(uow, lot, signer=signer, credentials=credentials, meaning=Meaning.RELEASED, reason=None, now=now)


def _reason(reason: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise DomainError("a rejection needs a reason", field="reason")
    if len(text) > MAX_REASON_LENGTH:
        raise DomainError(f"must be at most {MAX_REASON_LENGTH} characters", field="reason")
    return text


@retry_on_race
def reject(
    uow: UnitOfWork, lot: str, reason: str, *, signer: str, credentials: Credentials, now: Clock = utcnow
) -> Signature:
    """The qualified person rejects the batch by electronic signature (REJECTED, the reason as its comment); allowed
    with open deviations or failed QC, but only for a batch in QC whose audit trail review is current."""
    why = _reason(reason)
    return _dispose(uow, lot, signer=signer, credentials=credentials, meaning=Meaning.REJECTED, reason=why, now=now)
