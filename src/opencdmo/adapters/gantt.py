"""Gantt charts of a plan: interactive HTML (plotly, its JavaScript embedded so the file works offline) or PNG
(matplotlib, no display needed).

Rows are suites (``by="suite"``) or orders (``by="order"``); bars are coloured by sponsor or by product. Cleaning
between batches is drawn as grey hatched blocks, operations of batches that finish after their due date have a
red outline, and the HTML holds both views (by suite, then by order) with a hover text per operation.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from opencdmo.errors import InputError
from opencdmo.services.planning import OperationLine, PlanReport

Rows = Literal["suite", "order"]
Colour = Literal["sponsor", "product"]

CLEANING_COLOUR = "#b0b0b0"
LATE_COLOUR = "#d62728"
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#31a354",
    "#756bb1",
    "#e6550d",
    "#636363",
    "#6baed6",
    "#fd8d3c",
)
FORMATS = (".html", ".png")


def check_path(path: Path) -> None:
    """Refuse a Gantt file name the writer cannot honour, before any work is done."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--gantt: {path} must end in .html (interactive) or .png (image)")


def write_gantt(report: PlanReport, path: Path, *, by: Rows = "suite", colour: Colour = "sponsor") -> Path:
    """Write the plan's Gantt chart to ``path`` (``.html`` or ``.png``)."""
    check_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".html":
            path.write_text(gantt_html(report, colour=colour), encoding="utf-8")
        else:
            _png(report, path, by=by, colour=colour)
    except OSError as error:
        raise InputError(f"--gantt: cannot write {path}: {error.strerror or error}") from None
    return path


def _row(line: OperationLine, by: Rows) -> str:
    if by == "suite":
        return f"{line.suite} ({line.site})" if line.site else line.suite
    return f"{line.order} · {line.sponsor}"


def _group(line: OperationLine, colour: Colour) -> str:
    return line.sponsor if colour == "sponsor" else line.product


def _visible(report: PlanReport, by: Rows) -> list[OperationLine]:
    # Cleaning is a suite's matter: drawn by suite, not by order.
    return [line for line in report.operations if by == "suite" or line.kind != "cleaning"]


def _row_order(lines: Sequence[OperationLine], by: Rows) -> list[str]:
    first: dict[str, datetime] = {}
    for line in lines:
        key = _row(line, by)
        first[key] = min(first.get(key, line.start), line.start)
    if by == "suite":
        return sorted(first)
    return sorted(first, key=lambda key: (first[key], key))


def _hover(line: OperationLine) -> str:
    when = f"{line.start:%Y-%m-%d %H:%M} → {line.end:%Y-%m-%d %H:%M} UTC"
    if line.kind == "cleaning":
        return f"<b>cleaning</b><br>{html.escape(line.suite)}<br>{when}"
    parts = [
        f"<b>{html.escape(line.lot)}</b> · {html.escape(line.step)}",
        f"order {html.escape(line.order)} · {html.escape(line.sponsor)}",
        f"product {html.escape(line.product)} ({html.escape(line.family)})",
        f"suite {html.escape(line.suite)}",
        when,
    ]
    if line.due is not None:
        parts.append(f"due {line.due:%Y-%m-%d %H:%M} UTC" + (" — <b>LATE</b>" if line.late else ""))
    if line.moved:
        parts.append("moved by the re-plan")
    if line.fixed:
        parts.append("started: fixed")
    return "<br>".join(parts)


def _figure(report: PlanReport, by: Rows, colour: Colour) -> Any:
    import plotly.graph_objects as go

    lines = _visible(report, by)
    rows = _row_order(lines, by)
    groups = sorted({_group(line, colour) for line in lines if line.kind != "cleaning"})
    colours = {group: PALETTE[number % len(PALETTE)] for number, group in enumerate(groups)}
    figure = go.Figure()
    buckets: dict[str, list[OperationLine]] = {}
    for line in lines:
        buckets.setdefault("cleaning" if line.kind == "cleaning" else _group(line, colour), []).append(line)
    for name in [*groups, "cleaning"]:
        items = buckets.get(name, [])
        if not items:
            continue
        cleaning = name == "cleaning"
        marker: dict[str, Any] = {
            "color": CLEANING_COLOUR if cleaning else colours[name],
            "line": {
                "color": [LATE_COLOUR if line.late else "rgba(0,0,0,0.25)" for line in items],
                "width": [2.5 if line.late else 0.5 for line in items],
            },
        }
        if cleaning:
            marker["pattern"] = {"shape": "/"}
        figure.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=[_row(line, by) for line in items],
                base=[line.start.isoformat() for line in items],
                x=[(line.end - line.start).total_seconds() * 1000 for line in items],
                marker=marker,
                hovertext=[_hover(line) for line in items],
                hoverinfo="text",
            )
        )
    kpis = report.kpis
    title = (
        f"Plan v{report.version} by {by} — {kpis.batches} batches, {kpis.on_time_rate:.0%} on time, "
        f"{kpis.changeovers} changeovers, {kpis.cleaning_hours:,.0f} h cleaning (late: red outline)"
    )
    figure.update_layout(
        title=title,
        barmode="overlay",
        xaxis={"type": "date", "title": "UTC"},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(rows)), "automargin": True},
        height=max(400, 22 * len(rows) + 160),
        legend={"title": {"text": colour}},
        template="plotly_white",
    )
    return figure


def gantt_html(report: PlanReport, *, colour: Colour = "sponsor") -> str:
    """One self-contained HTML page with the plan by suite and by order (plotly.js inline, no CDN)."""
    by_suite = _figure(report, "suite", colour).to_html(full_html=False, include_plotlyjs=True)
    by_order = _figure(report, "order", colour).to_html(full_html=False, include_plotlyjs=False)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>OpenCDMO plan v{report.version}</title></head>\n<body>\n"
        f"<h2>By suite</h2>\n{by_suite}\n<h2>By order</h2>\n{by_order}\n</body></html>\n"
    )


def _png(report: PlanReport, path: Path, *, by: Rows, colour: Colour) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    lines = _visible(report, by)
    rows = _row_order(lines, by)
    position = {row: number for number, row in enumerate(rows)}
    groups = sorted({_group(line, colour) for line in lines if line.kind != "cleaning"})
    colours = {group: PALETTE[number % len(PALETTE)] for number, group in enumerate(groups)}
    figure, axes = plt.subplots(figsize=(16, max(4.0, 0.28 * len(rows) + 1.5)))
    for line in lines:
        start = mdates.date2num(line.start)  # type: ignore[no-untyped-call]
        width = mdates.date2num(line.end) - start  # type: ignore[no-untyped-call]
        cleaning = line.kind == "cleaning"
        axes.broken_barh(
            [(start, width)],
            (position[_row(line, by)] - 0.4, 0.8),
            facecolors=CLEANING_COLOUR if cleaning else colours[_group(line, colour)],
            edgecolors=LATE_COLOUR if line.late else "none",
            linewidth=1.5 if line.late else 0,
            hatch="///" if cleaning else None,
        )
    axes.set_yticks(range(len(rows)), rows, fontsize=7)
    axes.invert_yaxis()
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))  # type: ignore[no-untyped-call]
    kpis = report.kpis
    axes.set_title(
        f"Plan v{report.version} by {by}: {kpis.batches} batches, {kpis.on_time_rate:.0%} on time, "
        f"{kpis.changeovers} changeovers (cleaning hatched, late outlined red)"
    )
    shown = groups[:20]
    handles = [Patch(facecolor=colours[group], label=group) for group in shown]
    handles.append(Patch(facecolor=CLEANING_COLOUR, hatch="///", label="cleaning"))
    handles.append(Patch(facecolor="white", edgecolor=LATE_COLOUR, label="late batch"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
