"""The `opencdmo` command line. Thin over the services: parse, call a use case, print.

Errors become a message on stderr and an exit code, never a traceback (set OPENCDMO_DEBUG=1 to see one):
2 for bad input (a file, a flag), 1 for every other refusal, 70 for a bug.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from opencdmo import domain
from opencdmo.adapters import db, scenario_file
from opencdmo.bootstrap import App, bootstrap
from opencdmo.errors import ConfigurationError, InputError, OpenCDMOError
from opencdmo.services import scenarios

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 70

app = typer.Typer(
    name="opencdmo",
    help="OpenCDMO: plan and run a contract manufacturing network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the error tree into a message and an exit code, once for every command."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            raise _fail(str(error), EXIT_BAD_INPUT) from None
        except OpenCDMOError as error:
            raise _fail(str(error), EXIT_REFUSED) from None
        except DBAPIError as error:
            raise _fail(f"the database refused the operation: {error.orig}", EXIT_REFUSED) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            if os.environ.get("OPENCDMO_DEBUG"):
                raise
            raise _fail(
                f"internal error ({type(error).__name__}: {error}); rerun with OPENCDMO_DEBUG=1 for details",
                EXIT_BUG,
            ) from None

    return wrapper


def _app() -> App:
    return bootstrap()


@contextmanager
def _ready_app() -> Iterator[App]:
    """The application, refusing politely when the database has not been initialised."""
    with _app() as application:
        if not db.schema_is_current(application.engine):
            raise _not_initialised(application)
        yield application


def _not_initialised(application: App) -> ConfigurationError:
    return ConfigurationError(
        f"the database {db.describe(application.engine)} is not initialised or is out of date; "
        "run 'opencdmo init' first"
    )


@contextmanager
def _steps(title: str) -> Iterator[Callable[[str], None]]:
    """A progress display for multi-step work; yields a callback that announces the current step."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=None, step="")

        def announce(step: str) -> None:
            progress.update(task, step=step)

        yield announce


def _write(scenario: domain.Scenario, path: Path) -> None:
    try:
        scenario_file.write_scenario(scenario, path)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


def _print_counts(counts: dict[str, int]) -> None:
    shown = {name: counts[name] for name in ("sites", "suites", "sponsors", "programs", "orders", "batches")}
    out.print(", ".join(f"{count:,} {name}" for name, count in shown.items()))


@app.command()
@handle_errors
def init() -> None:
    """Create the database schema, or bring it up to date (safe to run again)."""
    with _app() as application:
        db.upgrade(application.engine)
        out.print(f"database ready: {db.describe(application.engine)}")


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
) -> None:
    """Build a realistic demo CDMO network and order book, and load it (or write it with --write)."""
    from opencdmo.demo import build_demo

    if write:
        with _steps("building the demo CDMO") as announce:
            scenario = build_demo(sites=sites, batches=batches, seed=seed, progress=announce)
            announce(f"writing {write}")
            _write(scenario, write)
        out.print(f"wrote the demo scenario to {write}")
        return
    with _ready_app() as application, _steps("building the demo CDMO") as announce:
        scenario = build_demo(sites=sites, batches=batches, seed=seed, progress=announce)
        counts = scenarios.import_scenario(application.unit_of_work(), scenario, replace=replace, progress=announce)
    out.print("loaded the demo CDMO: ", end="")
    _print_counts(counts)


@app.command("import")
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML), see docs/scenario-format.md.")],
    replace: Annotated[bool, typer.Option(help="Replace whatever the database holds.")] = False,
) -> None:
    """Load a scenario file in one transaction: all of it, or nothing if any part is wrong."""
    with _ready_app() as application, _steps(f"importing {file}") as announce:
        announce("reading the file")
        scenario = scenario_file.read_scenario(file)
        counts = scenarios.import_scenario(application.unit_of_work(), scenario, replace=replace, progress=announce)
    out.print(f"imported {file}: ", end="")
    _print_counts(counts)


@app.command()
@handle_errors
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the scenario file.")],
) -> None:
    """Write the stored network and order book to a scenario file."""
    with _ready_app() as application, _steps("exporting") as announce:
        announce("reading the database")
        scenario = scenarios.export_scenario(application.unit_of_work())
        announce(f"writing {output}")
        _write(scenario, output)
    batch_count = sum(1 for _ in scenario.batches)
    out.print(f"exported {len(scenario.sites)} sites, {len(scenario.orders)} orders, {batch_count} batches to {output}")


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
    with _ready_app() as application:
        summary = scenarios.summarise(application.unit_of_work())
        database = db.describe(application.engine)
    if as_json:
        document: dict[str, Any] = {"database": database, **asdict(summary)}
        out.print_json(json.dumps(document, default=_json_default))
        return
    out.print(f"[bold]database[/] {database}", highlight=False)
    if summary.is_empty:
        out.print("the database is empty: load a network with 'opencdmo demo' or 'opencdmo import FILE'")
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
    out.print(table)


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
    out.print(table)
    statuses = ", ".join(f"{count:,} {status}" for status, count in summary.batches_by_status.items() if count)
    modalities = ", ".join(f"{count:,} {name}" for name, count in summary.batches_by_modality.items())
    out.print(f"[bold]batches by status[/]  {statuses}", highlight=False)
    out.print(f"[bold]batches by modality[/]  {modalities}", highlight=False)
    out.print(
        f"[bold]order book[/]  releases from {summary.first_release}, due by {summary.last_due}, "
        f"value USD {summary.order_book_value:,.0f}",
        highlight=False,
    )


def main() -> None:
    app(prog_name="opencdmo")


if __name__ == "__main__":
    main()
