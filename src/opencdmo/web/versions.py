"""Schedule versions: the list of stored versions and the comparison of two (``/schedule/compare?a=&b=``).

Both read through the viewer's unit of work, so the planning service scopes them: a sponsor user sees the
figures of its own batches and the moves of its own operations only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from opencdmo.domain import Action, PlanKpis
from opencdmo.errors import InputError
from opencdmo.services import planning
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ScheduleViewer = Annotated[Viewer, Depends(page(Action.VIEW_SCHEDULE))]

MAX_ROWS = 500  # per table of the comparison: the 5,000-batch demo can move thousands of operations
MAX_VERSION = 2**31 - 1


@router.get("/schedule/versions", response_class=HTMLResponse)
def versions(request: Request, viewer: ScheduleViewer) -> HTMLResponse:
    lines = list(reversed(planning.list_versions(viewer.unit_of_work())))  # newest first
    return render(request, "versions.html", {"versions": lines})


@dataclass(frozen=True)
class KpiRow:
    """One figure of the two versions: the values as shown, the change, and whether it is for the better."""

    label: str
    a: str
    b: str
    delta: str
    better: bool | None


def _signed(value: float, unit: str = "", digits: int = 1) -> str:
    if round(value, digits) == 0:
        return "±0" + unit
    return f"{value:+,.{digits}f}{unit}"


def _kpi_rows(a: PlanKpis, b: PlanKpis, delta: planning.KpiDelta, *, network: bool) -> list[KpiRow]:
    def row(label: str, shown: Callable[[PlanKpis], str], change: float, text: str, lower_is_better: bool) -> KpiRow:
        better = None if change == 0 else (change < 0) == lower_is_better
        return KpiRow(label, shown(a), shown(b), text, better)

    rows = [
        row("Batches planned", lambda k: f"{k.batches:,}", 0, _signed(delta.batches, digits=0), False),
        row("On time", lambda k: f"{k.on_time:,}", delta.on_time, _signed(delta.on_time, digits=0), False),
        row(
            "On-time rate",
            lambda k: f"{k.on_time_rate * 100:.1f} %",
            delta.on_time_rate,
            _signed(delta.on_time_rate * 100, " pp"),
            False,
        ),
        row(
            "Total lateness",
            lambda k: f"{k.total_tardiness_hours:,.1f} h",
            delta.total_tardiness_hours,
            _signed(delta.total_tardiness_hours, " h"),
            True,
        ),
        row(
            "Late penalties",
            lambda k: f"{k.weighted_tardiness:,.2f}",
            float(delta.weighted_tardiness),
            _signed(float(delta.weighted_tardiness), digits=2),
            True,
        ),
    ]
    if network:
        rows += [
            row(
                "Changeovers",
                lambda k: f"{k.changeovers:,}",
                delta.changeovers,
                _signed(delta.changeovers, digits=0),
                True,
            ),
            row(
                "Cleaning",
                lambda k: f"{k.cleaning_hours:,.1f} h",
                delta.cleaning_hours,
                _signed(delta.cleaning_hours, " h"),
                True,
            ),
            row(
                "Mean utilization",
                lambda k: f"{k.mean_utilization * 100:.1f} %",
                delta.mean_utilization,
                _signed(delta.mean_utilization * 100, " pp"),
                False,
            ),
        ]
    return rows


def _version_number(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        raise InputError(f"{name}: expected a version number such as 3, not {text[:20]!r}")
    return int(text)


def _defaults(lines: Sequence[planning.VersionLine], a: int | None, b: int | None) -> tuple[int, int] | None:
    """The versions to compare: as asked; when one or both are left out, the newest and the one before it."""
    numbers = [line.number for line in lines]
    if b is None:
        b = numbers[-1] if numbers else None
    if a is None and b is not None:
        a = max((number for number in numbers if number < b), default=None)
    return (a, b) if a is not None and b is not None else None


@router.get("/schedule/compare", response_class=HTMLResponse)
def compare(request: Request, viewer: ScheduleViewer, a: str = "", b: str = "") -> HTMLResponse:
    lines = planning.list_versions(viewer.unit_of_work())
    pair = _defaults(lines, _version_number(a, "a"), _version_number(b, "b"))
    context: dict[str, object] = {"versions": list(reversed(lines)), "comparison": None, "max_rows": MAX_ROWS}
    if pair is not None:
        comparison = planning.compare_versions(viewer.unit_of_work(), *pair)
        network = not comparison.b.own_only and viewer.can(Action.VIEW_NETWORK)
        context.update(
            comparison=comparison,
            a=pair[0],
            b=pair[1],
            kpis=_kpi_rows(comparison.a.kpis, comparison.b.kpis, comparison.delta, network=network),
        )
    return render(request, "compare.html", context)
