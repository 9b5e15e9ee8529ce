"""Commands on the stored network: init, demo, import, export, status."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from opencdmo import domain
from opencdmo.adapters import db, scenario_file
from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, open_app, ready_app
from opencdmo.errors import InputError
from opencdmo.services import scenarios


def _write(scenario: domain.Scenario, path: Path) -> None:
    try:
        scenario_file.write_scenario(scenario, path)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


def _print_counts(counts: dict[str, int]) -> None:
    shown = {name: counts[name] for name in ("sites", "suites", "sponsors", "programs", "orders", "batches")}
    ui.out.print(", ".join(f"{count:,} {name}" for name, count in shown.items()))


@app.command()
@handle_errors
def init() -> None:
    """Create the database schema, or bring it up to date (safe to run again)."""
    with open_app() as application:
        db.upgrade(application.engine)
        ui.out.print(f"database ready: {db.describe(application.engine)}")


@app.command()
@handle_errors
def demo(
    sites: Annotated[int, typer.Option(min=1, max=100, help="Number of sites.")] = 5,
    batches: Annotated[int, typer.Option(min=0, max=100_000, help="Number of batches in the order book.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed builds the same CDMO.")] = 2027,
    write: Annotated[
        Path | None, typer.Option("--write", help="Write the scenario file here instead of loading it.")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace whatever the database holds.")] = False,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Build the demo only when the database holds no network; else keep it."),
    ] = False,
) -> None:
    """Build a realistic demo CDMO network and order book, and load it (or write it with --write).

    A database holding GMP records cannot be replaced (they are never deleted): --if-empty keeps whatever
    network is there, which is what a second `make run` does.
    """
    from opencdmo.demo import build_demo

    if if_empty and (replace or write):
        raise InputError("--if-empty goes with neither --replace nor --write")
    if if_empty:
        with ready_app() as application:
            kept = not scenarios.summarise(application.unit_of_work()).is_empty
            location = application.engine.url
        if kept:
            afresh = (
                f"remove {location.database} and run it again"
                if location.get_backend_name() == "sqlite" and location.database
                else "use a new, empty database"
            )
            ui.out.print(
                f"the database already holds a network: the existing demo is kept (to start afresh, {afresh})",
                soft_wrap=True,
            )
            return
    if write:
        with ui.steps("building the demo CDMO") as announce:
            scenario = build_demo(sites=sites, batches=batches, seed=seed, progress=announce)
            announce(f"writing {write}")
            _write(scenario, write)
        ui.out.print(f"wrote the demo scenario to {write}")
        return
    with ready_app() as application, ui.steps("building the demo CDMO") as announce:
        scenario = build_demo(sites=sites, batches=batches, seed=seed, progress=announce)
        counts = scenarios.import_scenario(application.unit_of_work(), scenario, replace=replace, progress=announce)
    ui.out.print("loaded the demo CDMO: ", end="")
    _print_counts(counts)


@app.command("demo-users")
@handle_errors
def demo_users() -> None:
    """Add a demo user per role and for two sponsors with generated passwords, printed once.

    Run again, it resets their passwords and prints the new ones; deactivated users stay deactivated.
    """
    from opencdmo.demo.users import ensure_demo_users

    with ready_app() as application:
        logins = ensure_demo_users(application.unit_of_work())
    # Plain aligned lines rather than a table: a narrow terminal must never cut or wrap a name or a password.
    rows = [("username", "role", "password", "sponsor")]
    for login in logins:
        secret = login.password or f"- ({login.outcome.value})"
        rows.append((login.username, login.role.value, secret, login.sponsor or ""))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    ui.say("Demo sign-ins")
    for row in rows:
        line = "  ".join(value.ljust(width) for value, width in zip(row[:3], widths, strict=True))
        ui.out.print(f"  {line}  {row[3]}".rstrip(), soft_wrap=True)
    ui.out.print(
        "Passwords are shown once and stored only hashed: run 'opencdmo demo-users' again for new ones.", soft_wrap=True
    )


@app.command("import")
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML), see docs/scenario-format.md.")],
    replace: Annotated[bool, typer.Option(help="Replace whatever the database holds.")] = False,
) -> None:
    """Load a scenario file in one transaction: all of it, or nothing if any part is wrong.

    The import is checked (EU GMP Annex 11 §4.8): each kind of record is counted and hashed as read from the file
    and again as read back from the database before the commit; any difference stores nothing.
    """
    with ready_app() as application, ui.steps(f"importing {file}") as announce:
        announce("reading the file")
        scenario = scenario_file.read_scenario(file)
        report = scenarios.import_checked(
            application.unit_of_work(),
            scenario,
            source=file.name,
            document=scenario_file.scenario_document,
            replace=replace,
            progress=announce,
        )
    _print_checks(report)
    ui.out.print(f"imported {file}: ", end="")
    _print_counts(report.row_counts)


def _print_checks(report: scenarios.ImportReport) -> None:
    table = Table("kind", "in the file", "read back", "sha-256 (file = database)", "check", title="Import check")
    for check in report.checks:
        table.add_row(
            check.kind,
            f"{check.file_count:,}",
            f"{check.stored_count:,}",
            check.file_sha256,
            "match" if check.matches else "DIFFERS",
        )
    ui.out.print(table)


@app.command()
@handle_errors
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the scenario file.")],
) -> None:
    """Write the stored network and order book to a scenario file."""
    with ready_app() as application, ui.steps("exporting") as announce:
        announce("reading the database")
        scenario = scenarios.export_scenario(application.unit_of_work())
        announce(f"writing {output}")
        _write(scenario, output)
    batch_count = sum(1 for _ in scenario.batches)
    ui.out.print(
        f"exported {len(scenario.sites)} sites, {len(scenario.orders)} orders, {batch_count} batches to {output}"
    )


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@app.command()
@handle_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Show what the database holds: the network, the sponsors and the order book."""
    with ready_app() as application:
        summary = scenarios.summarise(application.unit_of_work())
        database = db.describe(application.engine)
    if as_json:
        document: dict[str, Any] = {"database": database, **asdict(summary)}
        ui.out.print_json(json.dumps(document, default=_json_default))
        return
    ui.say("database", database)
    if summary.is_empty:
        ui.out.print("the database is empty: load a network with 'opencdmo demo' or 'opencdmo import FILE'")
        return
    _print_network(summary)
    _print_order_book(summary)


def _print_network(summary: scenarios.NetworkSummary) -> None:
    table = Table(title="Network", title_justify="left")
    table.add_column("site", no_wrap=True)
    table.add_column("region")
    table.add_column("suites", justify="right")
    table.add_column("suite mix")
    table.add_column("downtime windows", justify="right")
    for site in summary.sites:
        mix = ", ".join(f"{count} {kind}" for kind, count in site.suites_by_kind.items())
        table.add_row(site.name, site.region, str(sum(site.suites_by_kind.values())), mix, str(site.downtime_windows))
    ui.out.print(table)


def _print_order_book(summary: scenarios.NetworkSummary) -> None:
    table = Table(title="Sponsors and order book", title_justify="left")
    table.add_column("sponsor", no_wrap=True)
    table.add_column("size")
    for column in ("programs", "orders", "batches", "order value (USD)"):
        table.add_column(column, justify="right")
    for line in summary.sponsors:
        table.add_row(
            line.name, line.size, str(line.programs), str(line.orders), f"{line.batches:,}", f"{line.order_value:,.0f}"
        )
    ui.out.print(table)
    statuses = ", ".join(f"{count:,} {status}" for status, count in summary.batches_by_status.items() if count)
    modalities = ", ".join(f"{count:,} {name}" for name, count in summary.batches_by_modality.items())
    ui.say("batches by status", statuses)
    ui.say("batches by modality", modalities)
    ui.say(
        "order book",
        f"releases from {summary.first_release}, due by {summary.last_due}, value USD {summary.order_book_value:,.0f}",
    )
