"""Tables and the imperative mapping of the domain's dataclasses onto them.

The domain classes stay plain dataclasses; :func:`start_mappers` instruments them once per process. Every
sponsor-owned table carries ``sponsor_id`` so repositories can filter every query by the caller's sponsor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import InstrumentedAttribute, composite, registry, relationship
from sqlalchemy.types import TypeDecorator

from opencdmo import domain

# One naming convention so that migrations name constraints the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
mapper_registry = registry(metadata=metadata)


class LabelSet(TypeDecorator[frozenset[str]]):
    """A set of labels stored as a sorted JSON list (portable, and stable for exports)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: frozenset[str] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(sorted(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> frozenset[str] | None:
        return None if value is None else frozenset(json.loads(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a datetime without a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Cents(TypeDecorator[Decimal]):
    """Money as a whole number of cents: exact on every database, no float or driver Decimal quirks."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value * 100)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum stored as its value; the domain validates, the column stays a plain string."""

    impl = String(40)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: StrEnum | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> Column[int]:
    # No ON DELETE CASCADE: a GMP record is never deleted behind the application's back, and SQLite's
    # batch migrations (drop and rebuild a table) would otherwise wipe every child row.
    return Column(name, Integer, ForeignKey(target), nullable=nullable, index=True)


product_families = Table(
    "product_families",
    metadata,
    _id(),
    Column("name", String(60), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
)

process_templates = Table(
    "process_templates",
    metadata,
    _id(),
    Column("name", String(80), nullable=False, unique=True),
    Column("qc_release_hours", Integer, nullable=False),
    Column("qc_analysts", Integer, nullable=False),
)

process_stages = Table(
    "process_stages",
    metadata,
    _id(),
    _fk("process_id", "process_templates.id"),
    Column("position", Integer, nullable=False),
    Column("name", String(80), nullable=False),
    Column("suite_kind", EnumText(domain.SuiteKind), nullable=False),
    Column("capabilities", LabelSet, nullable=False),
    Column("duration_hours", Integer, nullable=False),
    Column("max_hold_hours", Integer, nullable=True),
    UniqueConstraint("process_id", "position"),
    UniqueConstraint("process_id", "name"),
)

sites = Table(
    "sites",
    metadata,
    _id(),
    Column("name", String(60), nullable=False, unique=True),
    Column("region", String(60), nullable=False),
    Column("biosafety_level", Integer, nullable=False),
    Column("certifications", LabelSet, nullable=False),
)

suites = Table(
    "suites",
    metadata,
    _id(),
    _fk("site_id", "sites.id"),
    Column("name", String(60), nullable=False, unique=True),
    Column("kind", EnumText(domain.SuiteKind), nullable=False),
    Column("capabilities", LabelSet, nullable=False),
    Column("scale", Float, nullable=False),
    Column("scale_unit", EnumText(domain.ScaleUnit), nullable=False),
    Column("construction", EnumText(domain.Construction), nullable=True),
    Column("qc_analysts", Integer, nullable=False),
    Column("same_product_hours", Integer, nullable=False),
    Column("default_changeover_hours", Integer, nullable=False),
)

stage_suite_durations = Table(
    "stage_suite_durations",
    metadata,
    _id(),
    _fk("stage_id", "process_stages.id"),
    _fk("suite_id", "suites.id"),
    Column("hours", Integer, nullable=False),
    UniqueConstraint("stage_id", "suite_id"),
)

changeover_rules = Table(
    "changeover_rules",
    metadata,
    _id(),
    _fk("suite_id", "suites.id"),
    _fk("from_family_id", "product_families.id"),
    _fk("to_family_id", "product_families.id"),
    Column("hours", Integer, nullable=False),
    UniqueConstraint("suite_id", "from_family_id", "to_family_id"),
)

downtime_windows = Table(
    "downtime_windows",
    metadata,
    _id(),
    _fk("suite_id", "suites.id"),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("reason", String(200), nullable=False),
)

sponsors = Table(
    "sponsors",
    metadata,
    _id(),
    Column("name", String(120), nullable=False, unique=True),
    Column("size", EnumText(domain.SponsorSize), nullable=False),
)

programs = Table(
    "programs",
    metadata,
    _id(),
    _fk("sponsor_id", "sponsors.id"),
    Column("name", String(120), nullable=False),
    Column("modality", EnumText(domain.Modality), nullable=False),
    Column("phase", EnumText(domain.Phase), nullable=False),
    _fk("product_family_id", "product_families.id"),
    _fk("process_id", "process_templates.id"),
    UniqueConstraint("sponsor_id", "name"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    _fk("sponsor_id", "sponsors.id"),
    _fk("program_id", "programs.id"),
    Column("number", String(40), nullable=False, unique=True),
    Column("batch_count", Integer, nullable=False),
    Column("release_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("late_penalty_per_day", Cents, nullable=False),
    Column("price_per_batch", Cents, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    _id(),
    _fk("sponsor_id", "sponsors.id"),
    _fk("order_id", "orders.id"),
    Column("lot_number", String(40), nullable=False, unique=True),
    Column("status", EnumText(domain.BatchStatus), nullable=False, index=True),
    Column("cancel_reason", Text, nullable=True),
)

SPONSOR_OWNED_TABLES: tuple[Table, ...] = (programs, orders, batches)


def attribute(entity: type[Any], name: str) -> InstrumentedAttribute[Any]:
    """The mapped attribute ``name`` of a domain class, for query options such as ``selectinload``.

    The dataclasses do not declare their mapped attributes, so type checkers cannot see them directly.
    """
    value = getattr(entity, name)
    if not isinstance(value, InstrumentedAttribute):
        raise TypeError(f"{entity.__name__}.{name} is not mapped; call start_mappers() first")
    return value


def _many_to_one(target: type[Any], column: Column[Any]) -> Any:
    return relationship(target, foreign_keys=[column], lazy="joined", innerjoin=True)


def start_mappers() -> None:
    """Map the domain classes onto the tables. Idempotent: safe to call from every bootstrap."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(domain.ProductFamily, product_families)
    mapper_registry.map_imperatively(
        domain.DowntimeWindow,
        downtime_windows,
        properties={"start": downtime_windows.c.start_at, "end": downtime_windows.c.end_at},
    )
    mapper_registry.map_imperatively(
        domain.ChangeoverRule,
        changeover_rules,
        properties={
            "from_family": _many_to_one(domain.ProductFamily, changeover_rules.c.from_family_id),
            "to_family": _many_to_one(domain.ProductFamily, changeover_rules.c.to_family_id),
        },
    )
    mapper_registry.map_imperatively(
        domain.Suite,
        suites,
        properties={
            "changeovers": relationship(
                domain.ChangeoverRule, order_by=changeover_rules.c.id, cascade="all, delete-orphan"
            ),
            "downtime": relationship(
                domain.DowntimeWindow, order_by=downtime_windows.c.start_at, cascade="all, delete-orphan"
            ),
        },
    )
    mapper_registry.map_imperatively(
        domain.Site,
        sites,
        properties={"suites": relationship(domain.Suite, order_by=suites.c.id, cascade="all, delete-orphan")},
    )
    mapper_registry.map_imperatively(
        domain.SuiteDuration,
        stage_suite_durations,
        properties={"suite": _many_to_one(domain.Suite, stage_suite_durations.c.suite_id)},
    )
    mapper_registry.map_imperatively(
        domain.Stage,
        process_stages,
        properties={
            "suite_durations": relationship(
                domain.SuiteDuration, order_by=stage_suite_durations.c.id, cascade="all, delete-orphan"
            )
        },
    )
    mapper_registry.map_imperatively(
        domain.ProcessTemplate,
        process_templates,
        properties={
            "stages": relationship(
                domain.Stage,
                order_by=process_stages.c.position,
                collection_class=ordering_list("position"),
                cascade="all, delete-orphan",
            )
        },
    )
    mapper_registry.map_imperatively(domain.Sponsor, sponsors)
    mapper_registry.map_imperatively(
        domain.Program,
        programs,
        properties={
            "sponsor": _many_to_one(domain.Sponsor, programs.c.sponsor_id),
            "product_family": _many_to_one(domain.ProductFamily, programs.c.product_family_id),
            "process": _many_to_one(domain.ProcessTemplate, programs.c.process_id),
        },
    )
    mapper_registry.map_imperatively(
        domain.Batch,
        batches,
        properties={
            "sponsor": _many_to_one(domain.Sponsor, batches.c.sponsor_id),
            # Order.batches owns the link; this side only reads it, so the two never disagree.
            "order": relationship(domain.Order, foreign_keys=[batches.c.order_id], viewonly=True, lazy="joined"),
        },
    )
    mapper_registry.map_imperatively(
        domain.Order,
        orders,
        properties={
            "sponsor": _many_to_one(domain.Sponsor, orders.c.sponsor_id),
            "program": _many_to_one(domain.Program, orders.c.program_id),
            "batches": relationship(domain.Batch, order_by=batches.c.id, cascade="all, delete-orphan"),
        },
    )
    start_schedule_mappers()
    start_account_mappers()


# Schedule versions (issue 4). Appended after the network tables; mapped by start_schedule_mappers().

schedule_versions = Table(
    "schedule_versions",
    metadata,
    _id(),
    Column("number", Integer, nullable=False, unique=True),
    Column("kind", EnumText(domain.VersionKind), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("origin", UTCDateTime, nullable=False),
    Column("strategy", String(20), nullable=False),
    Column("time_limit", Float, nullable=False),
    Column("workers", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("objective", BigInteger, nullable=True),
    Column("lower_bound", BigInteger, nullable=True),
    Column("seconds", Float, nullable=False),
    Column("based_on", Integer, nullable=True),
    Column("disruption", Text, nullable=False, default=""),
    Column("moved", Integer, nullable=False),
    Column("kpi_batches", Integer, nullable=False),
    Column("kpi_on_time", Integer, nullable=False),
    Column("kpi_total_tardiness_hours", Float, nullable=False),
    Column("kpi_weighted_tardiness", Cents, nullable=False),
    Column("kpi_changeovers", Integer, nullable=False),
    Column("kpi_cleaning_hours", Float, nullable=False),
    Column("kpi_mean_utilization", Float, nullable=False),
)

# Sponsor-owned: a stage or QC release carries its batch's sponsor; cleaning has none (staff only).
schedule_operations = Table(
    "schedule_operations",
    metadata,
    _id(),
    _fk("version_id", "schedule_versions.id"),
    _fk("sponsor_id", "sponsors.id", nullable=True),
    _fk("batch_id", "batches.id", nullable=True),
    _fk("suite_id", "suites.id"),
    Column("kind", EnumText(domain.OperationKind), nullable=False),
    Column("step", String(80), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("fixed", Boolean, nullable=False),
    Column("moved", Boolean, nullable=False),
    Column("late", Boolean, nullable=False),
)

schedule_suite_loads = Table(
    "schedule_suite_loads",
    metadata,
    _id(),
    _fk("version_id", "schedule_versions.id"),
    _fk("suite_id", "suites.id"),
    Column("busy_hours", Float, nullable=False),
    Column("available_hours", Float, nullable=False),
    Column("cleaning_hours", Float, nullable=False),
    Column("changeovers", Integer, nullable=False),
    UniqueConstraint("version_id", "suite_id"),
)

SPONSOR_OWNED_TABLES = (*SPONSOR_OWNED_TABLES, schedule_operations)


def start_schedule_mappers() -> None:
    """Map schedule versions, operations and suite loads (called by :func:`start_mappers`)."""
    mapper_registry.map_imperatively(
        domain.Operation,
        schedule_operations,
        properties={
            "start": schedule_operations.c.start_at,
            "end": schedule_operations.c.end_at,
            "suite": relationship(domain.Suite, foreign_keys=[schedule_operations.c.suite_id]),
            "batch": relationship(domain.Batch, foreign_keys=[schedule_operations.c.batch_id]),
            "sponsor": relationship(domain.Sponsor, foreign_keys=[schedule_operations.c.sponsor_id]),
        },
    )
    mapper_registry.map_imperatively(
        domain.SuiteLoad,
        schedule_suite_loads,
        properties={"suite": relationship(domain.Suite, foreign_keys=[schedule_suite_loads.c.suite_id])},
    )
    mapper_registry.map_imperatively(
        domain.ScheduleVersion,
        schedule_versions,
        properties={
            "kpis": composite(
                domain.PlanKpis,
                schedule_versions.c.kpi_batches,
                schedule_versions.c.kpi_on_time,
                schedule_versions.c.kpi_total_tardiness_hours,
                schedule_versions.c.kpi_weighted_tardiness,
                schedule_versions.c.kpi_changeovers,
                schedule_versions.c.kpi_cleaning_hours,
                schedule_versions.c.kpi_mean_utilization,
            ),
            # Operations are sponsor-owned: read them only through ScheduleRepository.operations(), which
            # filters by the caller's scope. "raise" makes an unscoped lazy read an error, not a leak.
            "operations": relationship(
                domain.Operation, order_by=schedule_operations.c.id, cascade="all, delete-orphan", lazy="raise"
            ),
            "suite_loads": relationship(
                domain.SuiteLoad, order_by=schedule_suite_loads.c.id, cascade="all, delete-orphan", lazy="selectin"
            ),
        },
    )


# Accounts (issue 5). Not sponsor-owned data: a user row names its sponsor to scope what that user sees.
# Users are deactivated, never deleted; a replacing import refuses to delete a sponsor that has users.

users = Table(
    "users",
    metadata,
    _id(),
    Column("username", String(60), nullable=False, unique=True),
    Column("role", EnumText(domain.Role), nullable=False),
    _fk("sponsor_id", "sponsors.id", nullable=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _fk("user_id", "users.id"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False),
)


def start_account_mappers() -> None:
    """Map users and API tokens (called by :func:`start_mappers`)."""
    mapper_registry.map_imperatively(
        domain.User,
        users,
        properties={"sponsor": relationship(domain.Sponsor, foreign_keys=[users.c.sponsor_id], lazy="joined")},
    )
    mapper_registry.map_imperatively(
        domain.ApiToken,
        api_tokens,
        properties={"user": _many_to_one(domain.User, api_tokens.c.user_id)},
    )


# The audit trail (P11-05). Append-only: the migration adds database triggers refusing UPDATE, DELETE and
# TRUNCATE. Read and written with Core (no mapping): events are immutable values, streamed in bulk to verify.

audit_events = Table(
    "audit_events",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime, nullable=False, index=True),
    Column("username", String(80), nullable=False, index=True),
    Column("action", String(80), nullable=False),
    Column("record_type", String(80), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("field", String(80), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_record", "record_type", "record_id"),
)
