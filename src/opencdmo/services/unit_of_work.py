"""The unit of work: one transaction, the repositories that work inside it, and the caller's scope.

Use cases open it with ``with uow:``, read and write through its repositories and call :meth:`commit`;
leaving the block without committing rolls everything back, so a failed use case changes nothing.
"""

from __future__ import annotations

import abc
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from opencdmo import domain
from opencdmo.domain.audit import AuditEvent

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

    def search(
        self,
        *,
        record_type: str | None = None,
        record_id: str | None = None,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEvent]: ...


class CommitCount:
    """How many units of work this process has committed: readers that memoise answers (see
    :mod:`opencdmo.services.read_cache`) put it in their keys, so a commit makes every memoised answer stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def bump(self) -> None:
        with self._lock:
            self.count += 1


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

    @abc.abstractmethod
    def commit(self) -> None:
        """Make every change of this unit of work durable at once, then :meth:`CommitCount.bump` :data:`commits`."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard every change not yet committed (a no-op after commit)."""
