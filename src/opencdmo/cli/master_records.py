"""Commands on master batch records: opencdmo master-records list | draft | show.

A draft written here is authored by ``system`` (the command line's actor in the audit trail); the quality unit
approves it by electronic signature in the web application or the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.domain.master_records import MasterStep
from opencdmo.errors import DomainError, InputError, NotFound
from opencdmo.services import audit, master_records

masters = typer.Typer(
    name="master-records",
    help="Write and review master batch records: the approved instructions batches are made by.",
    no_args_is_help=True,
)
app.add_typer(masters, name="master-records")


def _approval(view: master_records.MasterRecordView) -> str:
    approval = view.approval
    if approval is None:
        return ""
    return approval.manifestation + ("" if approval.intact else " BROKEN: the record changed after signing")


@masters.command("list")
@handle_errors
def list_() -> None:
    """Every version of every process's master record, with its status and approval signature."""
    with ready_app() as application:
        views = master_records.list_records(application.unit_of_work())
    table = Table("process", "version", "title", "procedure", "status", "steps", "written by", "approval")
    for view in views:
        record = view.record
        table.add_row(
            record.process.name,
            f"v{record.version}",
            record.title,
            record.procedure,
            record.status.value,
            str(len(record.steps)),
            record.created_by,
            _approval(view),
        )
    ui.out.print(table)
    ui.out.print(f"{len(views)} version(s)")


def _read_steps(path: Path) -> list[MasterStep]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the file ({error})") from None
    try:
        return master_records.steps_from_yaml(text)
    except DomainError as error:
        raise InputError(f"{path}: {error.message}") from None


@masters.command("draft")
@handle_errors
def draft(
    process: Annotated[str, typer.Argument(help="The process template, e.g. 'mAb fed-batch 2000 L'.")],
    steps_file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.yaml",
            help="The steps: a YAML list of {title, instructions, parameters: [{name, kind, unit, low, high, "
            "critical, verify}]}.",
        ),
    ],
    procedure: Annotated[str, typer.Option("--procedure", help="The procedure code, e.g. 'MBR-MAB-2000'.")],
    title: Annotated[str, typer.Option("--title", help="The title of the master record.")],
) -> None:
    """Write the next version of a process's master record as a draft, its steps from a YAML file."""
    steps = _read_steps(steps_file)
    with ready_app() as application:
        record = master_records.draft(
            application.unit_of_work(), process, procedure=procedure, title=title, steps=steps, actor=audit.SYSTEM
        )
    ui.out.print(
        f"draft written: {record.process.name} v{record.version} ({record.title}, procedure {record.procedure}), "
        f"{len(record.steps)} step(s); the quality unit approves it by electronic signature"
    )


@masters.command("show")
@handle_errors
def show(
    process: Annotated[str, typer.Argument(help="The process template, e.g. 'mAb fed-batch 2000 L'.")],
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="The version (default: the approved one, else the latest)."),
    ] = None,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print only the steps, as the YAML 'draft' reads (to edit a copy).")
    ] = False,
) -> None:
    """Show one version of a process's master record: its steps and its signatures."""
    with ready_app() as application:
        if version is None:
            views = master_records.versions(application.unit_of_work(), process)
            approved = [view for view in views if view.record.status.value == "approved"]
            chosen = approved[-1] if approved else (views[-1] if views else None)
            if chosen is None:
                raise NotFound("master batch record", process)
            view = chosen
        else:
            view = master_records.get(application.unit_of_work(), process, version)
    record = view.record
    if as_yaml:
        typer.echo(master_records.steps_to_yaml(record.steps), nl=False)
        return
    ui.say(f"{record.process.name} v{record.version}", f"{record.title} · {record.status.value}")
    ui.say("procedure", record.procedure)
    ui.say("written", f"{record.created_at:%Y-%m-%d %H:%M} UTC by {record.created_by}")
    table = Table("#", "step", "instructions", "values recorded")
    for step in record.steps:
        values = "\n".join(
            f"{parameter.name} ({parameter.kind.value}"
            + (f", {parameter.spec}" if parameter.spec else "")
            + (", critical" if parameter.critical else ", verified" if parameter.verify else "")
            + ")"
            for parameter in step.parameters
        )
        table.add_row(str(step.position), step.title, step.instructions, values)
    ui.out.print(table)
    if not view.signatures:
        ui.say("signatures", "none")
    for signature in view.signatures:
        ui.say("signature", signature.manifestation + ("" if signature.intact else " BROKEN"))
