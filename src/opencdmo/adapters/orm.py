"""Tables and the imperative mapping of the domain's dataclasses onto them.

The domain classes stay plain dataclasses; :func:`start_mappers` instruments them once per process. Every
sponsor-owned table carries ``sponsor_id`` so repositories can filter every query by the caller's sponsor.
"""

from __future__ import annotations

import functools
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
    start_training_mappers()
    start_gmp_mappers()


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
    Column("full_name", String(120), nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=True),
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
    Column("last_signed_at", UTCDateTime, nullable=True),
)

# Electronic signatures (issue 6, P11-13..P11-15). Append-only: the migration adds database triggers refusing
# UPDATE and DELETE (and TRUNCATE on PostgreSQL). Not sponsor-owned rows: a signature is read only for a record
# the caller has already found in their scope.

signatures = Table(
    "signatures",
    metadata,
    _id(),
    Column("record_type", String(60), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("username", String(60), nullable=False),
    Column("printed_name", String(120), nullable=False),
    Column("meaning", EnumText(domain.Meaning), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("comment", Text, nullable=True),
    Index("ix_signatures_record", "record_type", "record_id"),
)


def start_account_mappers() -> None:
    """Map users, API tokens and signatures (called by :func:`start_mappers`)."""
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
    mapper_registry.map_imperatively(domain.Signature, signatures)


# Training records (P11-09). Records are added, never changed: the migration adds database triggers refusing
# UPDATE and DELETE. Not sponsor-owned: only CDMO staff are trained on procedures.

training_records = Table(
    "training_records",
    metadata,
    _id(),
    _fk("user_id", "users.id"),
    Column("procedure", String(60), nullable=False),
    Column("trained_on", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("recorded_by", String(80), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_training_records_user_procedure", "user_id", "procedure"),
)


def start_training_mappers() -> None:
    """Map training records (called by :func:`start_mappers`, after the users)."""
    mapper_registry.map_imperatively(
        domain.TrainingRecord,
        training_records,
        properties={"user": _many_to_one(domain.User, training_records.c.user_id)},
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


# GMP records (issue 6): master and executed batch records, deviations with CAPA, QC. Mapped by
# start_gmp_mappers(). Step definitions and release tests are documents that change only as a whole (a draft's
# steps are rewritten; an approved version never changes), so they are stored as JSON text, like labels.


class MasterSteps(TypeDecorator[list[Any]]):
    """A master record's steps as a JSON list (each step with its parameters)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps([step.as_dict() for step in value], ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[Any] | None:
        if value is None:
            return None
        return list(_decoded_steps(value))


@functools.lru_cache(maxsize=256)
def _decoded_steps(text: str) -> tuple[domain.MasterStep, ...]:
    """Steps read from their JSON, memoised by the text: a batch record's every write loads its master, whose
    steps (frozen dataclasses) are checked once rather than on each load."""
    return tuple(domain.MasterStep.from_dict(item) for item in json.loads(text))


class QcTests(TypeDecorator[list[Any]]):
    """A release specification's tests as a JSON list."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps([test.as_dict() for test in value], ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[Any] | None:
        if value is None:
            return None
        return [domain.QcTest.from_dict(item) for item in json.loads(value)]


master_batch_records = Table(
    "master_batch_records",
    metadata,
    _id(),
    _fk("process_id", "process_templates.id"),
    Column("version", Integer, nullable=False),
    Column("procedure", String(60), nullable=False),
    Column("title", String(120), nullable=False),
    Column("steps", MasterSteps, nullable=False),
    Column("status", EnumText(domain.MasterRecordStatus), nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("approved_at", UTCDateTime, nullable=True),
    UniqueConstraint("process_id", "version"),
)

batch_records = Table(
    "batch_records",
    metadata,
    _id(),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, unique=True),
    _fk("master_id", "master_batch_records.id"),
    Column("started_by", String(60), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("status", EnumText(domain.BatchRecordStatus), nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
)

step_entries = Table(
    "step_entries",
    metadata,
    _id(),
    _fk("batch_record_id", "batch_records.id"),
    Column("step", Integer, nullable=False),
    Column("parameter", String(60), nullable=False),
    Column("value", String(500), nullable=False),
    Column("recorded_by", String(60), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("in_spec", Boolean, nullable=True),
    _fk("corrects_id", "step_entries.id", nullable=True),
    Column("reason", Text, nullable=True),
    Column("superseded", Boolean, nullable=False),
    Column("verified_by", String(60), nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
)

deviations = Table(
    "deviations",
    metadata,
    _id(),
    Column("number", String(20), nullable=False, unique=True),
    _fk("batch_id", "batches.id", nullable=True),
    Column("severity", EnumText(domain.Severity), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("source", String(200), nullable=True),
    Column("opened_by", String(60), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("investigation", Text, nullable=True),
    Column("root_cause", Text, nullable=True),
    Column("status", EnumText(domain.DeviationStatus), nullable=False, index=True),
    Column("closed_at", UTCDateTime, nullable=True),
)

capa_actions = Table(
    "capa_actions",
    metadata,
    _id(),
    _fk("deviation_id", "deviations.id"),
    Column("description", Text, nullable=False),
    Column("owner", String(60), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", EnumText(domain.CapaStatus), nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("effectiveness", Text, nullable=True),
)

instruments = Table(
    "instruments",
    metadata,
    _id(),
    Column("code", String(60), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("calibrated_on", Date, nullable=False),
    Column("calibration_due", Date, nullable=False),
    Column("active", Boolean, nullable=False),
)

qc_specifications = Table(
    "qc_specifications",
    metadata,
    _id(),
    Column("process_id", Integer, ForeignKey("process_templates.id"), nullable=False, unique=True),
    Column("tests", QcTests, nullable=False),
)

qc_results = Table(
    "qc_results",
    metadata,
    _id(),
    _fk("batch_id", "batches.id"),
    Column("test", String(80), nullable=False),
    Column("method", String(60), nullable=False),
    Column("unit", String(20), nullable=True),
    Column("low", Float, nullable=True),
    Column("high", Float, nullable=True),
    Column("value", Float, nullable=False),
    _fk("instrument_id", "instruments.id"),
    Column("analyst", String(60), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("verified_by", String(60), nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
    Column("voided_reason", Text, nullable=True),
    Column("voided_by", String(60), nullable=True),
)

GMP_TABLES: tuple[Table, ...] = (
    master_batch_records,
    batch_records,
    step_entries,
    deviations,
    capa_actions,
    instruments,
    qc_specifications,
    qc_results,
)


def start_gmp_mappers() -> None:
    """Map the GMP records (called by :func:`start_mappers`)."""
    mapper_registry.map_imperatively(
        domain.MasterBatchRecord,
        master_batch_records,
        properties={"process": _many_to_one(domain.ProcessTemplate, master_batch_records.c.process_id)},
    )
    mapper_registry.map_imperatively(
        domain.StepEntry,
        step_entries,
        properties={
            "corrects": relationship(
                domain.StepEntry,
                foreign_keys=[step_entries.c.corrects_id],
                remote_side=[step_entries.c.id],
                lazy="select",
            )
        },
    )
    mapper_registry.map_imperatively(
        domain.BatchRecord,
        batch_records,
        properties={
            "batch": _many_to_one(domain.Batch, batch_records.c.batch_id),
            "master": _many_to_one(domain.MasterBatchRecord, batch_records.c.master_id),
            "entries": relationship(
                domain.StepEntry,
                foreign_keys=[step_entries.c.batch_record_id],
                order_by=step_entries.c.id,
                cascade="all",
            ),
        },
    )
    mapper_registry.map_imperatively(domain.CapaAction, capa_actions)
    mapper_registry.map_imperatively(
        domain.Deviation,
        deviations,
        properties={
            "batch": relationship(domain.Batch, foreign_keys=[deviations.c.batch_id], lazy="joined"),
            "capa": relationship(domain.CapaAction, order_by=capa_actions.c.id, cascade="all"),
        },
    )
    mapper_registry.map_imperatively(domain.Instrument, instruments)
    mapper_registry.map_imperatively(
        domain.QcSpecification,
        qc_specifications,
        properties={"process": _many_to_one(domain.ProcessTemplate, qc_specifications.c.process_id)},
    )
    mapper_registry.map_imperatively(
        domain.QcResult,
        qc_results,
        properties={
            "batch": _many_to_one(domain.Batch, qc_results.c.batch_id),
            "instrument": _many_to_one(domain.Instrument, qc_results.c.instrument_id),
        },
    )
