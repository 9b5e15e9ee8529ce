"""Commands on training records: opencdmo training grant | list."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.errors import InputError
from opencdmo.services import audit, training

trainings = typer.Typer(
    name="training", help="Record and list who is trained on which procedure (P11-09).", no_args_is_help=True
)
app.add_typer(trainings, name="training")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date such as 2027-03-01") from None


@trainings.command("grant")
@handle_errors
def grant(
    username: Annotated[str, typer.Argument(help="The trained user, e.g. 'op.jones'.")],
    procedure: Annotated[str, typer.Argument(help="The procedure's code, e.g. 'MBR-MAB-DS' or 'QCM-HPLC-ASSAY'.")],
    on: Annotated[str | None, typer.Option("--on", help="Day of the training (default: today, UTC).")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="First day the training is no longer valid (YYYY-MM-DD).")
    ] = None,
    months: Annotated[
        int | None,
        typer.Option("--months", min=1, max=training.MAX_MONTHS, help="Months of validity (default 12)."),
    ] = None,
) -> None:
    """Record that a user was trained on a procedure; valid from --on up to --until (or --months)."""
    trained_on = _day(on, "--on") or training.today()
    valid_until = training.valid_until(trained_on, until=_day(until, "--until"), months=months)
    with ready_app() as application:
        record = training.grant(
            application.unit_of_work(),
            username,
            procedure,
            trained_on=trained_on,
            valid_until=valid_until,
            actor=audit.SYSTEM,
        )
    ui.out.print(
        f"recorded: {record.username} trained on {record.procedure} on {record.trained_on.isoformat()}, "
        f"valid until {record.valid_until.isoformat()} (expires that day)"
    )


@trainings.command("list")
@handle_errors
def list_(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's records, with their history.")] = None,
) -> None:
    """Show where each user stands on each procedure; with --user, every record of that user."""
    today = training.today()
    with ready_app() as application:
        if user is None:
            rows = training.matrix(application.unit_of_work(), today)
            table = Table("user", "role", "procedure", "trained on", "expires on", "status", title="Training")
            for row in rows:
                name = row.username if row.active else f"{row.username} (deactivated)"
                table.add_row(
                    name,
                    row.role,
                    row.procedure,
                    row.trained_on.isoformat(),
                    row.valid_until.isoformat(),
                    row.status.value,
                )
            ui.out.print(table)
            ui.out.print(f"{len(rows)} user-procedure pair(s), as of {today.isoformat()}")
            return
        records = training.of_user(application.unit_of_work(), user)
    table = Table("procedure", "trained on", "expires on", "status", "recorded by", "recorded at (UTC)", title=user)
    for record in records:
        table.add_row(
            record.procedure,
            record.trained_on.isoformat(),
            record.valid_until.isoformat(),
            record.status(today).value,
            record.recorded_by,
            f"{record.recorded_at:%Y-%m-%d %H:%M}",
        )
    ui.out.print(table)
    ui.out.print(f"{len(records)} training record(s) of {user}")
