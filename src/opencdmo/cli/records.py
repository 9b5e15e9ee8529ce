"""Commands on executed batch records: opencdmo batch-record export LOT --format html|pdf|json --output FILE."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from opencdmo.adapters import exports
from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.cli.audit import write_output
from opencdmo.services import audit, batch_record_export

records = typer.Typer(name="batch-record", help="Export executed batch records.", no_args_is_help=True)
app.add_typer(records, name="batch-record")


class RecordFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    JSON = "json"


@records.command("export")
@handle_errors
def export(
    lot: Annotated[str, typer.Argument(help="The batch's lot number.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write ('-' for standard output).")],
    record_format: Annotated[
        RecordFormat, typer.Option("--format", help="html (printable), pdf or json (machine-readable).")
    ] = RecordFormat.PDF,
) -> None:
    """Write the complete batch record of LOT: entries with corrections, deviations, QC, every signature (BROKEN
    when the record changed after signing), the batch's audit trail and whether the audit chain verifies."""
    with ready_app() as application:
        view = batch_record_export.build(application.unit_of_work(), lot, viewer=audit.SYSTEM)
    if record_format is RecordFormat.HTML:
        content: str | bytes = exports.to_html(view)
    elif record_format is RecordFormat.PDF:
        content = exports.to_pdf(view)
    else:
        content = exports.to_json(view)
    write_output(output, content)
    if view.broken_signatures:
        ui.err.print(
            f"warning: {view.broken_signatures} signature(s) of {view.lot_number} are BROKEN: "
            "the signed content changed after signing"
        )
    if not view.audit_chain_intact:
        ui.err.print("warning: the audit trail's chain does not verify: run 'opencdmo audit verify'")
    if str(output) != "-":
        ui.out.print(
            f"wrote the batch record of {view.lot_number} ({view.status}, {len(view.entries)} entries, "
            f"{len(view.audit_trail)} audit events) to {output} ({record_format.value})"
        )
