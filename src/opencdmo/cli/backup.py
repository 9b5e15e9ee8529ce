"""Commands on backups: opencdmo backup FILE | restore FILE --into DATABASE_URL (P11-03, A11-04)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opencdmo.adapters.backup import SqlDatabase
from opencdmo.bootstrap import bootstrap
from opencdmo.cli import ui
from opencdmo.cli.app import EXIT_REFUSED, app, handle_errors, ready_app
from opencdmo.config import Settings
from opencdmo.services import backup as backups
from opencdmo.services.backup import BackupSummary


def _print_tables(summary: BackupSummary) -> None:
    table = Table("table", "rows", "sha-256", title=f"schema revision {summary.schema_revision}")
    for digest in summary.tables:
        table.add_row(digest.name, f"{digest.rows:,}", digest.sha256)
    ui.out.print(table)


@app.command("backup")
@handle_errors
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (gzip-compressed JSON lines).")],
) -> None:
    """Write a consistent copy of the whole database (audit trail, signatures and users included) to FILE."""
    with ready_app() as application, ui.steps(f"backing up to {file}") as announce:
        announce("reading the database")
        summary = backups.backup(SqlDatabase(application.engine), application.unit_of_work(), file)
        source = SqlDatabase(application.engine).describe()
    _print_tables(summary)
    ui.out.print(
        f"backed up {summary.total_rows:,} rows of {len(summary.tables)} tables from {source} to {file}", soft_wrap=True
    )


@app.command("restore")
@handle_errors
def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by 'opencdmo backup'.")],
    into: Annotated[
        str,
        typer.Option(
            "--into",
            help="URL of an EMPTY database to restore into, e.g. sqlite:///var/restored.sqlite3 or "
            "postgresql+psycopg://USER@HOST:PORT/DB; its schema is created first.",
        ),
    ],
) -> None:
    """Restore a backup into an empty database, and check its counts, hashes and audit trail."""
    with bootstrap(Settings(database_url=into)) as target, ui.steps(f"restoring {file}") as announce:
        announce("checking the file and loading it")
        database = SqlDatabase(target.engine)
        report = backups.restore(database, target.unit_of_work(), file)
        where = database.describe()
    _print_tables(report.summary)
    ui.out.print(
        f"restored {report.summary.total_rows:,} rows of {len(report.summary.tables)} tables into {where}; "
        "counts and SHA-256 of every table match the backup",
        soft_wrap=True,
    )
    verdict = report.audit
    if verdict.first_break is not None:
        raise ui.fail(
            f"the restored audit trail is broken at event {verdict.first_break.sequence} "
            f"({verdict.first_break.kind.value}): {verdict.first_break.detail}",
            EXIT_REFUSED,
        )
    ui.out.print(f"audit trail intact: {verdict.checked} event(s) verified, head hash {verdict.head_hash}")
