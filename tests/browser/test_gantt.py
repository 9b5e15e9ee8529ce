"""The schedule page's Gantt chart in a real browser: plotly.js draws the plan's operations as SVG bars, rows by
suite or by order, zoom buttons, hover labels, a click through to the batch, cleaning and late bars.

The chart's data is read from the /schedule/data.json answers the page itself loaded, and compared with what
plotly drew in the SVG.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from opencdmo.adapters.gantt import LATE_COLOUR
from opencdmo.services import catalogue, planning
from tests.browser.conftest import LiveServer
from tests.browser.gantt_page import loaded, open_schedule, row_labels, whole_plan

STATUS_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2}) → (\d{4}-\d{2}-\d{2})")
LATE_STROKE = "rgb({}, {}, {})".format(*(int(LATE_COLOUR[i : i + 2], 16) for i in (1, 3, 5)))

# The days of the chart's x-axis range (plotly keeps it as milliseconds or as "2027-01-04 06:00" strings, UTC).
AXIS_DAYS = """
() => document.getElementById("gantt").layout.xaxis.range.map((value) =>
  new Date(typeof value === "number" ? value : String(value).replace(" ", "T") + "Z").toISOString().slice(0, 10))
"""


class Bar(TypedDict):
    trace: str
    target: Any  # a lot number (str), or [start, end] minutes of a cleaning or merged bar
    x: float
    y: float
    wide: bool
    box: list[float]  # left, top, right, bottom on screen
    stroke: str
    stroke_width: str
    fill: str


# Every bar plotly drew, with its trace's name, its customdata, the middle of its part inside the plot area, and
# whether that part is wide enough to point at.
BARS_SCRIPT = """
() => {
  const chart = document.getElementById("gantt");
  const area = chart.querySelector(".nsewdrag").getBoundingClientRect();
  const traces = chart.data.filter((trace) => trace.type === "bar");
  const found = [];
  chart.querySelectorAll(".barlayer .trace").forEach((group, t) => {
    group.querySelectorAll(".point").forEach((point, i) => {
      const box = point.getBoundingClientRect();
      const left = Math.max(box.left, area.left);
      const right = Math.min(box.right, area.right);
      const path = point.querySelector("path");
      found.push({
        trace: traces[t].name, target: traces[t].customdata[i],
        x: (left + right) / 2, y: box.top + box.height / 2, wide: right - left >= 6 && box.height >= 4,
        box: [box.left, box.top, box.right, box.bottom],
        stroke: path.style.stroke, stroke_width: path.style.strokeWidth, fill: path.style.fill,
      });
    });
  });
  return found;
}
"""


@pytest.fixture(autouse=True)
def no_script_errors(planner_page: Page) -> Iterator[None]:
    """Every test of this module fails if a script of its page threw or logged an error."""
    errors: list[str] = []
    planner_page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    planner_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield
    assert errors == []


def bars(page: Page) -> list[Bar]:
    found = page.evaluate(BARS_SCRIPT)
    assert isinstance(found, list)
    return found


def shown_range(page: Page) -> tuple[date, date]:
    found = STATUS_RANGE.search(page.locator("#gantt-status").inner_text())
    assert found is not None, page.locator("#gantt-status").inner_text()
    return date.fromisoformat(found.group(1)), date.fromisoformat(found.group(2))


def covering(drawn: list[Bar], point: Bar) -> list[Bar]:
    """The bars under the middle of ``point``."""
    x, y = point["x"], point["y"]
    return [bar for bar in drawn if bar["box"][0] <= x <= bar["box"][2] and bar["box"][1] <= y <= bar["box"][3]]


def data_bars(data: dict[str, Any], group: str) -> int:
    """How many bars of ``group`` (a sponsor or "cleaning") the chart data holds."""
    index = [item["name"] for item in data["groups"]].index(group)
    return sum(1 for value in data["bars"]["group"] if value == index)


def test_the_chart_draws_every_operation_of_the_window_as_an_svg_bar(
    planner_page: Page, live_server: LiveServer
) -> None:
    page = planner_page
    data = open_schedule(page)

    assert data["mode"] == "operations"
    assert data["operations"] > 0
    drawn = page.locator("#gantt .barlayer .point path")
    expect(drawn).to_have_count(len(data["bars"]["row"]))
    expect(page.locator("#gantt-status")).to_contain_text(f"{data['operations']} operations loaded")
    # A row per suite of the plan, top to bottom as the data lists them, with or without work in the window.
    plan = planning.latest_plan(live_server.app.unit_of_work())
    assert row_labels(page) == data["rows"]
    assert set(data["rows"]) == {line.suite for line in plan.operations}
    assert page.locator("#gantt svg.main-svg").first.is_visible()
    expect(page.locator("#gantt-status")).not_to_contain_text("could not load")


def test_rows_switch_between_suites_and_orders(planner_page: Page, live_server: LiveServer) -> None:
    page = planner_page
    open_schedule(page)
    assert "B-USP-1" in row_labels(page)

    by_order = loaded(page, lambda: page.get_by_role("link", name="by order").click(), navigates=True)

    assert urlsplit(page.url).query == "by=order"
    expect(page.get_by_role("link", name="by order")).to_have_attribute("aria-current", "true")
    orders = {order.number for order in catalogue.list_orders(live_server.app.unit_of_work())}
    labels = row_labels(page)
    assert labels == by_order["rows"]
    assert labels
    assert set(labels) <= orders
    assert "B-USP-1" not in labels

    loaded(page, lambda: page.get_by_role("link", name="by suite").click(), navigates=True)
    assert "B-USP-1" in row_labels(page)


def test_zoom_buttons_change_the_visible_range(planner_page: Page) -> None:
    page = planner_page
    data = open_schedule(page)
    start, end = shown_range(page)
    assert (end - start).days == 28  # the default window: four weeks from the start of the plan

    page.get_by_role("button", name="Week").click()
    expect(page.locator("#gantt-status")).to_contain_text(f"{start} → {date.fromordinal(start.toordinal() + 7)}")
    axis = page.evaluate(AXIS_DAYS)
    assert axis == [str(start), str(date.fromordinal(start.toordinal() + 7))]

    year = loaded(page, lambda: page.get_by_role("button", name="Year").click())  # beyond the loaded window

    week_start, week_end = shown_range(page)
    assert (week_start, (week_end - week_start).days) == (start, 366)
    assert year["window"]["end"] - year["window"]["start"] > data["window"]["end"] - data["window"]["start"]


def test_hovering_a_bar_shows_its_lot_and_clicking_it_opens_the_batch(planner_page: Page) -> None:
    page = planner_page
    open_schedule(page)
    whole_plan(page)
    drawn = bars(page)
    # A batch's bar wide enough to point at, and alone under the pointer (QC labs run tests side by side).
    batch_bars = [
        bar for bar in drawn if bar["wide"] and isinstance(bar["target"], str) and covering(drawn, bar) == [bar]
    ]
    assert batch_bars, "no batch operation drawn"
    bar = batch_bars[0]
    lot = bar["target"]

    page.mouse.move(bar["x"], bar["y"])

    label = page.locator("#gantt .hoverlayer .hovertext")
    expect(label).to_be_visible()
    expect(label).to_contain_text(lot)
    expect(label).to_contain_text(re.compile(r"order PO-2027-\d{3}"))

    page.mouse.click(bar["x"], bar["y"])

    page.wait_for_url(re.compile(r"/batches/"))
    assert unquote(urlsplit(page.url).path) == f"/batches/{lot}"
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Batch {lot}")


def test_cleaning_blocks_and_late_batches_are_drawn_as_the_data_says(planner_page: Page) -> None:
    page = planner_page
    open_schedule(page)
    data = whole_plan(page)
    assert data["mode"] == "operations"
    late_in_data = sum(data["bars"]["late"])
    cleaning_in_data = data_bars(data, "cleaning")
    # The live server's PO-2027-001 is due before it can be made, and its batches share suites: both show.
    assert late_in_data > 0
    assert cleaning_in_data > 0

    drawn = bars(page)
    late = [bar for bar in drawn if bar["stroke"] == LATE_STROKE]
    cleaning = [bar for bar in drawn if bar["trace"] == "cleaning"]

    assert len(late) == late_in_data
    assert all(bar["stroke_width"] == "2.5px" for bar in late)
    assert all(isinstance(bar["target"], str) and bar["target"].startswith("NWB101-27-") for bar in late)
    assert len(cleaning) == cleaning_in_data
    assert all(bar["fill"].startswith("url(") for bar in cleaning)  # hatched: a pattern, not a plain colour
    expect(page.locator("#gantt .legend .traces").filter(has_text="cleaning")).to_have_count(1)
