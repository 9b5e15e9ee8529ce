"""A sponsor user in a real browser sees its own work only: nothing of another sponsor on any page, in the Gantt
data the page loads, or behind another sponsor's URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from opencdmo.services import catalogue, planning
from tests.browser.conftest import LiveServer, new_context, sign_in
from tests.browser.gantt_page import DATA_PATH, loaded, open_schedule, row_labels, whole_plan

OWN = "Helix Vaccines"
OTHER = "Northwind Biologics"


@pytest.fixture(scope="module")
def helix(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A browser signed in as ``helix``, a sponsor user of Helix Vaccines."""
    context = new_context(browser, live_server)
    sign_in(context.new_page(), "helix", live_server.passwords["helix"])
    yield context
    context.close()


@pytest.fixture
def helix_page(helix: BrowserContext) -> Iterator[Page]:
    opened = helix.new_page()
    yield opened
    opened.close()


def orders_of(live_server: LiveServer, sponsor: str) -> list[Any]:
    return [order for order in catalogue.list_orders(live_server.app.unit_of_work()) if order.sponsor.name == sponsor]


def marks_of_the_other_sponsor(live_server: LiveServer) -> set[str]:
    """What must never show to Helix: Northwind's name, its programs' prefix, its orders' numbers and lots
    (read from the database when the test runs, so orders other tests add count too)."""
    marks = {"Northwind", "NWB"}
    for order in orders_of(live_server, OTHER):
        marks.add(order.number)
        marks.update(batch.lot_number for batch in order.batches)
        marks.add(order.program.name)
    return marks


def planned_lots(live_server: LiveServer, sponsor: str) -> dict[str, str]:
    """The sponsor's lots in the newest plan, with their orders' numbers."""
    plan = planning.latest_plan(live_server.app.unit_of_work())
    return {line.lot: line.order for line in plan.operations if line.sponsor == sponsor and line.lot}


def leaks(text: str, marks: set[str]) -> list[str]:
    return sorted(mark for mark in marks if mark.casefold() in text.casefold())


def test_the_sponsor_sees_its_own_orders_and_nothing_of_another_sponsor(
    helix_page: Page, live_server: LiveServer
) -> None:
    page = helix_page
    marks = marks_of_the_other_sponsor(live_server)
    own = orders_of(live_server, OWN)
    planned = planned_lots(live_server, OWN)
    assert planned, "the plan has Helix batches"
    assert len(marks) > 2, "the sample has Northwind orders"
    loaded_data: list[str] = []

    def keep_chart_data(response: Response) -> None:
        if urlsplit(response.url).path == DATA_PATH:
            loaded_data.append(response.text())

    page.on("response", keep_chart_data)

    page.goto("/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("header .role")).to_contain_text(OWN)
    assert leaks(page.content(), marks) == []

    page.goto("/orders")
    for order in own:
        expect(page.get_by_role("link", name=order.number, exact=True)).to_be_visible()
    expect(page.locator("table tbody tr")).to_have_count(len(own))
    assert leaks(page.content(), marks) == []

    for by in ("suite", "order"):
        first = open_schedule(page, by)
        whole = whole_plan(page)  # every operation of the plan the sponsor may see
        for data in (first, whole):
            assert data["operations"] > 0
        assert {lot for lot, _ in whole["lots"]} == set(planned)
        if by == "order":
            assert set(row_labels(page)) == set(planned.values())
        chart = page.evaluate("JSON.stringify(document.getElementById('gantt').data)")
        assert isinstance(chart, str)
        assert leaks(chart, marks) == []
        assert leaks(page.content(), marks) == []

    assert len(loaded_data) >= 4
    for text in loaded_data:
        assert leaks(text, marks) == []


def test_another_sponsors_order_and_batch_answer_the_not_found_page(helix_page: Page, live_server: LiveServer) -> None:
    page = helix_page
    theirs = orders_of(live_server, OTHER)[0]
    lot = theirs.batches[0].lot_number

    for path in (f"/orders/{theirs.number}", f"/batches/{lot}", "/orders/PO-0000-000"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_contain_text("Not found")
        assert "Northwind" not in page.content()

    # The same URL opens for the sponsor who owns it: the 404 above is the scope, not a broken page.
    own = orders_of(live_server, OWN)[0]
    response = page.goto(f"/orders/{own.number}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {own.number}")


def test_the_sponsor_sees_its_own_bars_in_the_gantt(helix_page: Page, live_server: LiveServer) -> None:
    page = helix_page
    open_schedule(page, "order")
    data = loaded(page, lambda: page.get_by_role("button", name="Whole plan").click())

    assert {lot for lot, _ in data["lots"]} == set(planned_lots(live_server, OWN))
    assert [group["name"] for group in data["groups"]] == [OWN, "cleaning"]
    expect(page.locator("#gantt .barlayer .point path")).to_have_count(len(data["bars"]["row"]))
