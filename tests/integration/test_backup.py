"""Backup and restore (P11-03, A11-04) between SQLite and PostgreSQL: every table round-trips, the audit chain still
verifies, and a tampered file, a full database or another schema revision is refused."""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from opencdmo import domain
from opencdmo.adapters import db, orm, scenario_file
from opencdmo.adapters.backup import SqlDatabase, _snapshot, verify_file
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.errors import Conflict, InputError
from opencdmo.services import accounts, audit, backup, scenarios, training
from opencdmo.services.planning import PlanOptions, plan_network
from tests.conftest import POSTGRES_URL_VARIABLE, SAMPLE_SCENARIO, postgres_url

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of each backend to restore into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE}")
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.parse_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def target(target_url: str) -> Iterator[App]:
    application = bootstrap(Settings(database_url=target_url))
    yield application
    application.close()


@pytest.fixture
def source(app: App) -> App:
    """A database with the network, users and tokens, training, and an audit trail over all of it."""
    scenarios.import_checked(
        app.unit_of_work(),
        scenario_file.read_scenario(SAMPLE_SCENARIO),
        source=SAMPLE_SCENARIO.name,
        document=scenario_file.scenario_document,
    )
    accounts.add_user(app.unit_of_work(), "ana", domain.Role.PLANNER, password=PASSWORD)
    accounts.add_user(app.unit_of_work(), "op.jones", domain.Role.OPERATOR, password=PASSWORD)
    accounts.add_user(app.unit_of_work(), "hx", domain.Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    accounts.issue_token(app.unit_of_work(), "ana")
    training.grant(
        app.unit_of_work(),
        "op.jones",
        "MBR-MAB-DS",
        trained_on=date(2026, 1, 10),
        valid_until=date(2036, 1, 10),
        actor="qa.lead",
    )
    return app


def _row_counts(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {
            table.name: int(connection.scalar(text(f'SELECT COUNT(*) FROM "{table.name}"')) or 0)
            for table in orm.metadata.sorted_tables
        }


def _backup(app: App, path: Path) -> backup.BackupSummary:
    return backup.backup(SqlDatabase(app.engine), app.unit_of_work(), path, actor="qa.lead")


def _restore(target: App, path: Path) -> backup.RestoreReport:
    return backup.restore(SqlDatabase(target.engine), target.unit_of_work(), path, actor="qa.lead")


def test_a_backup_restores_every_table_with_an_intact_audit_trail(source: App, target: App, tmp_path: Path) -> None:
    plan_network(source.unit_of_work(), PlanOptions(time_limit=1, workers=1))  # floats, booleans, big integers
    counts = _row_counts(source)
    events = audit.verify(source.unit_of_work()).checked
    path = tmp_path / "opencdmo.backup.jsonl.gz"
    summary = _backup(source, path)
    assert {table.name: table.rows for table in summary.tables} == counts
    assert {table.name for table in summary.tables} == {table.name for table in orm.metadata.sorted_tables}
    assert summary.rows_of("schedule_operations") > 0
    assert summary.rows_of("training_records") == 1
    assert summary.schema_revision == SqlDatabase(source.engine).expected_revision()
    # The source records the backup (after the copy, which therefore does not hold that event).
    (backed_up,) = audit.search(source.unit_of_work(), audit.AuditQuery(record_type="database"))
    assert (backed_up.username, backed_up.action, backed_up.record_id) == ("qa.lead", "backup", path.name)
    assert json.loads(backed_up.new_value or "")["tables"]["users"]["rows"] == 3

    report = _restore(target, path)
    assert report.audit.intact
    assert report.audit.checked == events
    restored = _row_counts(target)
    assert restored == {**counts, "audit_events": events + 1}  # + the restore's own event
    assert audit.verify(target.unit_of_work()).intact
    (restore_event,) = audit.search(target.unit_of_work(), audit.AuditQuery(record_type="database"))
    assert (restore_event.action, restore_event.sequence) == ("restore", events + 1)
    # The same records: the scenario, the users (who can still sign in), their training, the plan.
    assert scenario_file.dump_scenario(scenarios.export_scenario(target.unit_of_work())) == scenario_file.dump_scenario(
        scenarios.export_scenario(source.unit_of_work())
    )
    assert accounts.authenticate(target.unit_of_work(), "ana", PASSWORD).role is domain.Role.PLANNER
    with target.unit_of_work() as uow:
        training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2027, 3, 1))
        version = uow.schedules.get()
        assert version is not None
        assert version.kpis.batches > 0
    # New rows take new ids after the restored ones (PostgreSQL's sequences were moved past them).
    accounts.add_user(target.unit_of_work(), "new.user", domain.Role.VIEWER, password=PASSWORD)
    training.grant(
        target.unit_of_work(),
        "new.user",
        "QCM-HPLC-ASSAY",
        trained_on=date(2026, 1, 10),
        valid_until=date(2036, 1, 10),
        actor="qa.lead",
    )
    assert audit.verify(target.unit_of_work()).intact
    # Backed up again, the restored database gives the same rows and hashes (but for what was added since).
    again = _backup(target, tmp_path / "again.jsonl.gz")
    changed = {"audit_events", "users", "training_records"}
    assert {t.name: (t.rows, t.sha256) for t in again.tables if t.name not in changed} == {
        t.name: (t.rows, t.sha256) for t in summary.tables if t.name not in changed
    }


def _lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode("utf-8").splitlines(keepends=True)


def _write(path: Path, name: str, lines: list[str]) -> Path:
    tampered = path.with_name(name)
    tampered.write_bytes(gzip.compress("".join(lines).encode("utf-8")))
    return tampered


def _with_row_changed(path: Path, change: str, into: str) -> Path:
    """A copy of the backup with the first row (or table marker) holding ``change`` changed to ``into``."""
    lines = _lines(path)
    index = next(i for i, line in enumerate(lines) if i > 0 and change in line)
    lines[index] = lines[index].replace(change, into, 1)
    return _write(path, f"row-{uuid.uuid4().hex[:8]}-{path.name}", lines)


def _with_header(path: Path, **changes: object) -> Path:
    """A copy of the backup with header fields changed (``rows_of_TABLE=N`` changes a table's count)."""
    lines = _lines(path)
    header = json.loads(lines[0])
    for name, value in changes.items():
        if name.startswith("rows_of_"):
            next(t for t in header["tables"] if t["name"] == name.removeprefix("rows_of_"))["rows"] = value
        else:
            header[name] = value
    lines[0] = json.dumps(header) + "\n"
    return _write(path, f"header-{uuid.uuid4().hex[:8]}-{path.name}", lines)


def test_a_tampered_backup_is_refused_and_nothing_is_restored(source: App, target: App, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl.gz"
    _backup(source, path)
    for tampered, problem in (
        (_with_row_changed(path, '"Site B Leiden"', '"Site B Leyden"'), "rows of table sites do not match their SHA"),
        (_with_header(path, rows_of_audit_events=1), "table audit_events holds .* row.* where the header says 1"),
        (_with_row_changed(path, '{"table":"users"}', '{"table":"sponsors"}'), "found the rows of table 'sponsors'"),
    ):
        with pytest.raises(InputError, match=problem):
            _restore(target, tampered)
    assert SqlDatabase(target.engine).held_rows() == {}
    assert not db.schema_is_current(target.engine)
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError, match="damaged"):
        _restore(target, truncated)
    plain = tmp_path / "plain.jsonl"
    plain.write_text("hello\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a gzip-compressed backup"):
        _restore(target, plain)
    with pytest.raises(InputError, match="no such file"):
        _restore(target, tmp_path / "absent.jsonl.gz")


def test_restore_refuses_a_database_that_is_not_empty(source: App, target: App, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl.gz"
    _backup(source, path)
    before = _row_counts(source)
    with pytest.raises(Conflict, match="is not empty"):
        _restore(source, path)
    assert _row_counts(source) == before
    _restore(target, path)
    with pytest.raises(Conflict, match="is not empty"):
        _restore(target, path)


def test_restore_refuses_another_schema_revision(source: App, target: App, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl.gz"
    summary = _backup(source, path)
    assert summary.schema_revision != "0123abcd"
    older = _with_header(path, schema_revision="0123abcd")
    with pytest.raises(Conflict, match="holds schema revision 0123abcd"):
        _restore(target, older)
    assert not db.schema_is_current(target.engine)


def test_a_backup_reads_one_snapshot_of_the_database(source: App) -> None:
    """While a backup reads, what another writer commits is not seen."""

    def sponsors(connection: Connection) -> int:
        return int(connection.scalar(text("SELECT COUNT(*) FROM sponsors")) or 0)

    with _snapshot(source.engine) as reading:
        assert sponsors(reading) == 2
        if source.engine.dialect.name == "sqlite":
            # In WAL mode the writer commits and the reader keeps its snapshot; in rollback-journal mode the
            # writer waits for the reader (and here gives up): either way the backup never sees half a change.
            writer = sqlite3.connect(source.engine.url.database or "", timeout=0.2)
            writer.execute("INSERT INTO sponsors (name, size) VALUES ('Orbit', 'small')")
            with contextlib.suppress(sqlite3.OperationalError):
                writer.commit()
            writer.close()
        else:
            with source.engine.begin() as writing:
                writing.execute(text("INSERT INTO sponsors (name, size) VALUES ('Orbit', 'small')"))
        assert sponsors(reading) == 2


@pytest.mark.parametrize(
    ("first_line", "problem"),
    [
        ("", "the file is empty"),
        ("[1, 2]\n", "not an OpenCDMO backup"),
        ('{"format": "pg_dump"}\n', "not an OpenCDMO backup"),
        ('{"format": "opencdmo-backup", "version": 2}\n', "format version 2 is not supported"),
        ('{"format": "opencdmo-backup", "version": 1}\n', "the backup header is damaged: schema_revision"),
        (
            json.dumps(
                {
                    "format": "opencdmo-backup",
                    "version": 1,
                    "schema_revision": "x",
                    "created_at": "2027-01-01T00:00:00+00:00",
                    "source": "sqlite",
                    "tables": [{"name": "users", "columns": ["id"], "rows": 0, "sha256": "0" * 64}] * 2,
                }
            )
            + "\n",
            "a table is listed twice",
        ),
    ],
)
def test_a_file_that_is_no_backup_is_refused(tmp_path: Path, first_line: str, problem: str) -> None:
    path = tmp_path / "odd.jsonl.gz"
    path.write_bytes(gzip.compress(first_line.encode("utf-8")))
    with pytest.raises(InputError, match=problem):
        verify_file(path)
