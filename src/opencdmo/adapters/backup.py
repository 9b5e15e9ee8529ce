"""Backup files: a whole database as gzip-compressed JSON lines, written and loaded with SQLAlchemy Core over every
table of :data:`orm.metadata` (parents before children), so a table added to the schema is backed up with no
change here.

The file (format version 1) is UTF-8 text, gzip-compressed, one JSON value per line:

1. the header: ``{"format": "opencdmo-backup", "version": 1, "schema_revision": ..., "created_at": ...,
   "source": "sqlite" | "postgresql", "tables": [{"name", "columns", "rows", "sha256"}, ...]}``;
2. for each table of the header, in its order: a line ``{"table": NAME}``, then one line per row, a JSON array of
   the row's values in the order of ``columns``, rows in primary-key order.

Values are stored forms, not the domain's: the storage type of each column (a money column's whole cents, a
label set's JSON text), so the file does not depend on the application's types. Dates and times are ISO 8601
text (times as stored: naive, in UTC), exact decimals text, bytes base64. A table's SHA-256 is over its row
lines exactly as written, each with its line feed: a restore recomputes it over the file before loading, and over
the rows the database read back after loading.

A backup reads one consistent snapshot (a read-only REPEATABLE READ transaction on PostgreSQL, one read
transaction on SQLite); a restore writes in one transaction, so a refused restore leaves the tables empty.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, Engine, Table, func, insert, inspect, select, text
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import TypeDecorator, TypeEngine

from opencdmo.adapters import db, orm
from opencdmo.errors import Conflict, InputError
from opencdmo.services.backup import BackupSummary, TableDigest

FORMAT = "opencdmo-backup"
FORMAT_VERSION = 1
BATCH_SIZE = 1000


# --- values -----------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_plain)


def _line(value: Any) -> bytes:
    return (_ENCODER.encode(value) + "\n").encode("utf-8")


def storage_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type a column is stored as: the innermost implementation of an application type."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _reader(type_: TypeEngine[Any]) -> Callable[[Any], Any]:
    """Turns a value read from the file back into what the column's storage type binds."""
    if isinstance(type_, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(type_, sa.Date):
        return date.fromisoformat
    if isinstance(type_, sa.Time):
        return time.fromisoformat
    if isinstance(type_, sa.Float):
        return float
    if isinstance(type_, sa.Numeric) and type_.asdecimal:
        return Decimal
    if isinstance(type_, sa.LargeBinary):
        return base64.b64decode
    if isinstance(type_, sa.Uuid):
        return uuid.UUID
    return _same


def _same(value: Any) -> Any:
    return value


def _raw(table: Table) -> TableClause:
    """The table with its columns' storage types: read and written as stored, without the application's types."""
    return sa.table(table.name, *(sa.column(column.name, storage_type(column.type)) for column in table.columns))


def _tables() -> list[Table]:
    return list(orm.metadata.sorted_tables)


def _row_lines(connection: Connection, table: Table) -> Iterator[bytes]:
    """The table's rows as backup lines, in primary-key order, read a batch at a time."""
    raw = _raw(table)
    order = [raw.c[column.name] for column in table.primary_key.columns]
    result = connection.execute(select(raw).order_by(*order), execution_options={"yield_per": BATCH_SIZE})
    for row in result:
        yield _line(list(row))


def _digest(connection: Connection, table: Table, sink: IO[bytes] | None = None) -> TableDigest:
    hasher = hashlib.sha256()
    count = 0
    for line in _row_lines(connection, table):
        hasher.update(line)
        count += 1
        if sink is not None:
            sink.write(line)
    return TableDigest(table.name, tuple(column.name for column in table.columns), count, hasher.hexdigest())


# --- the header -------------------------------------------------------------------------------------------------


class _TableModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    columns: list[str]
    rows: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _HeaderModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    version: int
    schema_revision: str = Field(min_length=1, max_length=200)
    created_at: datetime
    source: str
    tables: list[_TableModel]


def _header_line(summary: BackupSummary) -> bytes:
    return _line(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "schema_revision": summary.schema_revision,
            "created_at": summary.created_at.isoformat(),
            "source": summary.source,
            "tables": [
                {"name": table.name, "columns": list(table.columns), "rows": table.rows, "sha256": table.sha256}
                for table in summary.tables
            ],
        }
    )


def _parse_header(path: Path, line: bytes) -> BackupSummary:
    not_a_backup = InputError(f"{path}: not an OpenCDMO backup (its first line is not a backup header)")
    try:
        document = json.loads(line)
    except ValueError:
        raise not_a_backup from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise not_a_backup
    if document.get("version") != FORMAT_VERSION:
        raise InputError(f"{path}: backup format version {document.get('version')!r} is not supported")
    try:
        header = _HeaderModel.model_validate(document)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise InputError(f"{path}: the backup header is damaged: {where}: {problem['msg']}") from None
    if header.created_at.tzinfo is None:
        raise InputError(f"{path}: the backup header is damaged: created_at has no time zone")
    names = [table.name for table in header.tables]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: the backup header is damaged: a table is listed twice")
    return BackupSummary(
        schema_revision=header.schema_revision,
        created_at=header.created_at,
        source=header.source,
        tables=tuple(TableDigest(t.name, tuple(t.columns), t.rows, t.sha256) for t in header.tables),
    )


# --- reading a file ---------------------------------------------------------------------------------------------


@contextmanager
def _open(path: Path) -> Iterator[Iterator[bytes]]:
    """The lines of a backup file; a missing, unreadable or damaged file is an :class:`InputError`."""
    try:
        with gzip.open(path, "rb") as stream:
            yield _guarded(path, stream)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a backup file") from None
    except PermissionError as error:
        raise InputError(f"{path}: cannot read the file: {error.strerror or error}") from None


def _guarded(path: Path, stream: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from stream
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{path}: not a gzip-compressed backup, or damaged ({error})") from None


def _sections(path: Path, lines: Iterator[bytes], summary: BackupSummary) -> Iterator[tuple[TableDigest, bytes]]:
    """Each row line of the file with the table it belongs to, checking that the tables come in the header's order."""
    expected = iter(summary.tables)
    current: TableDigest | None = None
    for line in lines:
        if line.startswith(b"{"):
            try:
                marker = json.loads(line)
            except ValueError:
                raise InputError(f"{path}: a table marker line is damaged") from None
            current = next(expected, None)
            name = marker.get("table") if isinstance(marker, dict) else None
            if current is None or name != current.name:
                wanted = current.name if current is not None else "no further table"
                raise InputError(f"{path}: found the rows of table {name!r} where the header says {wanted}")
            continue
        if current is None:
            raise InputError(f"{path}: rows before the first table marker")
        yield current, line
    missing = [table.name for table in expected]
    if missing:
        raise InputError(f"{path}: the file ends before the rows of {', '.join(missing)}")


def verify_file(path: Path) -> BackupSummary:
    """Read a backup file whole and check every table's rows against the count and SHA-256 of its header."""
    with _open(path) as lines:
        first = next(lines, None)
        if first is None:
            raise InputError(f"{path}: the file is empty")
        summary = _parse_header(path, first)
        counts = {table.name: 0 for table in summary.tables}
        hashers = {table.name: hashlib.sha256() for table in summary.tables}
        for table, line in _sections(path, lines, summary):
            counts[table.name] += 1
            hashers[table.name].update(line)
    for table in summary.tables:
        if counts[table.name] != table.rows:
            raise InputError(
                f"{path}: table {table.name} holds {counts[table.name]} row(s) where the header says {table.rows}: "
                "the file was altered or damaged"
            )
        if hashers[table.name].hexdigest() != table.sha256:
            raise InputError(
                f"{path}: the rows of table {table.name} do not match their SHA-256 in the header: "
                "the file was altered or damaged"
            )
    return summary


def _decoded_rows(
    path: Path, summary: BackupSummary, tables: dict[str, Table]
) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    """The rows of the (verified) file as bound values, a table's rows in batches of at most BATCH_SIZE."""
    readers = {
        name: [(column.name, _reader(storage_type(column.type))) for column in table.columns]
        for name, table in tables.items()
    }
    batch: list[dict[str, Any]] = []
    batch_table: Table | None = None
    with _open(path) as lines:
        next(lines)
        for digest, line in _sections(path, lines, summary):
            table = tables[digest.name]
            if batch_table is not None and (table is not batch_table or len(batch) >= BATCH_SIZE):
                yield batch_table, batch
                batch = []
            batch_table = table
            values = json.loads(line)
            columns = readers[digest.name]
            if not isinstance(values, list) or len(values) != len(columns):
                raise InputError(f"{path}: a row of table {digest.name} does not have {len(columns)} values")
            batch.append(
                {
                    name: None if value is None else read(value)
                    for (name, read), value in zip(columns, values, strict=True)
                }
            )
    if batch_table is not None and batch:
        yield batch_table, batch


# --- the database -----------------------------------------------------------------------------------------------


def _revision(connection: Connection) -> str:
    return ",".join(sorted(MigrationContext.configure(connection).get_current_heads()))


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one consistent state of the whole database, and writes nothing."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        elif connection.dialect.name == "sqlite":
            # pysqlite opens no transaction for a SELECT, so each would read the database as it is at that
            # moment: an explicit BEGIN makes every read of the backup part of one read transaction.
            connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


class SqlDatabase:
    """A SQLAlchemy database (SQLite or PostgreSQL) as the backup use cases see it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> str:
        return db.describe(self.engine)

    def expected_revision(self) -> str:
        """The schema revision this version of OpenCDMO migrates to."""
        script = ScriptDirectory.from_config(db.alembic_config(self.engine))
        return ",".join(sorted(script.get_heads()))

    def dump(self, path: Path, *, now: datetime) -> BackupSummary:
        partial = path.with_name(f".{path.name}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile() as body:
                with _snapshot(self.engine) as connection:
                    revision = _revision(connection)
                    digests = []
                    for table in _tables():
                        body.write(_line({"table": table.name}))
                        digests.append(_digest(connection, table, sink=body))
                summary = BackupSummary(
                    schema_revision=revision,
                    created_at=now,
                    source=self.engine.dialect.name,
                    tables=tuple(digests),
                )
                body.seek(0)
                with gzip.open(partial, "wb") as output:
                    output.write(_header_line(summary))
                    shutil.copyfileobj(body, output)
            partial.replace(path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise InputError(f"cannot write {path}: {error.strerror or error}") from None
        return summary

    def held_rows(self) -> dict[str, int]:
        """The tables of the schema that hold rows, with how many (tables not created yet count as empty)."""
        with self.engine.connect() as connection:
            existing = set(inspect(connection).get_table_names())
            counts = {
                table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                for table in _tables()
                if table.name in existing
            }
        return {name: count for name, count in counts.items() if count}

    def _refuse_unless_empty(self) -> None:
        held = self.held_rows()
        if held:
            shown = ", ".join(f"{count} in {name}" for name, count in list(held.items())[:5])
            raise Conflict(
                f"the database {self.describe()} is not empty (rows: {shown}{', ...' if len(held) > 5 else ''}): "
                "a backup is restored only into an empty database"
            )

    def load(self, path: Path) -> BackupSummary:
        summary = verify_file(path)
        expected = self.expected_revision()
        if summary.schema_revision != expected:
            raise Conflict(
                f"{path} holds schema revision {summary.schema_revision}, this OpenCDMO has {expected}: restore it "
                "with the OpenCDMO version that made it, then upgrade that database with 'opencdmo init'"
            )
        tables = {table.name: table for table in _tables()}
        shape = {name: tuple(column.name for column in table.columns) for name, table in tables.items()}
        found = {table.name: table.columns for table in summary.tables}
        if found != shape:
            raise InputError(f"{path}: its tables or columns differ from those of schema revision {expected}")
        self._refuse_unless_empty()
        db.upgrade(self.engine)
        self._refuse_unless_empty()
        with self.engine.begin() as connection:
            for table, rows in _decoded_rows(path, summary, tables):
                connection.execute(insert(_raw(table)), rows)
            stored = {table.name: _digest(connection, table) for table in _tables()}
            differing = [
                digest.name
                for digest in summary.tables
                if (stored[digest.name].rows, stored[digest.name].sha256) != (digest.rows, digest.sha256)
            ]
            if differing:
                raise Conflict(
                    f"the restore was checked and refused, nothing was stored: the rows read back from "
                    f"{self.describe()} differ from the backup for {', '.join(differing)}"
                )
            if connection.dialect.name == "postgresql":
                _continue_sequences(connection)
        return summary


def _continue_sequences(connection: Connection) -> None:
    """On PostgreSQL, set each id sequence past the restored ids, so the next insert takes a new one."""
    for table in _tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(storage_type(key[0].type), sa.Integer):
            continue
        sequence = connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": key[0].name}
        )
        if sequence is None:
            continue
        highest = connection.scalar(select(func.max(key[0])))
        if highest is not None:
            connection.execute(text("SELECT setval(:sequence, :value)"), {"sequence": sequence, "value": highest})
