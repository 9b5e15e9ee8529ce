"""Driving the schedule page's Gantt chart: waiting until plotly.js has drawn it, and reading what it loaded and drew.

static/gantt.js sets ``data-ready`` on ``#gantt`` once the chart is first drawn and counts every drawing in
``data-draws``; the chart's data comes from /schedule/data.json, one time window at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page

DATA_PATH = "/schedule/data.json"


def draws(page: Page) -> int:
    """How many times the page's chart has been drawn (gantt.js counts them in data-draws; 0 without a chart)."""
    count = page.evaluate("Number(document.getElementById('gantt')?.dataset.draws || 0)")
    assert isinstance(count, int)
    return count


def wait_drawn(page: Page, after: int = 0) -> None:
    """Wait until the chart has been drawn more than ``after`` times (gantt.js counts them in data-draws)."""
    page.wait_for_function(f"Number(document.getElementById('gantt').dataset.draws || 0) > {after}")


def loaded(page: Page, action: Callable[[], object], *, navigates: bool = False) -> dict[str, Any]:
    """Do ``action`` and return the chart data the page loaded because of it, once the chart shows it.
    ``navigates``: the action opens a new page, whose chart is drawn for the first time."""
    before = 0 if navigates else draws(page)
    with page.expect_response(lambda response: urlsplit(response.url).path == DATA_PATH) as answer:
        action()
    assert answer.value.status == 200
    data = answer.value.json()
    assert isinstance(data, dict)
    wait_drawn(page, before)
    return data


def open_schedule(page: Page, by: str = "suite") -> dict[str, Any]:
    return loaded(page, lambda: page.goto(f"/schedule?by={by}"), navigates=True)


def row_labels(page: Page) -> list[str]:
    """The chart's row labels, top to bottom as on screen."""
    labels = page.evaluate(
        """() => Array.from(document.querySelectorAll("#gantt .yaxislayer-above .ytick text"))
            .map((label) => [label.getBoundingClientRect().top, label.textContent])
            .sort((a, b) => a[0] - b[0]).map((pair) => pair[1])"""
    )
    assert isinstance(labels, list)
    return labels


def whole_plan(page: Page) -> dict[str, Any]:
    return loaded(page, lambda: page.get_by_role("button", name="Whole plan").click())
