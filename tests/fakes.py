"""In-memory fakes of the ports, for service tests that need no database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Generic, TypeVar

from opencdmo import domain
from opencdmo.domain.audit import GENESIS, AuditEvent, verify_chain
from opencdmo.errors import Conflict
from opencdmo.services.unit_of_work import UnitOfWork, commits

T = TypeVar("T")


class FakeCollection(Generic[T]):
    def __init__(self) -> None:
        self.items: list[T] = []

    def add(self, item: T, /) -> None:
        self.items.append(item)

    def list(self) -> list[T]:
        return list(self.items)


class FakeProcesses(FakeCollection[domain.ProcessTemplate]):
    def get(self, name: str) -> domain.ProcessTemplate | None:
        return next((process for process in self.items if process.name == name), None)


class FakeSites(FakeCollection[domain.Site]):
    def get(self, name: str) -> domain.Site | None:
        return next((site for site in self.items if site.name == name), None)

    def of_suite(self, suite_name: str) -> domain.Site | None:
        return next((site for site in self.items if any(suite.name == suite_name for suite in site.suites)), None)


class FakeSponsors(FakeCollection[domain.Sponsor]):
    def get(self, name: str) -> domain.Sponsor | None:
        return next((sponsor for sponsor in self.items if sponsor.name == name), None)


class FakePrograms(FakeCollection[domain.Program]):
    def named(self, name: str) -> list[domain.Program]:
        return [program for program in self.items if program.name == name]


class FakeOrders(FakeCollection[domain.Order]):
    def get(self, number: str) -> domain.Order | None:
        return next((order for order in self.items if order.number == number), None)

    def search(
        self,
        *,
        sponsor: str | None = None,
        batch_status: domain.BatchStatus | None = None,
        due_before: date | None = None,
    ) -> list[domain.Order]:
        return [
            order
            for order in self.items
            if (sponsor is None or order.sponsor.name == sponsor)
            and (batch_status is None or any(batch.status is batch_status for batch in order.batches))
            and (due_before is None or order.due_date < due_before)
        ]

    def upcoming(self, *, on_or_after: date, limit: int) -> list[domain.Order]:
        due = [
            order
            for order in self.items
            if order.due_date >= on_or_after and any(not batch.is_final for batch in order.batches)
        ]
        return sorted(due, key=lambda order: (order.due_date, order.number))[:limit]


class FakeBatches:
    def __init__(self, orders: FakeCollection[domain.Order]) -> None:
        self.orders = orders

    def _all(self) -> list[domain.Batch]:
        return [batch for order in self.orders.items for batch in order.batches]

    def get(self, lot_number: str) -> domain.Batch | None:
        return next((batch for batch in self._all() if batch.lot_number == lot_number), None)

    def count_by_status(self) -> Counter[domain.BatchStatus]:
        return Counter(batch.status for batch in self._all())

    def list(self, *, status: domain.BatchStatus | None = None, order: str | None = None) -> list[domain.Batch]:
        return [
            batch
            for batch in self._all()
            if (status is None or batch.status is status) and (order is None or batch.order.number == order)
        ]

    def lots_starting_with(self, prefix: str) -> set[str]:
        return {batch.lot_number for batch in self._all() if batch.lot_number.startswith(prefix)}


class FakeSchedules:
    def __init__(self) -> None:
        self.items: list[domain.ScheduleVersion] = []

    def add(self, version: domain.ScheduleVersion, /) -> None:
        self.items.append(version)

    def next_number(self) -> int:
        return max((version.number for version in self.items), default=0) + 1

    def get(self, number: int | None = None) -> domain.ScheduleVersion | None:
        if number is None:
            return max(self.items, key=lambda version: version.number, default=None)
        return next((version for version in self.items if version.number == number), None)

    def operations(self, version: domain.ScheduleVersion) -> list[domain.Operation]:
        return sorted(version.operations, key=lambda operation: operation.start)

    def operations_in(
        self,
        version: domain.ScheduleVersion,
        *,
        suite: str | None = None,
        order: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[domain.Operation]:
        return [
            operation
            for operation in self.operations(version)
            if (suite is None or operation.suite.name == suite)
            and (order is None or (operation.batch is not None and operation.batch.order.number == order))
            and (start is None or operation.end > start)
            and (end is None or operation.start < end)
        ]

    def placements(self, version: domain.ScheduleVersion) -> list[tuple[str, str, str, datetime, datetime]]:
        return [
            (operation.batch.lot_number, operation.step, operation.suite.name, operation.start, operation.end)
            for operation in self.operations(version)
            if operation.batch is not None
        ]

    def late_orders(self, version: domain.ScheduleVersion) -> list[tuple[str, str, date, datetime]]:
        finish: dict[domain.Order, datetime] = {}
        for operation in version.operations:
            batch = operation.batch
            if batch is not None and operation.late and batch.status is not domain.BatchStatus.CANCELLED:
                finish[batch.order] = max(finish.get(batch.order, operation.end), operation.end)
        rows = [(order.number, order.sponsor.name, order.due_date, end) for order, end in finish.items()]
        return sorted(rows, key=lambda row: (row[2], row[0]))

    def list(self) -> list[domain.ScheduleVersion]:
        return sorted(self.items, key=lambda version: version.number)


class FakeStore:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def row_counts(self) -> dict[str, int]:
        uow = self.uow
        orders = uow.orders.items
        return {
            "sites": len(uow.sites.items),
            "suites": sum(len(site.suites) for site in uow.sites.items),
            "product_families": len(uow.product_families.items),
            "process_templates": len(uow.processes.items),
            "sponsors": len(uow.sponsors.items),
            "programs": len(uow.programs.items),
            "orders": len(orders),
            "batches": sum(len(order.batches) for order in orders),
        }

    def is_empty(self) -> bool:
        return not any(self.row_counts().values())

    def clear(self, *, keep_sponsors: frozenset[str] = frozenset()) -> None:
        for collection in self.uow.collections():
            if collection is self.uow.sponsors:
                self.uow.sponsors.items[:] = [item for item in self.uow.sponsors.items if item.name in keep_sponsors]
            else:
                collection.items.clear()
        self.uow.schedules.items.clear()


class FakeAuditTrail:
    """Events in a list; a rollback drops those appended since the last commit."""

    def __init__(self) -> None:
        self.items: list[AuditEvent] = []

    def tail(self) -> tuple[int, str]:
        return (self.items[-1].sequence, self.items[-1].hash) if self.items else (0, GENESIS)

    def append(self, event: AuditEvent, /) -> None:
        self.items.append(event)

    def events(self, *, after: int = 0, batch_size: int = 10_000) -> Iterator[AuditEvent]:
        return iter([event for event in self.items if event.sequence > after])

    def chain_intact(self, *, batch_size: int = 10_000) -> bool:
        return verify_chain(self.items).intact

    def of_batch(self, lot_number: str) -> list[AuditEvent]:
        return [e for e in self.items if e.record_id == lot_number or e.record_id.startswith(f"{lot_number}/")]

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
    ) -> list[AuditEvent]:
        found = [
            event
            for event in self.items
            if (record_type is None or event.record_type == record_type)
            and (
                record_id is None
                or event.record_id == record_id
                or (record_tree and event.record_id.startswith(f"{record_id}/"))
            )
            and (username is None or event.username == username)
            and (since is None or event.occurred_at >= since)
            and (until is None or event.occurred_at < until)
            and (before is None or event.sequence < before)
        ]
        return (found[::-1] if newest_first else found)[:limit]


class FakeUnitOfWork(UnitOfWork):
    """Keeps records in lists; `committed` counts commits, and a rollback restores the last committed state."""

    def __init__(self) -> None:
        self.product_families: FakeCollection[domain.ProductFamily] = FakeCollection()
        self.processes = FakeProcesses()
        self.sites = FakeSites()
        self.sponsors = FakeSponsors()
        self.programs = FakePrograms()
        self.orders = FakeOrders()
        self.batches = FakeBatches(self.orders)
        self.schedules = FakeSchedules()
        self.store = FakeStore(self)
        self.audit = FakeAuditTrail()
        self.committed = 0
        self._snapshot = self._take_snapshot()

    def collections(self) -> list[FakeCollection[object]]:
        return [
            self.product_families,  # type: ignore[list-item]
            self.processes,  # type: ignore[list-item]
            self.sites,  # type: ignore[list-item]
            self.sponsors,  # type: ignore[list-item]
            self.programs,  # type: ignore[list-item]
            self.orders,  # type: ignore[list-item]
        ]

    def _take_snapshot(self) -> list[list[object]]:
        return [list(collection.items) for collection in self.collections()] + [
            list(self.audit.items),
            list(self.schedules.items),
        ]

    def commit(self) -> None:
        self.committed += 1
        self._snapshot = self._take_snapshot()
        commits.bump()

    def rollback(self) -> None:
        *snapshots, audit, schedules = self._snapshot
        for collection, items in zip(self.collections(), snapshots, strict=True):
            collection.items[:] = items
        self.audit.items[:] = audit  # type: ignore[assignment]
        self.schedules.items[:] = schedules  # type: ignore[assignment]


class FakeUsers:
    def __init__(self) -> None:
        self.items: list[domain.User] = []

    def add(self, user: domain.User, /) -> None:
        self.items.append(user)

    def get(self, username: str) -> domain.User | None:
        return next((user for user in self.items if user.username == username), None)

    def list(self) -> list[domain.User]:
        return list(self.items)


class FakeTokens:
    def __init__(self) -> None:
        self.items: list[domain.ApiToken] = []

    def add(self, token: domain.ApiToken, /) -> None:
        self.items.append(token)

    def find(self, token_hash: str) -> domain.ApiToken | None:
        return next((token for token in self.items if token.token_hash == token_hash), None)

    def of_user(self, user: domain.User) -> list[domain.ApiToken]:
        return [token for token in self.items if token.user is user]


class FakeSignatures:
    def __init__(self) -> None:
        self.items: list[domain.Signature] = []

    def add(self, signature: domain.Signature, /) -> None:
        self.items.append(signature)

    def of(self, record_type: str, record_id: str) -> list[domain.Signature]:
        found = [item for item in self.items if (item.record_type, item.record_id) == (record_type, record_id)]
        return sorted(found, key=lambda item: item.signed_at)

    def of_many(self, record_type: str, record_ids: Iterable[str]) -> dict[str, list[domain.Signature]]:
        result: dict[str, list[domain.Signature]] = {}
        for record_id in set(record_ids):
            found = self.of(record_type, record_id)
            if found:
                result[record_id] = found
        return result


class FakeAccountsUnitOfWork(FakeUnitOfWork):
    """The fake unit of work with users, tokens and signatures. A rollback forgets users, tokens and signatures
    added since the last commit; changes to loaded objects are not undone (services commit before raising when
    they must keep one)."""

    users: FakeUsers
    tokens: FakeTokens
    signatures: FakeSignatures
    audit: FakeAuditTrail

    def __init__(self) -> None:
        super().__init__()
        self.users = FakeUsers()
        self.tokens = FakeTokens()
        self.signatures = FakeSignatures()
        self.store = FakeAccountsStore(self)
        self._accounts: tuple[list[domain.User], list[domain.ApiToken], list[domain.Signature]] = ([], [], [])

    def commit(self) -> None:
        super().commit()
        self._accounts = (list(self.users.items), list(self.tokens.items), list(self.signatures.items))

    def rollback(self) -> None:
        super().rollback()
        users, tokens, signatures = self._accounts
        self.users.items[:] = users
        self.tokens.items[:] = tokens
        self.signatures.items[:] = signatures


class FakeAccountsStore(FakeStore):
    """Refuses to clear sponsors that sponsor users belong to, like the real store."""

    def __init__(self, uow: FakeAccountsUnitOfWork) -> None:
        super().__init__(uow)
        self.users = uow.users

    def clear(self, *, keep_sponsors: frozenset[str] = frozenset()) -> None:
        names = [
            user.username
            for user in self.users.items
            if user.sponsor is not None and user.sponsor.name not in keep_sponsors
        ]
        if names:
            raise Conflict(f"cannot replace the network while sponsor users exist ({', '.join(names)})")
        super().clear(keep_sponsors=keep_sponsors)


class FakeTraining:
    def __init__(self) -> None:
        self.items: list[domain.TrainingRecord] = []

    def add(self, record: domain.TrainingRecord, /) -> None:
        self.items.append(record)

    def _sorted(self, records: Iterable[domain.TrainingRecord]) -> list[domain.TrainingRecord]:
        return sorted(records, key=lambda r: (r.user.username, r.procedure, r.valid_until, r.trained_on))

    def of_user(self, username: str) -> list[domain.TrainingRecord]:
        return self._sorted(record for record in self.items if record.user.username == username)

    def of(self, username: str, procedure: str) -> list[domain.TrainingRecord]:
        return [record for record in self.of_user(username) if record.procedure == procedure]

    def list(self) -> list[domain.TrainingRecord]:
        return self._sorted(self.items)


class FakeTrainingUnitOfWork(FakeAccountsUnitOfWork):
    """The accounts fake with training records; a rollback forgets records added since the last commit."""

    training: FakeTraining

    def __init__(self) -> None:
        super().__init__()
        self.training = FakeTraining()
        self._training: list[domain.TrainingRecord] = []

    def commit(self) -> None:
        super().commit()
        self._training = list(self.training.items)

    def rollback(self) -> None:
        super().rollback()
        self.training.items[:] = self._training
