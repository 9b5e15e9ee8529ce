"""The batch record as one plain, read-only view: what an export (HTML, PDF, JSON) or a review page shows.

A use case builds a :class:`BatchRecordView` from the stored GMP records (master batch record and its approval,
executed steps with their entries and corrections, deviations with CAPA, QC results, signatures, the audit trail)
and hands it to a renderer in :mod:`opencdmo.adapters.exports`. The view knows nothing of storage, so the
renderers are tested on hand-built views and every record type is exported the same way (P11-02, A11-05).

Values are already what a reader sees: names, numbers as text with their unit apart, statuses as their words.
Times are UTC (an aware ``datetime``, or a naive one that is UTC by convention). Every signature is shown with
its full manifestation (P11-13, P11-14): :class:`SignatureLine` carries printed name, user id, meaning, time,
and whether its binding to the signed content still holds (P11-15).

Corrections never hide the original (ALCOA+ "original"): the original :class:`EntryLine` stays in
:attr:`BatchRecordView.entries` with ``superseded`` set, and the correction is a later entry whose ``corrects``
is the original's index, with a ``reason``. :attr:`BatchRecordView.changed_after_entry` is the statement a
release printout must make (A11-06).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

SCHEMA = "opencdmo.batch-record/1"
"""Names the layout of the JSON export; a change that breaks a reader gets a new number."""


@dataclass(frozen=True)
class SignatureLine:
    """One signature manifestation: who (printed name and user id), what it means, when; ``intact`` is False
    when the signed content changed after signing or the signature does not belong to this record."""

    printed_name: str
    username: str
    meaning: str
    signed_at: datetime
    comment: str | None
    intact: bool


@dataclass(frozen=True)
class EntryLine:
    """One recorded value of a step, an original entry or a correction of one."""

    step_position: int
    step_title: str
    parameter: str
    unit: str | None
    value: str
    spec: str | None
    in_spec: bool | None
    recorded_by: str
    recorded_at: datetime
    critical: bool
    corrects: int | None
    """Index (in :attr:`BatchRecordView.entries`) of the entry this one corrects; None for an original."""
    reason: str | None
    """Why the value was corrected (a correction only)."""
    superseded: bool
    """True when a later correction replaced this value; the original stays visible."""
    verification: SignatureLine | None


@dataclass(frozen=True)
class CapaLine:
    """One corrective or preventive action of a deviation."""

    description: str
    owner: str
    due_date: date
    status: str
    effectiveness: str | None


@dataclass(frozen=True)
class DeviationLine:
    """A deviation raised against the batch, with its investigation, CAPA and closure signature."""

    number: str
    severity: str
    status: str
    title: str
    description: str
    source: str | None
    opened_by: str
    opened_at: datetime
    investigation: str | None
    root_cause: str | None
    capa: tuple[CapaLine, ...]
    closure: SignatureLine | None


@dataclass(frozen=True)
class QcLine:
    """One QC result (or a test still without a result: ``value`` None); a voided result keeps its values and
    says why in ``voided_reason``."""

    test: str
    method: str
    value: str | None
    unit: str | None
    spec: str
    passed: bool | None
    instrument: str | None
    analyst: str | None
    recorded_at: datetime | None
    verification: SignatureLine | None
    voided_reason: str | None


@dataclass(frozen=True)
class AuditLine:
    """One audit-trail event of the batch record, in chain order."""

    sequence: int
    occurred_at: datetime
    username: str
    action: str
    record_type: str
    record_id: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclass(frozen=True)
class BatchRecordView:
    """The complete executed batch record of one lot, with its audit trail and signatures."""

    lot_number: str
    sponsor: str
    order_number: str
    process: str
    product_family: str
    master_record: str
    """The master batch record and its version, e.g. "mAb drug substance v2"."""
    master_approval: tuple[SignatureLine, ...]
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    entries: tuple[EntryLine, ...]
    deviations: tuple[DeviationLine, ...]
    qc: tuple[QcLine, ...]
    signatures: tuple[SignatureLine, ...]
    """The batch's own signatures: audit-trail review, release or rejection."""
    audit_trail: tuple[AuditLine, ...]
    audit_chain_intact: bool
    generated_at: datetime
    generated_by: str

    @property
    def corrections(self) -> int:
        """How many entries correct an earlier one."""
        return sum(1 for entry in self.entries if entry.corrects is not None)

    @property
    def changed_after_entry(self) -> bool:
        """Whether any value was corrected after its original entry (A11-06)."""
        return self.corrections > 0

    def all_signatures(self) -> Iterator[SignatureLine]:
        """Every signature anywhere in the record: master approval, verifications, closures, the batch's own."""
        yield from self.master_approval
        yield from (entry.verification for entry in self.entries if entry.verification is not None)
        yield from (deviation.closure for deviation in self.deviations if deviation.closure is not None)
        yield from (result.verification for result in self.qc if result.verification is not None)
        yield from self.signatures

    @property
    def broken_signatures(self) -> int:
        """How many signatures anywhere in the record are no longer bound to what was signed."""
        return sum(1 for signature in self.all_signatures() if not signature.intact)
