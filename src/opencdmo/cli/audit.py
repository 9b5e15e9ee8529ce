"""Commands on the audit trail: opencdmo audit verify | show | export."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opencdmo.cli import ui
from opencdmo.cli.app import EXIT_REFUSED, app, handle_errors, ready_app
from opencdmo.domain.audit import AuditEvent
from opencdmo.errors import InputError
from opencdmo.services import audit

trail = typer.Typer(name="audit", help="Verify and review the tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(trail, name="audit")


@trail.command("verify")
@handle_errors
def verify(
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Events read from the database at a time.")
    ] = audit.DEFAULT_BATCH_SIZE,
) -> None:
    """Check every stored event against its hash and the chain; exit 1 naming the first broken event."""
    with ready_app() as application:
        verdict = audit.verify(application.unit_of_work(), batch_size=batch_size)
    if verdict.first_break is not None:
        broken = verdict.first_break
        raise ui.fail(
            f"the audit trail is broken at event {broken.sequence} ({broken.kind.value}): {broken.detail}; "
            f"the {verdict.checked} event(s) before it are intact",
            EXIT_REFUSED,
        )
    ui.out.print(f"audit trail intact: {verdict.checked} event(s) verified, head hash {verdict.head_hash}")


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not an ISO date or time, e.g. 2026-11-26T14:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _document(event: AuditEvent) -> dict[str, object]:
    return {**dataclasses.asdict(event), "occurred_at": event.occurred_at.isoformat()}


@trail.command("show")
@handle_errors
def show(
    record_type: Annotated[str | None, typer.Option(help="Only events on this kind of record, e.g. 'order'.")] = None,
    record_id: Annotated[
        str | None, typer.Option(help="Only events on the record with this id, e.g. 'HLX-0001'.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Only events by this username ('system' for the CLI).")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on (ISO 8601; UTC when no zone is given).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601; UTC when no zone is given).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.MAX_SEARCH_RESULTS, help="At most this many events.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """List audit events, oldest first, filtered by record, user and time window."""
    query = audit.AuditQuery(
        record_type=record_type,
        record_id=record_id,
        username=user,
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        limit=limit,
    )
    with ready_app() as application:
        events = audit.search(application.unit_of_work(), query)
    if as_json:
        typer.echo(json.dumps([_document(event) for event in events], ensure_ascii=False, indent=2))
        return
    table = Table("#", "time (UTC)", "user", "action", "record", "field", "old", "new", "reason")
    for event in events:
        table.add_row(
            str(event.sequence),
            event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            event.username,
            event.action,
            f"{event.record_type} {event.record_id}",
            event.field or "",
            event.old_value or "",
            event.new_value or "",
            event.reason or "",
        )
    ui.out.print(table)
    ui.out.print(f"{len(events)} event(s)")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def write_output(output: Path, content: str | bytes) -> None:
    """Write an export to ``output`` ('-' for standard output), refusing a directory or a missing parent."""
    if str(output) == "-":
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
        else:
            typer.echo(content, nl=False)
        return
    if output.is_dir():
        raise InputError(f"--output: {output} is a directory; give a file name")
    if not output.parent.is_dir():
        raise InputError(f"--output: the directory {output.parent} does not exist")
    if isinstance(content, bytes):
        output.write_bytes(content)
    else:
        output.write_text(content, encoding="utf-8", newline="")


@trail.command("export")
@handle_errors
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write ('-' for standard output).")],
    export_format: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.CSV,
    record_type: Annotated[str | None, typer.Option(help="Only events on this kind of record, e.g. 'order'.")] = None,
    record_id: Annotated[str | None, typer.Option(help="Only events on the record with this id.")] = None,
    tree: Annotated[
        bool, typer.Option("--tree", help="With --record-id: also every record under it (a batch's whole trail).")
    ] = False,
    user: Annotated[str | None, typer.Option(help="Only events by this username ('system' for the CLI).")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on (ISO 8601; UTC when no zone is given).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601; UTC when no zone is given).")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=audit.MAX_SEARCH_RESULTS, help="At most this many events.")
    ] = audit.MAX_SEARCH_RESULTS,
) -> None:
    """Export audit events, oldest first, as CSV (every column, one row each) or JSON."""
    query = audit.AuditQuery(
        record_type=record_type,
        record_id=record_id,
        record_tree=tree,
        username=user,
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        limit=limit,
    )
    with ready_app() as application:
        events = audit.search(application.unit_of_work(), query)
    content = audit.export_csv(events) if export_format is ExportFormat.CSV else audit.export_json(events)
    write_output(output, content)
    if str(output) != "-":
        ui.out.print(f"wrote {len(events)} event(s) to {output} ({export_format.value})")
