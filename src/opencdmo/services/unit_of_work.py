"""The unit of work: one transaction, the repositories that work inside it, and the caller's scope.

Use cases open it with ``with uow:``, read and write through its repositories and call :meth:`commit`;
leaving the block without committing rolls everything back, so a failed use case changes nothing.
"""

from __future__ import annotations

import abc
from collections import Counter
from types import TracebackType
from typing import Protocol, Self, TypeVar

from opencdmo import domain

T = TypeVar("T")


class Collection(Protocol[T]):
    """A repository that adds records and lists those the caller's scope may see, in insertion order."""

    def add(self, item: T, /) -> None: ...

    def list(self) -> list[T]: ...


class Orders(Collection[domain.Order], Protocol):
    def get(self, number: str) -> domain.Order | None:
        """The order with this number, or None when it is missing or another sponsor's."""
        ...


class BatchLookup(Protocol):
    def get(self, lot_number: str) -> domain.Batch | None: ...

    def count_by_status(self) -> Counter[domain.BatchStatus]: ...


class Schedules(Protocol):
    """Stored schedule versions; operations are read through :meth:`operations`, filtered by the caller's scope."""

    def add(self, version: domain.ScheduleVersion, /) -> None: ...

    def next_number(self) -> int: ...

    def get(self, number: int | None = None) -> domain.ScheduleVersion | None: ...

    def operations(self, version: domain.ScheduleVersion) -> list[domain.Operation]: ...

    def list(self) -> list[domain.ScheduleVersion]: ...


class Store(Protocol):
    """Whole-database questions: what is stored, and wiping it for a replacing import."""

    def row_counts(self) -> dict[str, int]: ...

    def is_empty(self) -> bool: ...

    def clear(self) -> None: ...


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


class UnitOfWork(abc.ABC):
    product_families: Collection[domain.ProductFamily]
    processes: Collection[domain.ProcessTemplate]
    sites: Collection[domain.Site]
    sponsors: Collection[domain.Sponsor]
    programs: Collection[domain.Program]
    orders: Orders
    batches: BatchLookup
    schedules: Schedules
    store: Store
    users: Users
    tokens: Tokens
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
        """Make every change of this unit of work durable at once."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard every change not yet committed (a no-op after commit)."""
