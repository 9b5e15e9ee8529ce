"""The `opencdmo` command line. Thin over the services: parse, call a use case, print.

Errors become a message on stderr and an exit code, never a traceback (set OPENCDMO_DEBUG=1 to see one):
2 for bad input (a file, a flag), 1 for every other refusal, 70 for a bug.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from opencdmo import domain
from opencdmo.adapters import db, scenario_file
from opencdmo.bootstrap import App, bootstrap
from opencdmo.errors import ConfigurationError, InputError, OpenCDMOError
from opencdmo.services import scenarios

if TYPE_CHECKING:
    from opencdmo.scheduling import Progress as SolveProgress
    from opencdmo.services.planning import PlanOptions, PlanReport, RescheduleReport

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


@app.command()
@handle_errors
def bench(
    files: Annotated[
        list[Path], typer.Argument(help="Instance files (FJSPLIB .fjs/.txt, JSSP text, PyJobShop .json).")
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="fjsp, jssp or pyjobshop; by default from each file's content.")
    ] = None,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per instance.")] = 60.0,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Solver threads.")] = 2,
    strategy: Annotated[str, typer.Option(help="auto, cpsat or greedy.")] = "auto",
    bks: Annotated[Path | None, typer.Option(help="bks.json with best-known bounds, to report RPD.")] = None,
) -> None:
    """Solve public scheduling instances: one JSON line per instance, then a table."""
    from opencdmo.bench_command import run_bench
    from opencdmo.scheduling import SchedulingError

    try:
        code = run_bench(files, fmt, time_limit, workers, strategy, bks, sys.stdout)
    except SchedulingError as error:
        raise InputError(str(error)) from None
    if code:
        raise typer.Exit(code)


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


@contextmanager
def _solving(title: str, time_limit: float) -> Iterator[tuple[Callable[[str], None], Callable[[SolveProgress], None]]]:
    """A progress bar over the solver's time limit, with the current step and the best plan found so far."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=time_limit, step="")
        started = time.perf_counter()
        done = threading.Event()

        def tick() -> None:
            while not done.wait(0.25):
                progress.update(task, completed=min(time_limit, time.perf_counter() - started))

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()

        def announce(step: str) -> None:
            progress.update(task, step=step)

        def improved(found: SolveProgress) -> None:
            progress.update(task, step=f"best objective {found.objective:,} at {found.seconds:.1f} s")

        try:
            yield announce, improved
        finally:
            done.set()
            ticker.join()


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time from a flag; UTC unless it names a zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a time such as 2027-03-01T06:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _print_plan(report: PlanReport) -> None:
    kpis = report.kpis
    bound = "none" if report.lower_bound is None else f"{report.lower_bound:,}"
    objective = "none" if report.objective is None else f"{report.objective:,}"
    out.print(
        f"[bold]plan v{report.version}[/] ({report.kind}, {report.strategy}, {report.status}): "
        f"objective {objective}, lower bound {bound}, {report.seconds:.1f} s",
        highlight=False,
    )
    table = Table(title="KPIs", title_justify="left")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_row("batches planned", f"{kpis.batches:,}")
    table.add_row("on time", f"{kpis.on_time_rate:.1%} ({kpis.late} late)")
    table.add_row("total tardiness", f"{kpis.total_tardiness_hours:,.0f} h")
    table.add_row("weighted tardiness (late penalties)", f"{kpis.weighted_tardiness:,.0f}")
    table.add_row("changeovers", f"{kpis.changeovers:,}")
    table.add_row("cleaning", f"{kpis.cleaning_hours:,.0f} h")
    table.add_row("mean suite utilization", f"{kpis.mean_utilization:.1%}")
    out.print(table)
    busiest = sorted(report.suites, key=lambda line: -line.utilization)[:8]
    if busiest:
        shown = ", ".join(f"{line.suite} {line.utilization:.0%}" for line in busiest)
        out.print(f"[bold]busiest suites[/]  {shown}", highlight=False)


def _gantt(report: PlanReport, path: Path | None, by: str, colour: str) -> str | None:
    if path is None:
        return None
    from opencdmo.adapters import gantt

    with _steps("drawing the Gantt chart") as announce:
        announce(str(path))
        gantt.write_gantt(report, path, by="order" if by == "order" else "suite", colour=_colour(colour))
    return str(path)


def _colour(value: str) -> Literal["sponsor", "product"]:
    return "product" if value == "product" else "sponsor"


def _plan_options(time_limit: float, strategy: str, workers: int, seed: int) -> PlanOptions:
    from opencdmo.services.planning import PlanOptions

    return PlanOptions(time_limit=time_limit, workers=workers, seed=seed, strategy=strategy, created_by=_user())


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "planner"


def _check_gantt(path: Path | None, by: str, colour: str) -> None:
    from opencdmo.adapters import gantt

    if path is not None:
        gantt.check_path(path)
    if by not in ("suite", "order"):
        raise InputError(f"--by: {by!r} is not one of suite, order")
    if colour not in ("sponsor", "product"):
        raise InputError(f"--colour: {colour!r} is not one of sponsor, product")


TimeLimit = Annotated[float, typer.Option(min=0.1, help="Seconds the solver may search.")]
Strategy = Annotated[str, typer.Option(help="auto, cpsat, lns or greedy (the ERP-like baseline).")]
Workers = Annotated[int, typer.Option(min=1, max=64, help="Solver threads.")]
Seed = Annotated[int, typer.Option(help="Solver random seed.")]
GanttFile = Annotated[
    Path | None, typer.Option("--gantt", help="Write the Gantt chart: FILE.html (interactive) or FILE.png.")
]
GanttRows = Annotated[str, typer.Option("--by", help="Gantt rows for PNG: suite or order (HTML shows both).")]
GanttColour = Annotated[str, typer.Option("--colour", help="Colour bars by sponsor or product.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


@app.command()
@handle_errors
def schedule(
    time_limit: TimeLimit = 6.0,
    strategy: Strategy = "auto",
    workers: Workers = 2,
    seed: Seed = 0,
    gantt: GanttFile = None,
    by: GanttRows = "suite",
    colour: GanttColour = "sponsor",
    as_json: AsJson = False,
) -> None:
    """Plan the network: solve, check and store a new schedule version, then print its KPIs."""
    from opencdmo.services import planning

    _check_gantt(gantt, by, colour)
    options = _plan_options(time_limit, strategy, workers, seed)
    with _ready_app() as application, _solving("planning the network", time_limit) as (announce, improved):
        report = planning.plan_network(application.unit_of_work(), options, progress=announce, on_solution=improved)
    written = _gantt(report, gantt, by, colour)
    if as_json:
        out.print_json(json.dumps({**report.summary(), "gantt": written}))
        return
    _print_plan(report)
    if written:
        out.print(f"Gantt chart written to {written}", highlight=False)


@app.command()
@handle_errors
def reschedule(
    suite_down: Annotated[str | None, typer.Option("--suite-down", help="Name of the suite that went down.")] = None,
    down_from: Annotated[
        str | None, typer.Option("--from", help="When it went down (ISO 8601, UTC by default).")
    ] = None,
    down_to: Annotated[str | None, typer.Option("--to", help="When it is back (ISO 8601).")] = None,
    batch_failed: Annotated[
        str | None, typer.Option("--batch-failed", help="Lot number of the batch that failed.")
    ] = None,
    failed_at: Annotated[
        str | None, typer.Option("--at", help="When it failed (default: end of its first operation in the plan).")
    ] = None,
    time_limit: TimeLimit = 6.0,
    strategy: Strategy = "auto",
    workers: Workers = 2,
    seed: Seed = 0,
    gantt: GanttFile = None,
    by: GanttRows = "suite",
    colour: GanttColour = "sponsor",
    as_json: AsJson = False,
) -> None:
    """Re-plan the newest plan after a disruption; started operations stay, the rest move as little as possible."""
    from opencdmo.services import planning

    _check_gantt(gantt, by, colour)
    disruption: planning.Disruption
    if (suite_down is None) == (batch_failed is None):
        raise InputError("give either --suite-down SUITE --from T --to T or --batch-failed LOT")
    if suite_down is not None:
        start, end = _moment(down_from, "--from"), _moment(down_to, "--to")
        if start is None or end is None:
            raise InputError("--suite-down needs --from and --to")
        disruption = planning.SuiteDown(suite_down, start, end)
    else:
        assert batch_failed is not None
        disruption = planning.BatchFailed(batch_failed, _moment(failed_at, "--at"))
    options = _plan_options(time_limit, strategy, workers, seed)
    with _ready_app() as application, _solving("re-planning", time_limit) as (announce, improved):
        result = planning.reschedule(
            application.unit_of_work(), disruption, options, progress=announce, on_solution=improved
        )
    written = _gantt(result.plan, gantt, by, colour)
    if as_json:
        out.print_json(json.dumps({**result.summary(), "gantt": written}))
        return
    out.print(f"[bold]{result.disruption}[/]: re-planned v{result.based_on}", highlight=False)
    _print_plan(result.plan)
    _print_moves(result)
    if written:
        out.print(f"Gantt chart written to {written}", highlight=False)


def _print_moves(result: RescheduleReport) -> None:
    out.print(f"[bold]{len(result.moved):,} operation(s) moved[/]", highlight=False)
    if result.moved:
        table = Table(title_justify="left")
        for column in ("lot", "step", "from", "to", "shift (h)"):
            table.add_column(column)
        for move in result.moved[:25]:
            table.add_row(
                move.lot,
                move.step,
                f"{move.from_suite} {move.from_start:%Y-%m-%d %H:%M}",
                f"{move.to_suite} {move.to_start:%Y-%m-%d %H:%M}",
                f"{move.shift_hours:+.0f}",
            )
        out.print(table)
        if len(result.moved) > 25:
            out.print(f"… and {len(result.moved) - 25:,} more (use --json for the full list)")
    newly = [risk for risk in result.at_risk if risk.newly]
    out.print(
        f"[bold]due dates at risk[/]  {len(newly)} newly late, {len(result.at_risk)} late in all",
        highlight=False,
    )
    for risk in result.at_risk[:25]:
        flag = "NEW " if risk.newly else ""
        out.print(
            f"  {flag}{risk.lot} (order {risk.order}, {risk.sponsor}): due {risk.due:%Y-%m-%d}, "
            f"finishes {risk.finish:%Y-%m-%d %H:%M}, {risk.late_hours:,.0f} h late",
            highlight=False,
        )
    if result.replacement:
        out.print(f"replacement batch {result.replacement} planned", highlight=False)


def main() -> None:
    app(prog_name="opencdmo")


if __name__ == "__main__":
    main()
