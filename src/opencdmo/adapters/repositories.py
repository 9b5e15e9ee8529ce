"""Repositories: the only code that queries tables. Sponsor-owned queries are filtered by the caller's scope.

A :class:`Scope` says whose rows the caller may see: CDMO staff see every sponsor; a sponsor user only their
own. The filter is applied here, where data is queried, so no list, count or export can leak another
sponsor's rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session, selectinload

from opencdmo import domain
from opencdmo.adapters import orm
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


class SiteRepository(SqlAlchemyRepository):
    def add(self, site: domain.Site) -> None:
        self.scope.require_staff("add sites")
        self.session.add(site)

    def list(self) -> list[domain.Site]:
        suites = selectinload(orm.attribute(domain.Site, "suites"))
        statement = (
            select(domain.Site)
            .options(
                suites.selectinload(orm.attribute(domain.Suite, "changeovers")),
                suites.selectinload(orm.attribute(domain.Suite, "downtime")),
            )
            .order_by(orm.sites.c.id)
        )
        return self._all(statement)


class SponsorRepository(SqlAlchemyRepository):
    def add(self, sponsor: domain.Sponsor) -> None:
        self.scope.require_staff("add sponsors")
        self.session.add(sponsor)

    def list(self) -> list[domain.Sponsor]:
        statement = select(domain.Sponsor).order_by(orm.sponsors.c.id)
        return self._all(self.scope.filter(statement, orm.sponsors.c.id))


class ProgramRepository(SqlAlchemyRepository):
    def add(self, program: domain.Program) -> None:
        self.scope.require_owner(program.sponsor, "add programs")
        self.session.add(program)

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

    def list(self) -> list[domain.Order]:
        return self._all(self._select().order_by(orm.orders.c.id))

    def get(self, number: str) -> domain.Order | None:
        found: list[domain.Order] = self._all(self._select().where(orm.orders.c.number == number))
        return found[0] if found else None


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

    def clear(self) -> None:
        self.scope.require_staff("clear the database")
        _refuse_to_clear_sponsors_with_users(self.session)
        for table in _TABLES_TO_CLEAR:
            self.session.execute(delete(table))
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

    def list(self) -> list[domain.ScheduleVersion]:
        return self._all(select(domain.ScheduleVersion).order_by(orm.schedule_versions.c.number))


def _refuse_to_clear_sponsors_with_users(session: Session) -> None:
    """Users survive a replacing import, but a sponsor user cannot outlive its sponsor: refuse instead.

    Detaching the user would leave a sponsor user without a sponsor, whose scope would be everything.
    """
    names = list(
        session.scalars(
            select(orm.users.c.username).where(orm.users.c.sponsor_id.is_not(None)).order_by(orm.users.c.username)
        )
    )
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise Conflict(
            f"cannot replace the network while sponsor users exist ({shown}): they belong to its sponsors, "
            "and users are deactivated, never deleted"
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
