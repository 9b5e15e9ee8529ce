"""Commands that plan the network: schedule and reschedule."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.errors import InputError

if TYPE_CHECKING:
    from opencdmo.services.planning import PlanOptions, PlanReport, RescheduleReport


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
    ui.say(
        f"plan v{report.version}",
        f"({report.kind}, {report.strategy}, {report.status}): "
        f"objective {objective}, lower bound {bound}, {report.seconds:.1f} s",
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
    ui.out.print(table)
    busiest = sorted(report.suites, key=lambda line: -line.utilization)[:8]
    if busiest:
        shown = ", ".join(f"{line.suite} {line.utilization:.0%}" for line in busiest)
        ui.say("busiest suites", shown)


def _gantt(report: PlanReport, path: Path | None, by: str, colour: str) -> str | None:
    if path is None:
        return None
    from opencdmo.adapters import gantt

    with ui.steps("drawing the Gantt chart") as announce:
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
    with ready_app() as application, ui.solving("planning the network", time_limit) as (announce, improved):
        report = planning.plan_network(application.unit_of_work(), options, progress=announce, on_solution=improved)
    written = _gantt(report, gantt, by, colour)
    if as_json:
        ui.out.print_json(json.dumps({**report.summary(), "gantt": written}))
        return
    _print_plan(report)
    if written:
        ui.out.print(f"Gantt chart written to {written}")


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
    with ready_app() as application, ui.solving("re-planning", time_limit) as (announce, improved):
        result = planning.reschedule(
            application.unit_of_work(), disruption, options, progress=announce, on_solution=improved
        )
    written = _gantt(result.plan, gantt, by, colour)
    if as_json:
        ui.out.print_json(json.dumps({**result.summary(), "gantt": written}))
        return
    ui.say(result.disruption, f"re-planned v{result.based_on}")
    _print_plan(result.plan)
    _print_moves(result)
    if written:
        ui.out.print(f"Gantt chart written to {written}")


def _print_moves(result: RescheduleReport) -> None:
    ui.say(f"{len(result.moved):,} operation(s) moved")
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
        ui.out.print(table)
        if len(result.moved) > 25:
            ui.out.print(f"… and {len(result.moved) - 25:,} more (use --json for the full list)")
    newly = [risk for risk in result.at_risk if risk.newly]
    ui.say("due dates at risk", f"{len(newly)} newly late, {len(result.at_risk)} late in all")
    for risk in result.at_risk[:25]:
        flag = "NEW " if risk.newly else ""
        ui.out.print(
            f"  {flag}{risk.lot} (order {risk.order}, {risk.sponsor}): due {risk.due:%Y-%m-%d}, "
            f"finishes {risk.finish:%Y-%m-%d %H:%M}, {risk.late_hours:,.0f} h late",
        )
    if result.replacement:
        ui.out.print(f"replacement batch {result.replacement} planned")
