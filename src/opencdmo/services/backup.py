"""Use cases on backups (21 CFR Part 11 §11.10(c), P11-03; EU GMP Annex 11 §7, A11-04): copy the whole database
to a file, and restore such a file into an empty database, checked.

A backup is a consistent copy of every table (the audit trail, signatures and users included) with a header that
states the schema revision, and per table the number of rows and a SHA-256 over them. A restore refuses a file
whose rows do not match their header, and a database that is not empty; after loading it counts and hashes what
the database holds and commits only when that matches the header, then verifies the audit chain.

How a database is read and written is a port (:class:`Database`, implemented by
:class:`opencdmo.adapters.backup.SqlDatabase`); the use cases here add the audit trail: the source database
records that a backup was taken (after the copy, so the copy does not hold that event), the restored database
records the restore as its next event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from opencdmo.domain.audit import MAX_RECORD_ID_LENGTH, ChainVerdict
from opencdmo.services import audit
from opencdmo.services.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
RECORD_TYPE = "database"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TableDigest:
    """One table of a backup: its name, columns, number of rows and the SHA-256 over its rows."""

    name: str
    columns: tuple[str, ...]
    rows: int
    sha256: str


@dataclass(frozen=True)
class BackupSummary:
    """What a backup file holds, as its header states it (and a restore found it)."""

    schema_revision: str
    created_at: datetime
    source: str
    tables: tuple[TableDigest, ...]

    @property
    def total_rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def rows_of(self, table: str) -> int:
        return next((digest.rows for digest in self.tables if digest.name == table), 0)

    def evidence(self) -> dict[str, Any]:
        """The summary as an audit event's value: revision, time, and rows and hash per table."""
        return {
            "schema_revision": self.schema_revision,
            "created_at": self.created_at,
            "tables": {table.name: {"rows": table.rows, "sha256": table.sha256} for table in self.tables},
        }


class Database(Protocol):
    """A whole database, as backups see it."""

    def describe(self) -> str:
        """The database in words, without a password."""
        ...

    def dump(self, path: Path, *, now: datetime) -> BackupSummary:
        """Write a consistent copy of every table to ``path`` (replacing it only once complete)."""
        ...

    def load(self, path: Path) -> BackupSummary:
        """Check the file at ``path`` against its header, then load it into this database, which must be empty
        (its schema is created or brought up to date first), and commit only when the rows read back match the
        header; else raise and store nothing."""
        ...


@dataclass(frozen=True)
class RestoreReport:
    summary: BackupSummary
    audit: ChainVerdict
    """The verification of the restored audit trail (before the restore's own event was added)."""


def backup(
    database: Database, uow: UnitOfWork, path: Path, *, actor: str = audit.SYSTEM, now: Clock = utcnow
) -> BackupSummary:
    """Copy ``database`` (whose unit of work is ``uow``) to ``path``, then audit the backup in it."""
    summary = database.dump(path, now=now())
    with uow:
        audit.record(
            uow,
            actor=actor,
            action="backup",
            record_type=RECORD_TYPE,
            record_id=path.name[:MAX_RECORD_ID_LENGTH] or "backup",
            new=summary.evidence(),
            now=now,
        )
        uow.commit()
    return summary


def restore(
    database: Database, uow: UnitOfWork, path: Path, *, actor: str = audit.SYSTEM, now: Clock = utcnow
) -> RestoreReport:
    """Restore the backup at ``path`` into the empty ``database`` (whose unit of work is ``uow``), verify the
    restored audit trail, and audit the restore as the trail's next event."""
    summary = database.load(path)
    verdict = audit.verify(uow)
    with uow:
        audit.record(
            uow,
            actor=actor,
            action="restore",
            record_type=RECORD_TYPE,
            record_id=path.name[:MAX_RECORD_ID_LENGTH] or "backup",
            new={**summary.evidence(), "audit_chain_intact": verdict.intact, "audit_events": verdict.checked},
            now=now,
        )
        uow.commit()
    return RestoreReport(summary=summary, audit=verdict)
