"""Repositories: the only code that queries tables. Sponsor-owned queries are filtered by the caller's scope.

A :class:`Scope` says whose rows the caller may see: CDMO staff see every sponsor; a sponsor user only their
own. The filter is applied here, where data is queried, so no list, count or export can leak another
sponsor's rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from opencdmo import domain
from opencdmo.adapters import orm
from opencdmo.domain.audit import GENESIS, AuditEvent, verify_chain
from opencdmo.errors import Conflict, Forbidden


@dataclass(frozen=True)
class Scope:
    """Whose data a caller may see. ``sponsor_id=None`` means every sponsor (CDMO staff)."""

    sponsor_id: int | None = None

    @classmethod
    def staff(cls) -> Scope:
        return cls(sponsor_id=None)

    def filter(self, statement: Select[Any], sponsor_column: Any) -> Select[Any]:
        return statement if self.sponsor_id is None else statement.where(sponsor_column == self.sponsor_id)

    def require_staff(self, action: str) -> None:
        if self.sponsor_id is not None:
            raise Forbidden(f"only CDMO staff may {action}")

    def require_owner(self, sponsor: domain.Sponsor, action: str) -> None:
        """A sponsor may only write its own records; staff may write anyone's."""
        if self.sponsor_id is not None and sponsor.id != self.sponsor_id:
            raise Forbidden(f"a sponsor may only {action} of its own")


class SqlAlchemyRepository:
    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope

    def _all(self, statement: Select[Any]) -> list[Any]:
        return list(self.session.scalars(statement).unique())


class ProductFamilyRepository(SqlAlchemyRepository):
    def add(self, family: domain.ProductFamily) -> None:
        self.scope.require_staff("add product families")
        self.session.add(family)

    def list(self) -> list[domain.ProductFamily]:
        return self._all(select(domain.ProductFamily).order_by(orm.product_families.c.id))


class ProcessRepository(SqlAlchemyRepository):
    def add(self, process: domain.ProcessTemplate) -> None:
        self.scope.require_staff("add processes")
        self.session.add(process)

    def list(self) -> list[domain.ProcessTemplate]:
        statement = (
            select(domain.ProcessTemplate)
            .options(
                selectinload(orm.attribute(domain.ProcessTemplate, "stages")).selectinload(
                    orm.attribute(domain.Stage, "suite_durations")
                )
            )
            .order_by(orm.process_templates.c.id)
        )
        return self._all(statement)

    def get(self, name: str) -> domain.ProcessTemplate | None:
        """The process template with this name, with its stages and their suite durations."""
        found: list[domain.ProcessTemplate] = [process for process in self.list() if process.name == name]
        return found[0] if found else None


class SiteRepository(SqlAlchemyRepository):
    def add(self, site: domain.Site) -> None:
        self.scope.require_staff("add sites")
        self.session.add(site)

    def _select(self) -> Select[Any]:
        suites = selectinload(orm.attribute(domain.Site, "suites"))
        return select(domain.Site).options(
            suites.selectinload(orm.attribute(domain.Suite, "changeovers")),
            suites.selectinload(orm.attribute(domain.Suite, "downtime")),
        )

    def list(self) -> list[domain.Site]:
        return self._all(self._select().order_by(orm.sites.c.id))

    def get(self, name: str) -> domain.Site | None:
        """The site with this name, with its suites, their changeovers and their downtime."""
        found: list[domain.Site] = self._all(self._select().where(orm.sites.c.name == name))
        return found[0] if found else None

    def of_suite(self, suite_name: str) -> domain.Site | None:
        """The site that has the suite named ``suite_name`` (suite names are unique in the network)."""
        holder = select(orm.suites.c.site_id).where(orm.suites.c.name == suite_name).scalar_subquery()
        found: list[domain.Site] = self._all(self._select().where(orm.sites.c.id == holder))
        return found[0] if found else None


class SponsorRepository(SqlAlchemyRepository):
    def add(self, sponsor: domain.Sponsor) -> None:
        self.scope.require_staff("add sponsors")
        self.session.add(sponsor)

    def list(self) -> list[domain.Sponsor]:
        statement = select(domain.Sponsor).order_by(orm.sponsors.c.id)
        return self._all(self.scope.filter(statement, orm.sponsors.c.id))

    def get(self, name: str) -> domain.Sponsor | None:
        """The sponsor with this name, or None when it is missing or not the caller's."""
        statement = select(domain.Sponsor).where(orm.sponsors.c.name == name)
        found: list[domain.Sponsor] = self._all(self.scope.filter(statement, orm.sponsors.c.id))
        return found[0] if found else None


class ProgramRepository(SqlAlchemyRepository):
    def add(self, program: domain.Program) -> None:
        self.scope.require_owner(program.sponsor, "add programs")
        self.session.add(program)

    def named(self, name: str) -> list[domain.Program]:
        """The programs called ``name`` the caller may see: names are unique per sponsor, not network-wide."""
        statement = select(domain.Program).where(orm.programs.c.name == name).order_by(orm.programs.c.id)
        return self._all(self.scope.filter(statement, orm.programs.c.sponsor_id))

    def list(self) -> list[domain.Program]:
        statement = select(domain.Program).order_by(orm.programs.c.id)
        return self._all(self.scope.filter(statement, orm.programs.c.sponsor_id))


class OrderRepository(SqlAlchemyRepository):
    def add(self, order: domain.Order) -> None:
        self.scope.require_owner(order.sponsor, "add orders")
        self.session.add(order)

    def _select(self) -> Select[Any]:
        statement = select(domain.Order).options(selectinload(orm.attribute(domain.Order, "batches")))
        return self.scope.filter(statement, orm.orders.c.sponsor_id)

    def get(self, number: str) -> domain.Order | None:
        found: list[domain.Order] = self._all(self._select().where(orm.orders.c.number == number))
        return found[0] if found else None

    def search(
        self,
        *,
        sponsor: str | None = None,
        batch_status: domain.BatchStatus | None = None,
        due_before: date | None = None,
    ) -> list[domain.Order]:
        """Orders of the sponsor named ``sponsor``, with a batch in ``batch_status``, due before ``due_before``."""
        statement = self._select()
        if sponsor is not None:
            sponsor_id = select(orm.sponsors.c.id).where(orm.sponsors.c.name == sponsor).scalar_subquery()
            statement = statement.where(orm.orders.c.sponsor_id == sponsor_id)
        if batch_status is not None:
            statement = statement.where(_has_batch(orm.batches.c.status == batch_status))
        if due_before is not None:
            statement = statement.where(orm.orders.c.due_date < due_before)
        return self._all(statement.order_by(orm.orders.c.id))

    def upcoming(self, *, on_or_after: date, limit: int) -> list[domain.Order]:
        """The next orders due from ``on_or_after`` that still have a batch to finish, soonest first."""
        unfinished = orm.batches.c.status.not_in([status.value for status in domain.FINAL_STATUSES])
        statement = (
            self._select()
            .where(orm.orders.c.due_date >= on_or_after, _has_batch(unfinished))
            .order_by(orm.orders.c.due_date, orm.orders.c.number)
            .limit(limit)
        )
        return self._all(statement)

    def list(self) -> list[domain.Order]:
        return self._all(self._select().order_by(orm.orders.c.id))


def _has_batch(condition: Any) -> Any:
    """Orders having at least one batch that meets ``condition``."""
    return exists().where(orm.batches.c.order_id == orm.orders.c.id, condition)


class BatchRepository(SqlAlchemyRepository):
    def get(self, lot_number: str) -> domain.Batch | None:
        statement = select(domain.Batch).where(orm.batches.c.lot_number == lot_number)
        found: list[domain.Batch] = self._all(self.scope.filter(statement, orm.batches.c.sponsor_id))
        return found[0] if found else None

    def count_by_status(self) -> Counter[domain.BatchStatus]:
        statement = self.scope.filter(
            select(orm.batches.c.status, func.count()).group_by(orm.batches.c.status),
            orm.batches.c.sponsor_id,
        )
        return Counter({domain.BatchStatus(status): int(count) for status, count in self.session.execute(statement)})

    def list(self, *, status: domain.BatchStatus | None = None, order: str | None = None) -> list[domain.Batch]:
        """Batches the caller may see; only those in ``status``, or of the order numbered ``order``, if given."""
        statement = select(domain.Batch)
        if status is not None:
            statement = statement.where(orm.batches.c.status == status)
        if order is not None:
            order_id = select(orm.orders.c.id).where(orm.orders.c.number == order).scalar_subquery()
            statement = statement.where(orm.batches.c.order_id == order_id)
        statement = self.scope.filter(statement.order_by(orm.batches.c.id), orm.batches.c.sponsor_id)
        return self._all(statement)

    def lots_starting_with(self, prefix: str) -> set[str]:
        """Lot numbers in use that start with ``prefix``, to name new batches without a clash."""
        lots = orm.batches.c.lot_number
        statement = self.scope.filter(
            select(lots).where(lots.startswith(prefix, autoescape=True)), orm.batches.c.sponsor_id
        )
        return set(self.session.scalars(statement))


# Children before parents, so deleting everything never trips a foreign key.
_TABLES_TO_CLEAR = (
    orm.schedule_operations,
    orm.schedule_suite_loads,
    orm.schedule_versions,
    orm.batches,
    orm.orders,
    orm.programs,
    orm.sponsors,
    orm.stage_suite_durations,
    orm.process_stages,
    orm.process_templates,
    orm.changeover_rules,
    orm.downtime_windows,
    orm.suites,
    orm.sites,
    orm.product_families,
)


class ScenarioStore(SqlAlchemyRepository):
    """Whole-database questions for import and status; only CDMO staff may use it."""

    def row_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in _TABLES_TO_CLEAR:
            statement = select(func.count()).select_from(table)
            if table in orm.SPONSOR_OWNED_TABLES:
                statement = self.scope.filter(statement, table.c.sponsor_id)
            elif table is orm.sponsors:
                statement = self.scope.filter(statement, table.c.id)
            counts[table.name] = int(self.session.scalar(statement) or 0)
        return counts

    def is_empty(self) -> bool:
        return not any(self.row_counts().values())

    def clear(self, *, keep_sponsors: Collection[str] = ()) -> None:
        """Delete the network, order book and plans; users stay, and so do the sponsors named in ``keep_sponsors``.

        A kept sponsor keeps its row and id, so the users bound to it stay bound; a sponsor that goes while
        users belong to it is refused (:class:`Conflict`), and nothing is deleted.
        """
        self.scope.require_staff("clear the database")
        held = [table.name for table in orm.GMP_TABLES if self.session.scalar(select(func.count()).select_from(table))]
        if held:
            raise Conflict(
                f"the database holds GMP records ({', '.join(held)}), which are never deleted: "
                "import into a new database instead"
            )
        kept = sorted(set(keep_sponsors))
        _refuse_to_clear_sponsors_with_users(self.session, keep=kept)
        for table in _TABLES_TO_CLEAR:
            statement = delete(table)
            if table is orm.sponsors and kept:
                statement = statement.where(orm.sponsors.c.name.not_in(kept))
            self.session.execute(statement)
        self.session.expunge_all()


class ScheduleRepository(SqlAlchemyRepository):
    """Schedule versions. Their operations are sponsor-owned and are read only through :meth:`operations`."""

    def add(self, version: domain.ScheduleVersion) -> None:
        # A sponsor sees only its own operations, so a plan made in its scope would be a partial plan.
        self.scope.require_staff("store schedule versions")
        self.session.add(version)

    def next_number(self) -> int:
        return int(self.session.scalar(select(func.max(orm.schedule_versions.c.number))) or 0) + 1

    def get(self, number: int | None = None) -> domain.ScheduleVersion | None:
        """Version ``number``, or the newest one when it is None."""
        statement = select(domain.ScheduleVersion)
        if number is None:
            statement = statement.order_by(orm.schedule_versions.c.number.desc()).limit(1)
        else:
            statement = statement.where(orm.schedule_versions.c.number == number)
        found: list[domain.ScheduleVersion] = self._all(statement)
        return found[0] if found else None

    def operations(self, version: domain.ScheduleVersion) -> list[domain.Operation]:
        """The version's operations the caller may see (a sponsor sees its own batches, not the cleaning)."""
        statement = (
            select(domain.Operation)
            .where(orm.schedule_operations.c.version_id == version.id)
            .order_by(orm.schedule_operations.c.start_at, orm.schedule_operations.c.id)
        )
        return self._all(self.scope.filter(statement, orm.schedule_operations.c.sponsor_id))

    def operations_in(
        self,
        version: domain.ScheduleVersion,
        *,
        suite: str | None = None,
        order: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[domain.Operation]:
        """The version's operations the caller may see, loaded with their batches and suites in one query: only
        those in the suite named ``suite``, of the order numbered ``order``, overlapping ``start``..``end``."""
        ops = orm.schedule_operations
        statement = (
            select(domain.Operation)
            .options(
                joinedload(orm.attribute(domain.Operation, "suite")),
                joinedload(orm.attribute(domain.Operation, "batch")),
            )
            .where(ops.c.version_id == version.id)
        )
        if suite is not None:
            suite_id = select(orm.suites.c.id).where(orm.suites.c.name == suite).scalar_subquery()
            statement = statement.where(ops.c.suite_id == suite_id)
        if order is not None:
            order_id = select(orm.orders.c.id).where(orm.orders.c.number == order).scalar_subquery()
            statement = statement.where(
                ops.c.batch_id.in_(select(orm.batches.c.id).where(orm.batches.c.order_id == order_id))
            )
        if start is not None:
            statement = statement.where(ops.c.end_at > start)
        if end is not None:
            statement = statement.where(ops.c.start_at < end)
        return self._all(self.scope.filter(statement.order_by(ops.c.start_at, ops.c.id), ops.c.sponsor_id))

    def placements(self, version: domain.ScheduleVersion) -> list[tuple[str, str, str, datetime, datetime]]:
        """(lot, step, suite, start, end) of each batch operation of the version the caller may see."""
        ops = orm.schedule_operations
        statement = (
            select(orm.batches.c.lot_number, ops.c.step, orm.suites.c.name, ops.c.start_at, ops.c.end_at)
            .select_from(ops)
            .join(orm.batches, orm.batches.c.id == ops.c.batch_id)
            .join(orm.suites, orm.suites.c.id == ops.c.suite_id)
            .where(ops.c.version_id == version.id)
            .order_by(ops.c.start_at, ops.c.id)
        )
        rows = self.session.execute(self.scope.filter(statement, ops.c.sponsor_id))
        return [(lot, step, suite, start, end) for lot, step, suite, start, end in rows]

    def late_orders(self, version: domain.ScheduleVersion) -> list[tuple[str, str, date, datetime]]:
        """(order number, sponsor name, due date, last finish) of each order with a late batch (not cancelled since)
        in the version, as far as the caller may see; soonest due first."""
        ops = orm.schedule_operations
        statement = (
            select(orm.orders.c.number, orm.sponsors.c.name, orm.orders.c.due_date, func.max(ops.c.end_at))
            .select_from(ops)
            .join(orm.batches, orm.batches.c.id == ops.c.batch_id)
            .join(orm.orders, orm.orders.c.id == orm.batches.c.order_id)
            .join(orm.sponsors, orm.sponsors.c.id == orm.orders.c.sponsor_id)
            .where(
                ops.c.version_id == version.id,
                ops.c.late.is_(True),
                orm.batches.c.status != domain.BatchStatus.CANCELLED.value,
            )
            .group_by(orm.orders.c.number, orm.sponsors.c.name, orm.orders.c.due_date)
            .order_by(orm.orders.c.due_date, orm.orders.c.number)
        )
        rows = self.session.execute(self.scope.filter(statement, ops.c.sponsor_id))
        return [(number, sponsor, due, finish) for number, sponsor, due, finish in rows]

    def list(self) -> list[domain.ScheduleVersion]:
        return self._all(select(domain.ScheduleVersion).order_by(orm.schedule_versions.c.number))


def _refuse_to_clear_sponsors_with_users(session: Session, *, keep: Collection[str] = ()) -> None:
    """Users survive a replacing import, but a sponsor user cannot outlive its sponsor: refuse instead.

    Detaching the user would leave a sponsor user without a sponsor, whose scope would be everything. Sponsors
    named in ``keep`` stay, so their users are no obstacle.
    """
    statement = (
        select(orm.users.c.username, orm.sponsors.c.name)
        .join(orm.sponsors, orm.users.c.sponsor_id == orm.sponsors.c.id)
        .order_by(orm.sponsors.c.name, orm.users.c.username)
    )
    if keep:
        statement = statement.where(orm.sponsors.c.name.not_in(list(keep)))
    bound = [(str(username), str(name)) for username, name in session.execute(statement)]
    if bound:
        users = [username for username, _ in bound]
        sponsors = sorted({name for _, name in bound})
        shown = ", ".join(users[:5]) + (", ..." if len(users) > 5 else "")
        raise Conflict(
            f"cannot replace the network without the sponsor(s) {', '.join(sponsors)}: sponsor users exist "
            f"({shown}) and belong to them, and users are deactivated, never deleted; keep these sponsors "
            "in the new scenario"
        )


class UserRepository(SqlAlchemyRepository):
    """Users. A sponsor's caller sees only its own sponsor's users; only staff may add users."""

    def add(self, user: domain.User) -> None:
        self.scope.require_staff("manage users")
        self.session.add(user)

    def get(self, username: str) -> domain.User | None:
        statement = select(domain.User).where(orm.users.c.username == username)
        found: list[domain.User] = self._all(self.scope.filter(statement, orm.users.c.sponsor_id))
        return found[0] if found else None

    def list(self) -> list[domain.User]:
        statement = select(domain.User).order_by(orm.users.c.id)
        return self._all(self.scope.filter(statement, orm.users.c.sponsor_id))


class TokenRepository(SqlAlchemyRepository):
    """API tokens, found by the digest of their secret. Resolving a token runs with staff scope."""

    def add(self, token: domain.ApiToken) -> None:
        self.scope.require_staff("issue tokens")
        self.session.add(token)

    def find(self, token_hash: str) -> domain.ApiToken | None:
        statement = select(domain.ApiToken).where(orm.api_tokens.c.token_hash == token_hash)
        found: list[domain.ApiToken] = self._all(statement)
        return found[0] if found else None

    def of_user(self, user: domain.User) -> list[domain.ApiToken]:
        statement = select(domain.ApiToken).where(orm.api_tokens.c.user_id == user.id).order_by(orm.api_tokens.c.id)
        return self._all(statement)


# Any constant shared by every writer: the key of the PostgreSQL advisory lock that serialises audit appends.
AUDIT_LOCK_KEY = 0x0A0D17_0001
# Built once, so every append reuses the compiled statements.
_AUDIT_INSERT = insert(orm.audit_events)
_AUDIT_TAIL = (
    select(orm.audit_events.c.sequence, orm.audit_events.c.hash).order_by(orm.audit_events.c.sequence.desc()).limit(1)
)


def _audit_event(row: Any) -> AuditEvent:
    """An event from a row of :attr:`AuditRepository._COLUMNS`."""
    return AuditEvent(
        sequence=row[0],
        occurred_at=row[1],
        username=row[2],
        action=row[3],
        record_type=row[4],
        record_id=row[5],
        field=row[6],
        old_value=row[7],
        new_value=row[8],
        reason=row[9],
        previous_hash=row[10],
        hash=row[11],
    )


class TrainingRepository(SqlAlchemyRepository):
    """Training records (P11-09): CDMO staff only, since they name staff and their procedures. Added, never changed."""

    def add(self, record: domain.TrainingRecord) -> None:
        self.scope.require_staff("record training")
        self.session.add(record)

    def _select(self) -> Select[Any]:
        self.scope.require_staff("read training records")
        table = orm.training_records
        return (
            select(domain.TrainingRecord)
            .join(orm.users, orm.users.c.id == table.c.user_id)
            .order_by(orm.users.c.username, table.c.procedure, table.c.valid_until, table.c.trained_on, table.c.id)
        )

    def of_user(self, username: str) -> list[domain.TrainingRecord]:
        """The user's records by procedure, oldest validity first."""
        return self._all(self._select().where(orm.users.c.username == username))

    def of(self, username: str, procedure: str) -> list[domain.TrainingRecord]:
        """The user's records on one procedure, oldest validity first."""
        return self._all(
            self._select().where(orm.users.c.username == username, orm.training_records.c.procedure == procedure)
        )

    def list(self) -> list[domain.TrainingRecord]:
        """Every record, by user and procedure."""
        return self._all(self._select())


class AuditRepository(SqlAlchemyRepository):
    """The append-only audit trail, read and written with Core in the unit of work's transaction.

    Appending is safe under concurrent writers. On PostgreSQL :meth:`tail` first takes a transaction-scoped
    advisory lock, so the next writer waits until this transaction ends and then reads the new tail. On SQLite
    the database has one writer at a time: a second transaction that read the same tail cannot write until the
    first ends and then fails (database locked, or the sequence number, the primary key, is taken), so the
    chain never forks; the loser's whole unit of work rolls back and can be retried.
    Reading the trail is for CDMO staff only: events name every sponsor's records.
    """

    _COLUMNS = (
        orm.audit_events.c.sequence,
        orm.audit_events.c.occurred_at,
        orm.audit_events.c.username,
        orm.audit_events.c.action,
        orm.audit_events.c.record_type,
        orm.audit_events.c.record_id,
        orm.audit_events.c.field,
        orm.audit_events.c.old_value,
        orm.audit_events.c.new_value,
        orm.audit_events.c.reason,
        orm.audit_events.c.previous_hash,
        orm.audit_events.c.hash,
    )

    def __init__(self, session: Session, scope: Scope) -> None:
        super().__init__(session, scope)
        self._tail: tuple[int, str] | None = None

    def tail(self) -> tuple[int, str]:
        """(sequence, hash) of the last event, (0, GENESIS) when there is none; locks the tail on PostgreSQL."""
        if self._tail is None:
            if self.session.get_bind().dialect.name == "postgresql":
                self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
            row = self.session.execute(_AUDIT_TAIL).first()
            self._tail = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
        return self._tail

    def append(self, event: AuditEvent) -> None:
        """Store an event sealed on :meth:`tail` (refused if it is not the next one)."""
        sequence, last_hash = self.tail()
        if event.sequence != sequence + 1 or event.previous_hash != last_hash:
            raise ValueError(f"audit event {event.sequence} does not follow event {sequence}")
        self.session.execute(_AUDIT_INSERT, {column.name: getattr(event, column.name) for column in self._COLUMNS})
        self._tail = (event.sequence, event.hash)

    def forget_tail(self) -> None:
        """Drop the remembered tail (the transaction ended)."""
        self._tail = None

    def events(self, *, after: int = 0, batch_size: int = 10_000) -> Iterator[AuditEvent]:
        """Every event after sequence ``after``, in sequence order, read ``batch_size`` at a time."""
        self.scope.require_staff("read the audit trail")
        yield from self._stream(after, batch_size)

    def chain_intact(self, *, batch_size: int = 10_000) -> bool:
        """Whether the whole stored chain verifies. Answers yes or no only, so any caller may ask: a sponsor's
        export of its batch record says whether the events it shows belong to an intact chain."""
        return verify_chain(self._stream(0, batch_size)).intact

    def of_batch(self, lot_number: str) -> list[AuditEvent]:
        """The batch's trail, oldest first: events whose record id is the lot number or starts with it and a
        '/' (its batch record, entries, deviations, QC results, disposition), less those of another batch whose
        lot number starts so. Staff, or the batch's own sponsor (whose scope finds no other sponsor's batch)."""
        table, batches = orm.audit_events, orm.batches
        if self.scope.sponsor_id is not None:
            owned = select(batches.c.id).where(
                batches.c.lot_number == lot_number, batches.c.sponsor_id == self.scope.sponsor_id
            )
            if self.session.scalar(owned) is None:
                raise Forbidden("a sponsor reads the audit trail of its own batches only")
        prefix = f"{lot_number}/"
        nested = tuple(
            f"{lot}/"
            for lot in self.session.scalars(
                select(batches.c.lot_number).where(batches.c.lot_number.startswith(prefix, autoescape=True))
            )
        )
        statement = (
            select(*self._COLUMNS)
            .where(or_(table.c.record_id == lot_number, table.c.record_id.startswith(prefix, autoescape=True)))
            .order_by(table.c.sequence)
        )
        events = [_audit_event(row) for row in self.session.execute(statement)]
        if not nested:
            return events
        return [
            event
            for event in events
            if not any(f"{event.record_id}/" == lot or event.record_id.startswith(lot) for lot in nested)
        ]

    def _stream(self, after: int, batch_size: int) -> Iterator[AuditEvent]:
        table = orm.audit_events
        last = after
        while True:
            rows = self.session.execute(
                select(*self._COLUMNS).where(table.c.sequence > last).order_by(table.c.sequence).limit(batch_size)
            ).all()
            for row in rows:
                yield _audit_event(row)
            if len(rows) < batch_size:
                return
            last = int(rows[-1][0])

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
        """Events matching every given filter, oldest first (or newest first); ``since`` inclusive, ``until``
        exclusive; ``record_tree``: the record ``record_id`` and every record under it (ids ``record_id/...``);
        ``before``: only events with a lower sequence number (the next page of a newest-first list)."""
        self.scope.require_staff("read the audit trail")
        table = orm.audit_events
        order = table.c.sequence.desc() if newest_first else table.c.sequence
        statement = select(*self._COLUMNS).order_by(order).limit(limit)
        if record_type is not None:
            statement = statement.where(table.c.record_type == record_type)
        if record_id is not None and record_tree:
            statement = statement.where(
                or_(table.c.record_id == record_id, table.c.record_id.startswith(f"{record_id}/", autoescape=True))
            )
        elif record_id is not None:
            statement = statement.where(table.c.record_id == record_id)
        if before is not None:
            statement = statement.where(table.c.sequence < before)
        if username is not None:
            statement = statement.where(table.c.username == username)
        if since is not None:
            statement = statement.where(table.c.occurred_at >= since)
        if until is not None:
            statement = statement.where(table.c.occurred_at < until)
        return [_audit_event(row) for row in self.session.execute(statement)]


# GMP records (issue 6). Batch records, deviations and QC results are sponsor-owned through their batch: a
# sponsor's scope sees only its own batches' records (the services add when: only once released).


def _of_visible_batches(scope: Scope, statement: Select[Any], batch_column: Any) -> Select[Any]:
    if scope.sponsor_id is None:
        return statement
    owned = select(orm.batches.c.id).where(orm.batches.c.sponsor_id == scope.sponsor_id)
    return statement.where(batch_column.in_(owned))


class MasterRecordRepository(SqlAlchemyRepository):
    def add(self, record: domain.MasterBatchRecord) -> None:
        self.scope.require_staff("write master batch records")
        self.session.add(record)

    def _of_process(self, process: str) -> Select[Any]:
        process_id = select(orm.process_templates.c.id).where(orm.process_templates.c.name == process)
        return select(domain.MasterBatchRecord).where(
            orm.master_batch_records.c.process_id == process_id.scalar_subquery()
        )

    def get(self, process: str, version: int) -> domain.MasterBatchRecord | None:
        statement = self._of_process(process).where(orm.master_batch_records.c.version == version)
        found: list[domain.MasterBatchRecord] = self._all(statement)
        return found[0] if found else None

    def approved(self, process: str) -> domain.MasterBatchRecord | None:
        """The version of a process's master record that new batches start on."""
        statement = self._of_process(process).where(
            orm.master_batch_records.c.status == domain.MasterRecordStatus.APPROVED
        )
        found: list[domain.MasterBatchRecord] = self._all(statement)
        return found[0] if found else None

    def versions(self, process: str) -> list[domain.MasterBatchRecord]:
        return self._all(self._of_process(process).order_by(orm.master_batch_records.c.version))

    def next_version(self, process: str) -> int:
        process_id = select(orm.process_templates.c.id).where(orm.process_templates.c.name == process)
        statement = select(func.max(orm.master_batch_records.c.version)).where(
            orm.master_batch_records.c.process_id == process_id.scalar_subquery()
        )
        return int(self.session.scalar(statement) or 0) + 1

    def list(self) -> list[domain.MasterBatchRecord]:
        return self._all(
            select(domain.MasterBatchRecord).order_by(
                orm.master_batch_records.c.process_id, orm.master_batch_records.c.version
            )
        )


class BatchRecordRepository(SqlAlchemyRepository):
    def add(self, record: domain.BatchRecord) -> None:
        self.scope.require_staff("start batch records")
        self.session.add(record)

    def get(self, lot_number: str) -> domain.BatchRecord | None:
        """The executed record of a batch the caller may see, with its entries."""
        batch_id = select(orm.batches.c.id).where(orm.batches.c.lot_number == lot_number).scalar_subquery()
        statement = (
            select(domain.BatchRecord)
            .where(orm.batch_records.c.batch_id == batch_id)
            .options(selectinload(orm.attribute(domain.BatchRecord, "entries")))
        )
        found: list[domain.BatchRecord] = self._all(
            _of_visible_batches(self.scope, statement, orm.batch_records.c.batch_id)
        )
        return found[0] if found else None

    def to_execute(self, lot_number: str) -> domain.BatchRecord | None:
        """The record with its entries, batch and master only, for the writes of execution (the shop floor's hot
        path): the batch's order, program and process load only if touched, so use it inside the unit of work."""
        self.scope.require_staff("execute batches")
        batch_id = select(orm.batches.c.id).where(orm.batches.c.lot_number == lot_number).scalar_subquery()
        batch = orm.attribute(domain.BatchRecord, "batch")
        master = orm.attribute(domain.BatchRecord, "master")
        statement = (
            select(domain.BatchRecord)
            .where(orm.batch_records.c.batch_id == batch_id)
            .options(
                selectinload(orm.attribute(domain.BatchRecord, "entries")),
                joinedload(batch).lazyload("*"),
                joinedload(master).lazyload("*"),
            )
        )
        found: list[domain.BatchRecord] = self._all(statement)
        return found[0] if found else None

    def list(self, *, status: domain.BatchRecordStatus | None = None) -> list[domain.BatchRecord]:
        statement = select(domain.BatchRecord).order_by(orm.batch_records.c.started_at.desc())
        if status is not None:
            statement = statement.where(orm.batch_records.c.status == status)
        return self._all(_of_visible_batches(self.scope, statement, orm.batch_records.c.batch_id))


class DeviationRepository(SqlAlchemyRepository):
    def add(self, deviation: domain.Deviation) -> None:
        self.scope.require_staff("open deviations")
        self.session.add(deviation)

    def _visible(self, statement: Select[Any]) -> Select[Any]:
        if self.scope.sponsor_id is None:
            return statement
        # A deviation without a batch concerns the CDMO's site, never a sponsor.
        return _of_visible_batches(
            self.scope, statement.where(orm.deviations.c.batch_id.is_not(None)), orm.deviations.c.batch_id
        )

    def get(self, number: str) -> domain.Deviation | None:
        statement = (
            select(domain.Deviation)
            .where(orm.deviations.c.number == number)
            .options(selectinload(orm.attribute(domain.Deviation, "capa")))
        )
        found: list[domain.Deviation] = self._all(self._visible(statement))
        return found[0] if found else None

    def list(
        self, *, status: domain.DeviationStatus | None = None, lot_number: str | None = None
    ) -> list[domain.Deviation]:
        """Newest first; only those in ``status`` or of the batch ``lot_number`` when given."""
        statement = (
            select(domain.Deviation)
            .options(selectinload(orm.attribute(domain.Deviation, "capa")))
            .order_by(orm.deviations.c.id.desc())
        )
        if status is not None:
            statement = statement.where(orm.deviations.c.status == status)
        if lot_number is not None:
            batch_id = select(orm.batches.c.id).where(orm.batches.c.lot_number == lot_number).scalar_subquery()
            statement = statement.where(orm.deviations.c.batch_id == batch_id)
        return self._all(self._visible(statement))

    def numbers_starting_with(self, prefix: str) -> int:
        """How many deviation numbers start with ``prefix`` (numbers are allotted per year: DEV-2026-0001)."""
        number = orm.deviations.c.number
        statement = select(func.count()).where(number.startswith(prefix, autoescape=True))
        return int(self.session.scalar(statement) or 0)


class InstrumentRepository(SqlAlchemyRepository):
    def add(self, instrument: domain.Instrument) -> None:
        self.scope.require_staff("register instruments")
        self.session.add(instrument)

    def get(self, code: str) -> domain.Instrument | None:
        found: list[domain.Instrument] = self._all(select(domain.Instrument).where(orm.instruments.c.code == code))
        return found[0] if found else None

    def list(self) -> list[domain.Instrument]:
        return self._all(select(domain.Instrument).order_by(orm.instruments.c.code))


class QcRepository(SqlAlchemyRepository):
    """Release specifications (per process) and test results (per batch)."""

    def add_specification(self, specification: domain.QcSpecification) -> None:
        self.scope.require_staff("write release specifications")
        self.session.add(specification)

    def specification(self, process: str) -> domain.QcSpecification | None:
        process_id = select(orm.process_templates.c.id).where(orm.process_templates.c.name == process)
        found: list[domain.QcSpecification] = self._all(
            select(domain.QcSpecification).where(orm.qc_specifications.c.process_id == process_id.scalar_subquery())
        )
        return found[0] if found else None

    def specifications(self) -> list[domain.QcSpecification]:
        return self._all(select(domain.QcSpecification).order_by(orm.qc_specifications.c.id))

    def add_result(self, result: domain.QcResult) -> None:
        self.scope.require_staff("record QC results")
        self.session.add(result)

    def result(self, result_id: int) -> domain.QcResult | None:
        statement = select(domain.QcResult).where(orm.qc_results.c.id == result_id)
        found: list[domain.QcResult] = self._all(_of_visible_batches(self.scope, statement, orm.qc_results.c.batch_id))
        return found[0] if found else None

    def results(self, lot_number: str) -> list[domain.QcResult]:
        """Every result of a batch, voided ones too, in the order recorded."""
        batch_id = select(orm.batches.c.id).where(orm.batches.c.lot_number == lot_number).scalar_subquery()
        statement = select(domain.QcResult).where(orm.qc_results.c.batch_id == batch_id).order_by(orm.qc_results.c.id)
        return self._all(_of_visible_batches(self.scope, statement, orm.qc_results.c.batch_id))

    def results_awaiting_verification(self) -> list[domain.QcResult]:
        statement = (
            select(domain.QcResult)
            .where(orm.qc_results.c.verified_by.is_(None), orm.qc_results.c.voided_reason.is_(None))
            .order_by(orm.qc_results.c.id)
        )
        return self._all(_of_visible_batches(self.scope, statement, orm.qc_results.c.batch_id))


# Electronic signatures (P11-13..P11-15): append-only rows, read in signing order.
SIGNATURE_CHUNK = 500
"""How many record ids one query of :meth:`SignatureRepository.of_many` asks for (bound parameters are limited)."""


class SignatureRepository(SqlAlchemyRepository):
    """Signatures, never changed or deleted. Only staff sign; reading is not scoped here because a caller asks
    for the signatures of a record it has already found through a scoped repository."""

    def add(self, signature: domain.Signature) -> None:
        self.scope.require_staff("sign records")
        self.session.add(signature)

    def of(self, record_type: str, record_id: str) -> list[domain.Signature]:
        """The record's signatures, in signing order."""
        table = orm.signatures
        statement = (
            select(domain.Signature)
            .where(table.c.record_type == record_type, table.c.record_id == record_id)
            .order_by(table.c.signed_at, table.c.id)
        )
        return self._all(statement)

    def of_many(self, record_type: str, record_ids: Iterable[str]) -> dict[str, list[domain.Signature]]:
        """The signatures of each of the records (of one type), in signing order; a record without any is left out."""
        table = orm.signatures
        wanted = sorted(set(record_ids))
        found: dict[str, list[domain.Signature]] = {}
        for start in range(0, len(wanted), SIGNATURE_CHUNK):
            chunk = wanted[start : start + SIGNATURE_CHUNK]
            statement = (
                select(domain.Signature)
                .where(table.c.record_type == record_type, table.c.record_id.in_(chunk))
                .order_by(table.c.signed_at, table.c.id)
            )
            signature: domain.Signature
            for signature in self._all(statement):
                found.setdefault(signature.record_id, []).append(signature)
        return found
