"""The data of the schedule page's Gantt chart: a time window of the latest plan, as compact JSON columns.

The 5,000-batch demo plans 25,000 operations over a year; plotly.js draws each bar as an SVG shape, so the
page loads a window (four weeks from the start of the plan by default) and asks again when the user zooms or
pans. A window is answered in one of three modes, whichever is the most detailed that stays under
:data:`MAX_BARS` bars:

- ``operations``: one bar per operation (hover: batch, order, sponsor, step, suite, start and end, due);
- ``merged``: per row and colour, operations closer together than about a pixel of the chart
  (window / :data:`PIXELS`) are one bar saying how many operations it holds;
- ``load`` (rows by suite only): a heat map of each suite's share of time busy and cleaning, per column of
  the window (at most :data:`LOAD_COLUMNS`).

Times are whole minutes from ``t0`` (the start of the plan); names are sent once, in tables, and bars point
at them by index. Colours: one per sponsor, the same on every window (:data:`opencdmo.adapters.gantt.PALETTE`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from opencdmo.adapters.gantt import CLEANING_COLOUR, LATE_COLOUR, PALETTE
from opencdmo.errors import InputError
from opencdmo.services.planning import OperationLine
from opencdmo.web.plans import PlanView

Rows = Literal["suite", "order"]
ROWS: tuple[Rows, ...] = ("suite", "order")
DEFAULT_SPAN = timedelta(days=28)
MAX_SPAN = timedelta(days=5 * 366)
MAX_BARS = 8000
PIXELS = 1500
LOAD_COLUMNS = 160
CLEANING = "cleaning"
MINUTE = timedelta(minutes=1)


def parse_moment(text: str | None, name: str) -> datetime | None:
    """A query parameter's date (``2027-03-01``) or time (``2027-03-01T06:00Z``), in UTC; None when absent."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{name}: expected a date or a date and time such as 2027-03-01T06:00Z, not {text[:40]!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_rows(text: str | None) -> Rows:
    if text is None or text == "":
        return "suite"
    for rows in ROWS:
        if text == rows:
            return rows
    raise InputError(f"by: expected one of {', '.join(ROWS)}, not {text[:40]!r}")


def window_of(view: PlanView, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The window to show: as asked, or four weeks from the start of the plan."""
    if start is None and end is None:
        start = view.start
    if start is None:
        assert end is not None
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    if end <= start:
        raise InputError("end: must be after start")
    if end - start > MAX_SPAN:
        raise InputError(f"end: a window spans at most {MAX_SPAN.days} days")
    return start, end


@dataclass
class _Tables:
    """Names sent once; bars refer to them by index."""

    def __post_init__(self) -> None:
        self.index: dict[str, dict[str, int]] = defaultdict(dict)
        self.values: dict[str, list[Any]] = defaultdict(list)

    def ref(self, table: str, key: str, *value: Any) -> int:
        known = self.index[table]
        if key not in known:
            known[key] = len(known)
            self.values[table].append([key, *value] if value else key)
        return known[key]


def _minutes(moment: datetime, t0: datetime) -> int:
    return round((moment - t0) / MINUTE)


def _row(line: OperationLine, by: Rows) -> str:
    return line.suite if by == "suite" else line.order


def _group(line: OperationLine) -> str:
    return CLEANING if line.kind == CLEANING else line.sponsor


def _rows(view: PlanView, lines: Sequence[OperationLine], by: Rows) -> list[tuple[str, str]]:
    """(label, note) of each row, top to bottom: every suite of the plan by site, or the window's orders."""
    if by == "suite":
        sites = {line.suite: line.site for line in view.lines}
        return sorted(((suite, site) for suite, site in sites.items()), key=lambda item: (item[1], item[0]))
    first: dict[str, tuple[datetime, str]] = {}
    for line in lines:
        if line.order not in first:
            first[line.order] = (line.start, line.sponsor)
    return [(order, sponsor) for order, (_, sponsor) in sorted(first.items(), key=lambda item: (item[1][0], item[0]))]


def _groups(view: PlanView) -> list[dict[str, str]]:
    sponsors = sorted({line.sponsor for line in view.lines if line.kind != CLEANING})
    groups = [{"name": name, "colour": PALETTE[number % len(PALETTE)]} for number, name in enumerate(sponsors)]
    return [*groups, {"name": CLEANING, "colour": CLEANING_COLOUR}]


def gantt_data(view: PlanView, by: Rows, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """The chart's data for the window ``[start, end)`` (see the module docstring for the format)."""
    start, end = window_of(view, start, end)
    t0 = view.start
    lines = [line for line in view.between(start, end) if by == "suite" or line.kind != CLEANING]
    rows = _rows(view, lines, by)
    groups = _groups(view)
    data: dict[str, Any] = {
        "version": view.report.version,
        "by": by,
        "t0": t0.isoformat(),
        "plan": {"start": 0, "end": _minutes(view.end, t0)},
        "window": {"start": _minutes(start, t0), "end": _minutes(end, t0)},
        "rows": [label for label, _ in rows],
        "row_notes": [note for _, note in rows],
        "groups": groups,
        "late_colour": LATE_COLOUR,
        "operations": len(lines),
    }
    row_of = {label: number for number, (label, _) in enumerate(rows)}
    group_of = {group["name"]: number for number, group in enumerate(groups)}
    if len(lines) <= MAX_BARS:
        return {**data, "mode": "operations", **_bars(lines, by, row_of, group_of, t0, None)}
    resolution = (end - start) / PIXELS
    merged = _merge(lines, by, resolution)
    if len(merged) <= MAX_BARS or by == "order":
        return {**data, "mode": "merged", **_bars(lines, by, row_of, group_of, t0, merged)}
    return {**data, "mode": "load", "load": _load(lines, row_of, start, end, t0)}


def _merge(lines: Sequence[OperationLine], by: Rows, resolution: timedelta) -> list[list[OperationLine]]:
    """Runs of operations of one row and colour, each closer than ``resolution`` to the one before."""
    runs: dict[tuple[str, str], list[list[OperationLine]]] = defaultdict(list)
    ends: dict[tuple[str, str], datetime] = {}
    for line in lines:  # in order of start
        key = (_row(line, by), _group(line))
        if key in ends and line.start - ends[key] <= resolution:
            runs[key][-1].append(line)
            ends[key] = max(ends[key], line.end)
        else:
            runs[key].append([line])
            ends[key] = line.end
    return [run for items in runs.values() for run in items]


def _bars(
    lines: Sequence[OperationLine],
    by: Rows,
    row_of: dict[str, int],
    group_of: dict[str, int],
    t0: datetime,
    runs: list[list[OperationLine]] | None,
) -> dict[str, Any]:
    tables = _Tables()
    columns: dict[str, list[int]] = {
        name: [] for name in ("row", "group", "start", "end", "late", "count", "lot", "step", "suite")
    }
    for run in runs if runs is not None else [[line] for line in lines]:
        first = run[0]
        columns["row"].append(row_of[_row(first, by)])
        columns["group"].append(group_of[_group(first)])
        columns["start"].append(_minutes(first.start, t0))
        columns["end"].append(_minutes(max(line.end for line in run), t0))
        columns["late"].append(int(any(line.late for line in run)))
        columns["count"].append(len(run))
        single = len(run) == 1 and first.kind != CLEANING
        due = _minutes(first.due, t0) if first.due is not None else None
        order = tables.ref("orders", first.order, due) if single else -1
        columns["lot"].append(tables.ref("lots", first.lot, order) if single else -1)
        columns["step"].append(tables.ref("steps", first.step) if len(run) == 1 else -1)
        columns["suite"].append(tables.ref("suites", first.suite, first.site) if len(run) == 1 else -1)
    return {
        "bars": columns,
        "lots": tables.values["lots"],
        "orders": tables.values["orders"],
        "steps": tables.values["steps"],
        "suites": tables.values["suites"],
    }


def _load(
    lines: Sequence[OperationLine], row_of: dict[str, int], start: datetime, end: datetime, t0: datetime
) -> dict[str, Any]:
    """Per suite and column of the window: the share of time (percent) busy with batches and cleaning."""
    width = max(timedelta(hours=1), (end - start) / LOAD_COLUMNS)
    width = timedelta(hours=math.ceil(width / timedelta(hours=1)))
    columns = math.ceil((end - start) / width)
    busy = [[0.0] * columns for _ in row_of]
    cleaning = [[0.0] * columns for _ in row_of]
    for line in lines:
        target = cleaning if line.kind == CLEANING else busy
        row = target[row_of[line.suite]]
        first = max(0, int((line.start - start) / width))
        last = min(columns - 1, int((line.end - start) / width))
        for column in range(first, last + 1):
            left = start + column * width
            overlap = min(line.end, left + width) - max(line.start, left)
            if overlap > timedelta(0):
                row[column] += overlap / width
    return {
        "column_start": [_minutes(start + column * width, t0) for column in range(columns)],
        "column_minutes": round(width / MINUTE),
        "busy": [[min(100, round(share * 100)) for share in row] for row in busy],
        "cleaning": [[min(100, round(share * 100)) for share in row] for row in cleaning],
    }
