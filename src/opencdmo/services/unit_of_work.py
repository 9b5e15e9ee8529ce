"""The unit of work: one transaction, the repositories that work inside it, and the caller's scope.

Use cases open it with ``with uow:``, read and write through its repositories and call :meth:`commit`;
leaving the block without committing rolls everything back, so a failed use case changes nothing.
"""

from __future__ import annotations

import abc
import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from types import TracebackType
from typing import ParamSpec, Protocol, Self, TypeVar

from opencdmo import domain
from opencdmo.domain.audit import AuditEvent
from opencdmo.errors import WriteRace

T = TypeVar("T")


class Collection(Protocol[T]):
    """A repository that adds records and lists those the caller's scope may see, in insertion order."""

    def add(self, item: T, /) -> None: ...

    def list(self) -> list[T]: ...


class Processes(Collection[domain.ProcessTemplate], Protocol):
    def get(self, name: str) -> domain.ProcessTemplate | None: ...


class Sites(Collection[domain.Site], Protocol):
    def get(self, name: str) -> domain.Site | None:
        """The site with this name, with its suites."""
        ...

    def of_suite(self, suite_name: str) -> domain.Site | None:
        """The site that has the suite named ``suite_name``."""
        ...


class Sponsors(Collection[domain.Sponsor], Protocol):
    def get(self, name: str) -> domain.Sponsor | None:
        """The sponsor with this name, or None when it is missing or not the caller's."""
        ...


class Programs(Collection[domain.Program], Protocol):
    def named(self, name: str) -> list[domain.Program]:
        """The programs with this name the caller may see (names are unique per sponsor only)."""
        ...


class Orders(Collection[domain.Order], Protocol):
    def get(self, number: str) -> domain.Order | None:
        """The order with this number, or None when it is missing or another sponsor's."""
        ...

    def search(
        self,
        *,
        sponsor: str | None = None,
        batch_status: domain.BatchStatus | None = None,
        due_before: date | None = None,
    ) -> list[domain.Order]:
        """Orders of a sponsor (by name), having a batch in a status, due before a date; every filter optional."""
        ...

    def upcoming(self, *, on_or_after: date, limit: int) -> list[domain.Order]:
        """The next orders due from a date that still have a batch to finish, soonest first."""
        ...


class BatchLookup(Protocol):
    def get(self, lot_number: str) -> domain.Batch | None: ...

    def count_by_status(self) -> Counter[domain.BatchStatus]: ...

    def list(self, *, status: domain.BatchStatus | None = None, order: str | None = None) -> list[domain.Batch]: ...

    def lots_starting_with(self, prefix: str) -> set[str]: ...


class Schedules(Protocol):
    """Stored schedule versions; operations are read through :meth:`operations`, filtered by the caller's scope."""

    def add(self, version: domain.ScheduleVersion, /) -> None: ...

    def next_number(self) -> int: ...

    def get(self, number: int | None = None) -> domain.ScheduleVersion | None: ...

    def operations(self, version: domain.ScheduleVersion) -> list[domain.Operation]: ...

    def operations_in(
        self,
        version: domain.ScheduleVersion,
        *,
        suite: str | None = None,
        order: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[domain.Operation]:
        """The operations in a suite (by name), of an order (by number), overlapping a window; filters optional."""
        ...

    def placements(self, version: domain.ScheduleVersion) -> list[tuple[str, str, str, datetime, datetime]]:
        """(lot, step, suite, start, end) of each batch operation."""
        ...

    def late_orders(self, version: domain.ScheduleVersion) -> list[tuple[str, str, date, datetime]]:
        """(order number, sponsor name, due date, last finish) of each order with a late batch."""
        ...

    def list(self) -> list[domain.ScheduleVersion]: ...


class Store(Protocol):
    """Whole-database questions: what is stored, and wiping it for a replacing import."""

    def row_counts(self) -> dict[str, int]: ...

    def is_empty(self) -> bool: ...

    def clear(self, *, keep_sponsors: frozenset[str] = frozenset()) -> None:
        """Delete all but users and the sponsors named in ``keep_sponsors``; Conflict if one with users would go."""
        ...


class Users(Protocol):
    """Accounts; a sponsor's caller sees only its own sponsor's users."""

    def add(self, user: domain.User, /) -> None: ...

    def get(self, username: str) -> domain.User | None: ...

    def list(self) -> list[domain.User]: ...


class Tokens(Protocol):
    """API tokens, found by the digest of their secret (never by the secret itself)."""

    def add(self, token: domain.ApiToken, /) -> None: ...

    def find(self, token_hash: str) -> domain.ApiToken | None: ...

    def of_user(self, user: domain.User) -> list[domain.ApiToken]: ...


class AuditTrail(Protocol):
    """The append-only audit trail (see :mod:`opencdmo.services.audit`); reading it is for CDMO staff only."""

    def tail(self) -> tuple[int, str]:
        """(sequence, hash) of the last event, or (0, GENESIS); holds the append lock until the transaction ends."""
        ...

    def append(self, event: AuditEvent, /) -> None: ...

    def events(self, *, after: int = 0, batch_size: int = 10_000) -> Iterator[AuditEvent]: ...

    def chain_intact(self, *, batch_size: int = 10_000) -> bool:
        """Whether the whole chain verifies (yes or no only: any caller may ask)."""
        ...

    def of_batch(self, lot_number: str) -> list[AuditEvent]:
        """The events on a batch and every record under it (ids ``lot/...``), oldest first; staff or its sponsor."""
        ...

    def search(
        self,
        *,
        record_type: str | None = None,
        record_id: str | None = None,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        record_tree: bool = False,
        newest_first: bool = False,
        before: int | None = None,
    ) -> list[AuditEvent]: ...


class MasterRecords(Protocol):
    """Master batch record versions (CDMO staff data)."""

    def add(self, record: domain.MasterBatchRecord, /) -> None: ...

    def get(self, process: str, version: int) -> domain.MasterBatchRecord | None: ...

    def approved(self, process: str) -> domain.MasterBatchRecord | None:
        """The approved version new batches of the process start on, if any."""
        ...

    def versions(self, process: str) -> list[domain.MasterBatchRecord]: ...

    def next_version(self, process: str) -> int: ...

    def list(self) -> list[domain.MasterBatchRecord]: ...


class BatchRecords(Protocol):
    """Executed batch records, sponsor-scoped through their batch."""

    def add(self, record: domain.BatchRecord, /) -> None: ...

    def get(self, lot_number: str) -> domain.BatchRecord | None: ...

    def to_execute(self, lot_number: str) -> domain.BatchRecord | None:
        """The record with its entries for a write (CDMO staff only); its batch's order and program may load
        lazily, so it is for use inside the open unit of work."""
        ...

    def list(self, *, status: domain.BatchRecordStatus | None = None) -> list[domain.BatchRecord]: ...


class Deviations(Protocol):
    """Deviations with their CAPA actions; a sponsor's scope sees only those of its own batches."""

    def add(self, deviation: domain.Deviation, /) -> None: ...

    def get(self, number: str) -> domain.Deviation | None: ...

    def list(
        self, *, status: domain.DeviationStatus | None = None, lot_number: str | None = None
    ) -> list[domain.Deviation]: ...

    def numbers_starting_with(self, prefix: str) -> int: ...


class Instruments(Protocol):
    def add(self, instrument: domain.Instrument, /) -> None: ...

    def get(self, code: str) -> domain.Instrument | None: ...

    def list(self) -> list[domain.Instrument]: ...


class QcRecords(Protocol):
    """Release specifications per process and QC results per batch."""

    def add_specification(self, specification: domain.QcSpecification, /) -> None: ...

    def specification(self, process: str) -> domain.QcSpecification | None: ...

    def specifications(self) -> list[domain.QcSpecification]: ...

    def add_result(self, result: domain.QcResult, /) -> None: ...

    def result(self, result_id: int) -> domain.QcResult | None: ...

    def results(self, lot_number: str) -> list[domain.QcResult]: ...

    def results_awaiting_verification(self) -> list[domain.QcResult]: ...


class Signatures(Protocol):
    """Electronic signatures: append-only, read in signing order for a record the caller has already found."""

    def add(self, signature: domain.Signature, /) -> None: ...

    def of(self, record_type: str, record_id: str) -> list[domain.Signature]: ...

    def of_many(self, record_type: str, record_ids: Iterable[str]) -> dict[str, list[domain.Signature]]:
        """The signatures of each record id (records without any are left out)."""
        ...


class Training(Protocol):
    """Training records (P11-09), CDMO staff only; added, never changed."""

    def add(self, record: domain.TrainingRecord, /) -> None: ...

    def of_user(self, username: str) -> list[domain.TrainingRecord]:
        """The user's records by procedure, oldest validity first."""
        ...

    def of(self, username: str, procedure: str) -> list[domain.TrainingRecord]:
        """The user's records on one procedure, oldest validity first."""
        ...

    def list(self) -> list[domain.TrainingRecord]:
        """Every record, by username and procedure."""
        ...


class CommitCount:
    """How many units of work this process has committed: readers that memoise answers (see
    :mod:`opencdmo.services.read_cache`) put it in their keys, so a commit makes every memoised answer stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def bump(self) -> None:
        with self._lock:
            self.count += 1


WRITE_ATTEMPTS = 20

P = ParamSpec("P")
R = TypeVar("R")


def retry_on_race(use_case: Callable[P, R]) -> Callable[P, R]:
    """Run a write use case again when it lost a :class:`WriteRace` (SQLite takes one writer at a time).

    Safe because a use case that raised stored nothing and has no effect outside its unit of work. Waits a
    random, growing while (up to 50 ms) between attempts so racing writers spread out; gives up after
    :data:`WRITE_ATTEMPTS` and lets the last race through (the caller sees 409 Conflict).
    """

    @functools.wraps(use_case)
    def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
        for tries in range(1, WRITE_ATTEMPTS + 1):
            try:
                return use_case(*args, **kwargs)
            except WriteRace:
                if tries == WRITE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**tries)))
        raise AssertionError("unreachable")

    return attempt


commits = CommitCount()
"""The process's one commit counter; every unit of work's successful :meth:`UnitOfWork.commit` bumps it."""


class UnitOfWork(abc.ABC):
    product_families: Collection[domain.ProductFamily]
    processes: Processes
    sites: Sites
    sponsors: Sponsors
    programs: Programs
    orders: Orders
    batches: BatchLookup
    schedules: Schedules
    store: Store
    users: Users
    tokens: Tokens
    audit: AuditTrail
    training: Training
    signatures: Signatures
    master_records: MasterRecords
    batch_records: BatchRecords
    deviations: Deviations
    instruments: Instruments
    qc: QcRecords
    # Whose data this unit of work sees: a sponsor's id, or None for CDMO staff (every sponsor).
    sponsor_id: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def reread(self) -> None:  # noqa: B027 (a no-op by default, on purpose: fakes keep no copies)
        """Send this unit of work's changes to the database (not committed) and forget what was loaded, so that the
        next reads return what the database stores rather than the objects in memory (a check of a write, such as
        a checked import, reads back this way before it commits). A no-op for stores that keep no copies."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Make every change of this unit of work durable at once, then :meth:`CommitCount.bump` :data:`commits`."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard every change not yet committed (a no-op after commit)."""
