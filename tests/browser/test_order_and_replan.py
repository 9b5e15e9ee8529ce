"""A planner's day in a real browser: a new order through the web form (refused first, with the message beside
the field at fault), then a re-plan from the schedule page followed on its live progress bar, until the schedule
shows the new version with the new order's batches in the Gantt chart."""

from __future__ import annotations

import re
import secrets
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from opencdmo.domain import Role
from opencdmo.errors import NotFound
from opencdmo.services import catalogue, planning
from tests.browser.conftest import SOLVE_PAUSE_SECONDS, LiveServer, sign_in
from tests.browser.gantt_page import loaded, open_schedule, row_labels

SPONSOR = "Helix Vaccines"
PROGRAM = "HXV-7"
RELEASE = "2027-05-03"
SOLVE_TIME_LIMIT = 4  # seconds: the progress bar is elapsed / time limit, and the solve first pauses 2.5 s
FINISH_TIMEOUT_MS = 60_000
BAR_MOVED = (
    "(first) => { const bar = document.getElementById('plan-progress'); return bar.value > first && bar.value < 1; }"
)


def newest_version(live_server: LiveServer) -> int:
    return planning.list_versions(live_server.app.unit_of_work())[-1].number


def fill_new_order(page: Page, number: str, due: str) -> None:
    form = page.locator("#new-order-form")
    if not form.is_visible():
        page.locator("#new-order summary").click()
    form.get_by_label("Sponsor").select_option(SPONSOR)
    form.get_by_label("Program").select_option(PROGRAM)
    form.get_by_label("Order number").fill(number)
    form.get_by_label("Batches").fill("2")
    form.get_by_label("Release date").fill(RELEASE)
    form.get_by_label("Due date").fill(due)
    form.get_by_label("Priority").fill("2")


def test_a_planner_creates_an_order_and_replans_with_a_live_progress_bar(page: Page, live_server: LiveServer) -> None:
    assert SOLVE_TIME_LIMIT > SOLVE_PAUSE_SECONDS
    username = "browser-planner"
    sign_in(page, username, live_server.add_user(username, Role.PLANNER))
    number = f"PO-BR-{secrets.token_hex(3).upper()}"
    page.goto("/orders")

    # A due date before the release date: refused, the message beside the due date, what was typed kept.
    fill_new_order(page, number, due="2027-04-01")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Create order").click()
    assert answer.value.status == 422
    due_field = page.locator("#new-order-due_date")
    expect(due_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-order-due_date-error")).to_contain_text("before the release date")
    expect(page.locator("#new-order-form").get_by_role("alert")).to_be_visible()
    expect(page.locator("#new-order-number")).to_have_value(number)
    expect(page.locator("#new-order-release_date")).to_have_value(RELEASE)
    expect(page.locator("#new-order-release_date")).not_to_have_attribute("aria-invalid", "true")
    with pytest.raises(NotFound):
        catalogue.get_order(live_server.app.unit_of_work(), number)

    due_field.fill("2027-12-15")
    page.get_by_role("button", name="Create order").click()

    page.wait_for_url(re.compile(r"/orders/PO-BR-"))
    assert unquote(urlsplit(page.url).path) == f"/orders/{number}"
    expect(page.locator("#flash")).to_contain_text(f"Order {number} created with 2 planned batches")
    lots = [f"{number}-001", f"{number}-002"]
    for lot in lots:
        expect(page.get_by_role("link", name=lot, exact=True)).to_be_visible()
    order = catalogue.get_order(live_server.app.unit_of_work(), number)
    assert [batch.lot_number for batch in order.batches] == lots
    assert str(order.due_date) == "2027-12-15"

    # Re-plan from the schedule page.
    version = newest_version(live_server)
    open_schedule(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"plan v{version}")
    replan = page.locator("#replan-form")
    replan.get_by_label("Time limit (s)").fill(str(SOLVE_TIME_LIMIT))
    replan.get_by_label("Strategy").select_option("auto")
    replan.get_by_role("button", name="Re-plan").click()

    page.wait_for_url(re.compile(r"/schedule/jobs/[A-Za-z0-9_-]+$"))
    job_id = urlsplit(page.url).path.rsplit("/", 1)[1]
    bar = page.locator("#plan-progress")
    expect(bar).to_be_visible()
    first = bar.evaluate("(bar) => bar.value")
    assert isinstance(first, int | float)
    # The bar moves while the solve runs: a value above the first, still short of the end.
    page.wait_for_function(BAR_MOVED, arg=first)
    expect(page.locator("#plan-state")).to_have_text("running")
    expect(page.locator("#plan-step")).not_to_have_text("waiting to start")

    # Done: the page goes to the schedule, which tells the new version and shows it.
    page.wait_for_url(re.compile(rf"/schedule\?job={re.escape(job_id)}$"), timeout=FINISH_TIMEOUT_MS)
    assert newest_version(live_server) == version + 1
    expect(page.locator("#job-outcome")).to_have_text(f"Plan job finished: version {version + 1} stored.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"plan v{version + 1}")

    open_schedule(page, "order")
    whole = loaded(page, lambda: page.get_by_role("button", name="Whole plan").click())
    assert whole["version"] == version + 1
    assert {lot for lot, _ in whole["lots"]} >= set(lots)
    assert number in row_labels(page)

    page.goto(f"/orders/{number}")
    expect(page.locator("#plan-now")).to_have_count(0)  # its batches are in the plan now
    expect(page.get_by_text("not planned")).to_have_count(0)
