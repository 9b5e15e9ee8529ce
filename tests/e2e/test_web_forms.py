"""The web pages' forms through the ASGI app on each database: editing the network and orders, re-planning with
a progress page, comparing versions; inline validation, CSRF, roles and sponsor isolation on every form."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from opencdmo.bootstrap import App
from opencdmo.errors import NotFound
from opencdmo.services import accounts, catalogue, planning
from opencdmo.services.jobs import PlanJobs
from opencdmo.services.unit_of_work import UnitOfWork
from opencdmo.web.flash import FLASH_COOKIE
from tests.e2e.web_client import (
    Browser,
    Web,
    alert,
    build_web,
    cheap_password_hashes,
    field_error,
    field_value,
    flash_of,
)

FAST = planning.PlanOptions(time_limit=1, workers=1)
NEW_SUITE = {
    "name": "B-USP-3",
    "kind": "upstream",
    "scale": "500",
    "scale_unit": "L",
    "capabilities": "bsl2, single-use",
    "construction": "single-use",
    "qc_analysts": "0",
    "same_product_hours": "10",
    "default_changeover_hours": "30",
}
NEW_ORDER = {
    "sponsor": "Helix Vaccines",
    "program": "HXV-7",
    "number": "PO-2027-100",
    "batch_count": "2",
    "release_date": "2027-04-01",
    "due_date": "2027-12-15",
    "priority": "2",
    "late_penalty_per_day": "12 500.50",
    "price_per_batch": "900000",
}
ORDER_CHANGES = {
    "batch_count": "1",
    "release_date": "2027-03-15",
    "due_date": "2027-11-30",
    "priority": "1",
    "late_penalty_per_day": "5000",
    "price_per_batch": "1000000.25",
}
PROGRESS_BAR = re.compile(r'<progress id="plan-progress" max="1" value="([0-9.]+)"')


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashes(monkeypatch)


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    """The sample network, its users, no plan."""
    return build_web(app, sample_text)


@pytest.fixture
def planned(web: Web) -> Web:
    """The sample network planned once (version 1)."""
    planning.plan_network(web.app.unit_of_work(), FAST)
    return web


def _suite(app: App, name: str) -> Any:
    return catalogue.get_suite(app.unit_of_work(), name)[1]


def _sites(app: App) -> list[str]:
    return [site.name for site in catalogue.list_sites(app.unit_of_work())]


def _finish(browser: Browser, job_path: str) -> dict[str, Any]:
    """Poll the job's JSON, as the page's script does, until the solve has finished."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = browser.get(f"{job_path}.json")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        seen.append(job)
        if job["finished"]:
            fractions = [item["fraction"] for item in seen]
            assert fractions == sorted(fractions)  # the bar never goes back
            assert all(0 <= item["fraction"] < 1 for item in seen[:-1])
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job at {job_path} did not finish in time: {seen[-1]}")


# The network: add a site -----------------------------------------------------------------------------------------


def test_a_planner_adds_a_site_and_is_told_once(web: Web) -> None:
    browser = web.browser("ana")
    form = {"name": "Site C Cork", "region": "EU", "biosafety_level": "2", "certifications": "ema, fda"}
    response = browser.submit("/network/sites", form, "/network")
    assert response.status_code == 303
    assert response.headers["location"] == "/network"
    page = browser.get("/network")
    assert flash_of(page) == "Site added: Site C Cork."
    assert "<h2>Site C Cork</h2>" in page.text
    assert flash_of(browser.get("/network")) is None  # said once
    site = catalogue.get_site(web.app.unit_of_work(), "Site C Cork")
    assert (site.region, site.biosafety_level, site.certifications) == ("EU", 2, frozenset({"ema", "fda"}))


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("biosafety_level", "9", "must be at most 4, not 9"),
        ("biosafety_level", "two", "must be a whole number, not 'two'"),
        ("region", "", "required"),
        ("certifications", "EMA", "label 'EMA' must be lower case without spaces"),
    ],
)
def test_a_refused_site_shows_the_message_beside_its_field_and_keeps_the_input(
    web: Web, field: str, typed: str, message: str
) -> None:
    form = {"name": "Site C Cork", "region": "EU", "biosafety_level": "2", "certifications": "ema", field: typed}
    response = web.browser("ana").submit("/network/sites", form, "/network")
    assert response.status_code == 422
    assert field_error(response, "new-site", field) == message
    assert field_value(response, "new-site", "name") == "Site C Cork"
    assert field_value(response, "new-site", field) == typed
    assert alert(response) == "Please correct the field marked below."
    assert '<details class="form-box" open>' in response.text  # the refused form is shown open
    assert "Site C Cork" not in _sites(web.app)


def test_a_site_name_already_taken_is_a_conflict_beside_the_name(web: Web) -> None:
    form = {"name": "Site B Leiden", "region": "EU", "biosafety_level": "1", "certifications": ""}
    response = web.browser("ana").submit("/network/sites", form, "/network")
    assert response.status_code == 409
    assert field_error(response, "new-site", "name") == "a site named 'Site B Leiden' already exists"


# The network: suites -------------------------------------------------------------------------------------------


def test_a_planner_adds_a_suite_to_a_site(web: Web) -> None:
    browser = web.browser("ana")
    response = browser.submit("/network/sites/Site%20B%20Leiden/suites", NEW_SUITE, "/network")
    assert response.status_code == 303
    assert response.headers["location"] == "/network/suites/B-USP-3"
    page = browser.get("/network/suites/B-USP-3")
    assert flash_of(page) == "Suite added to Site B Leiden: B-USP-3."
    assert "Suite B-USP-3" in page.text
    site, suite = catalogue.get_suite(web.app.unit_of_work(), "B-USP-3")
    assert site.name == "Site B Leiden"
    assert (suite.scale, suite.scale_unit.value, suite.capabilities) == (500, "L", frozenset({"bsl2", "single-use"}))
    assert (suite.same_product_hours, suite.default_changeover_hours) == (10, 30)


def test_a_refused_suite_is_shown_again_in_its_sites_form(web: Web) -> None:
    form = {**NEW_SUITE, "kind": "qc-lab", "scale": "1", "scale_unit": "units", "construction": ""}
    response = web.browser("ana").submit("/network/sites/Site%20D%20Rockville/suites", form, "/network")
    assert response.status_code == 422
    # Site D Rockville is the second site on the page: its form's ids start with new-suite-2.
    assert field_error(response, "new-suite-2", "qc_analysts") == "a QC lab needs at least one analyst"
    assert field_value(response, "new-suite-2", "name") == "B-USP-3"
    assert field_error(response, "new-suite-1", "qc_analysts") is None
    assert '<option value="qc-lab" selected>' in response.text
    with pytest.raises(NotFound, match="B-USP-3"):
        _suite(web.app, "B-USP-3")


def test_a_suite_for_an_unknown_site_is_not_found(web: Web) -> None:
    response = web.browser("ana").submit("/network/sites/Site%20Z/suites", NEW_SUITE, "/network")
    assert response.status_code == 404


def test_a_planner_changes_a_suite(web: Web) -> None:
    browser = web.browser("ana")
    page = browser.get("/network/suites/B-DSP-1")
    assert field_value(page, "edit-suite", "scale") == "2000"
    assert field_value(page, "edit-suite", "capabilities") == "single-use"
    changes = {
        "scale": "2500",
        "scale_unit": "L",
        "capabilities": "single-use, chromatography",
        "construction": "stainless",
        "qc_analysts": "0",
        "same_product_hours": "6",
        "default_changeover_hours": "20",
    }
    response = browser.submit("/network/suites/B-DSP-1", changes, "/network/suites/B-DSP-1")
    assert response.status_code == 303
    assert flash_of(browser.get(response.headers["location"])) == "Suite B-DSP-1 saved."
    suite = _suite(web.app, "B-DSP-1")
    assert suite.scale == 2500
    assert suite.capabilities == frozenset({"single-use", "chromatography"})
    assert suite.construction.value == "stainless"
    assert (suite.same_product_hours, suite.default_changeover_hours) == (6, 20)


@pytest.mark.parametrize(
    ("suite", "field", "typed", "message"),
    [
        ("B-DSP-1", "scale", "-5", "must be greater than 0, not -5.0"),
        ("B-DSP-1", "scale", "big", "must be a number, not 'big'"),
        ("B-USP-2", "capabilities", "bsl2", "stage 'production' of process 'mAb fed-batch 2000 L' runs in this"),
    ],
)
def test_a_refused_suite_change_shows_the_message_beside_its_field(
    web: Web, suite: str, field: str, typed: str, message: str
) -> None:
    browser = web.browser("ana")
    page = f"/network/suites/{suite}"
    before = _suite(web.app, suite)
    form = {
        "scale": "2000",
        "scale_unit": "L",
        "capabilities": "bsl2, single-use",
        "construction": "single-use",
        "same_product_hours": "8",
        "default_changeover_hours": "24",
        field: typed,
    }
    response = browser.submit(page, form, page)
    assert response.status_code == 422
    shown = field_error(response, "edit-suite", field)
    assert shown is not None
    assert shown.startswith(message)
    assert field_value(response, "edit-suite", field) == typed
    after = _suite(web.app, suite)
    assert (after.scale, after.capabilities) == (before.scale, before.capabilities)


# The network: downtime -----------------------------------------------------------------------------------------


def test_a_planner_adds_and_removes_a_downtime_window(web: Web) -> None:
    browser = web.browser("ana")
    page = "/network/suites/B-DSP-1"
    window = {"start": "2027-10-01T06:00", "end": "2027-10-03T18:00", "reason": "valve swap"}
    response = browser.submit(f"{page}/downtime", window, page)
    assert response.status_code == 303
    assert flash_of(browser.get(page)) == "Downtime of B-DSP-1 added: 2027-10-01 06:00 to 2027-10-03 18:00 UTC."
    (stored,) = _suite(web.app, "B-DSP-1").downtime
    assert (stored.start, stored.end, stored.reason) == (
        datetime(2027, 10, 1, 6, tzinfo=UTC),
        datetime(2027, 10, 3, 18, tzinfo=UTC),
        "valve swap",
    )
    shown = browser.get(page)
    assert 'name="start" value="2027-10-01T06:00:00+00:00"' in shown.text  # the remove button's form

    removed = browser.submit(f"{page}/downtime/remove", {"start": "2027-10-01T06:00:00+00:00"}, page)
    assert removed.status_code == 303
    assert flash_of(browser.get(page)) == "Downtime of B-DSP-1 from 2027-10-01 06:00 UTC removed."
    assert _suite(web.app, "B-DSP-1").downtime == []
    again = browser.submit(f"{page}/downtime/remove", {"start": "2027-10-01T06:00:00+00:00"}, page)
    assert again.status_code == 404
    assert "no longer there" in alert(again)


@pytest.mark.parametrize(
    ("window", "field", "message"),
    [
        ({"start": "2027-08-10T00:00", "end": "2027-08-20T00:00"}, "start", "overlaps"),
        ({"start": "2027-10-03T00:00", "end": "2027-10-01T00:00"}, "end", "must be after start"),
        ({"start": "tomorrow", "end": "2027-10-01T00:00"}, "start", "must be a date and time"),
        ({"start": "2027-10-01T00:00:30", "end": "2027-10-02T00:00"}, "start", "must be a whole minute"),
    ],
)
def test_a_refused_downtime_window_shows_the_message_beside_its_field(
    web: Web, window: dict[str, str], field: str, message: str
) -> None:
    page = "/network/suites/B-USP-1"  # down 2027-08-02 to 2027-08-16 already
    response = web.browser("ana").submit(f"{page}/downtime", {**window, "reason": "inspection"}, page)
    assert response.status_code == 422
    shown = field_error(response, "downtime", field)
    assert shown is not None
    assert message in shown
    assert field_value(response, "downtime", "reason") == "inspection"
    assert len(_suite(web.app, "B-USP-1").downtime) == 1


# Orders --------------------------------------------------------------------------------------------------------


def test_a_planner_creates_an_order_and_is_offered_to_plan_it(web: Web) -> None:
    browser = web.browser("ana")
    form_page = browser.get("/orders")
    assert 'action="/orders"' in form_page.text
    assert '<optgroup label="Helix Vaccines">' in form_page.text
    response = browser.submit("/orders", NEW_ORDER, "/orders")
    assert response.status_code == 303
    assert response.headers["location"] == "/orders/PO-2027-100"
    page = browser.get("/orders/PO-2027-100")
    assert flash_of(page) == "Order PO-2027-100 created with 2 planned batches."
    assert "Plan now" in page.text
    assert 'action="/schedule/jobs"' in page.text
    order = catalogue.get_order(web.app.unit_of_work(), "PO-2027-100")
    assert [batch.lot_number for batch in order.batches] == ["PO-2027-100-001", "PO-2027-100-002"]
    assert (order.sponsor.name, order.program.name, order.priority) == ("Helix Vaccines", "HXV-7", 2)
    assert (order.release_date, order.due_date) == (date(2027, 4, 1), date(2027, 12, 15))
    assert order.late_penalty_per_day == Decimal("12500.50")


@pytest.mark.parametrize(
    ("changes", "field", "message", "status"),
    [
        ({"program": "NWB-101"}, "program", "there is no program of Helix Vaccines named 'NWB-101'", 422),
        ({"due_date": "2027-03-01"}, "due_date", "must not be before the release date", 422),
        ({"due_date": "15/12/2027"}, "due_date", "must be a date such as 2027-06-30, not '15/12/2027'", 422),
        ({"batch_count": "0"}, "batch_count", "must be at least 1, not 0", 422),
        ({"price_per_batch": "12.345"}, "price_per_batch", "must have at most two decimals, not 12.345", 422),
        ({"sponsor": ""}, "sponsor", "required", 422),
        ({"number": "PO-2027-001"}, "number", "an order numbered 'PO-2027-001' already exists", 409),
    ],
)
def test_a_refused_order_shows_the_message_beside_its_field_and_keeps_the_input(
    web: Web, changes: dict[str, str], field: str, message: str, status: int
) -> None:
    response = web.browser("ana").submit("/orders", {**NEW_ORDER, **changes}, "/orders")
    assert response.status_code == status
    shown = field_error(response, "new-order", field)
    assert shown is not None
    assert shown == message
    assert field_value(response, "new-order", "late_penalty_per_day") == "12 500.50"
    assert '<details class="card form-box" id="new-order" open>' in response.text
    numbers = [order.number for order in catalogue.list_orders(web.app.unit_of_work())]
    assert "PO-2027-100" not in numbers


def test_a_planner_changes_an_order(web: Web) -> None:
    browser = web.browser("ana")
    page = browser.get("/orders/PO-2027-003")
    assert field_value(page, "edit-order", "due_date") == "2027-09-30"
    response = browser.submit("/orders/PO-2027-003", ORDER_CHANGES, "/orders/PO-2027-003")
    assert response.status_code == 303
    assert flash_of(browser.get("/orders/PO-2027-003")) == "Order PO-2027-003 saved."
    order = catalogue.get_order(web.app.unit_of_work(), "PO-2027-003")
    assert (order.due_date, order.priority, order.price_per_batch) == (date(2027, 11, 30), 1, Decimal("1000000.25"))


def test_a_refused_order_change_shows_the_message_beside_its_field(web: Web) -> None:
    browser = web.browser("ana")
    path = "/orders/PO-2027-001"  # a batch of it is in progress: the release date is fixed
    page = browser.get(path)
    form = {name: field_value(page, "edit-order", name) or "" for name in ORDER_CHANGES}
    response = browser.submit(path, {**form, "release_date": "2027-01-10", "priority": "9"}, path)
    assert response.status_code == 422
    assert field_error(response, "edit-order", "release_date") == (
        "batch NWB101-27-001 has started: the release date can no longer change"
    )
    assert field_value(response, "edit-order", "priority") == "9"
    assert catalogue.get_order(web.app.unit_of_work(), "PO-2027-001").release_date == date(2027, 1, 4)


# CSRF, roles and sponsors on every form ------------------------------------------------------------------------


FORMS = [
    ("/network/sites", {"name": "Site C Cork", "region": "EU"}),
    ("/network/sites/Site%20B%20Leiden/suites", NEW_SUITE),
    ("/network/suites/B-DSP-1", {**NEW_SUITE, "scale": "1"}),
    ("/network/suites/B-DSP-1/downtime", {"start": "2027-10-01T06:00", "end": "2027-10-02T06:00", "reason": "x"}),
    ("/network/suites/B-USP-1/downtime/remove", {"start": "2027-08-02T06:00:00+00:00"}),
    ("/orders", NEW_ORDER),
    ("/orders/PO-2027-003", ORDER_CHANGES),
    ("/schedule/jobs", {"time_limit": "1", "strategy": "auto"}),
]


def _unchanged(app: App) -> tuple[object, ...]:
    """What the forms above would change."""
    suites = {
        suite.name: (suite.scale, len(suite.downtime)) for _site, suite in catalogue.list_suites(app.unit_of_work())
    }
    orders = {order.number: (order.due_date, order.batch_count) for order in catalogue.list_orders(app.unit_of_work())}
    with app.unit_of_work() as uow:
        version = uow.schedules.get()
        number = None if version is None else version.number
    return tuple(_sites(app)), suites, orders, number


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[path for path, _ in FORMS])
def test_every_form_refuses_a_post_without_the_sessions_csrf_token(web: Web, path: str, form: dict[str, str]) -> None:
    browser = web.browser("ana")
    before = _unchanged(web.app)
    for token in (None, "0" * 64, web.browser("ana").csrf("/")):  # none, made up, another session's
        data = form if token is None else {**form, "csrf_token": token}
        response = browser.post(path, data)
        assert response.status_code == 403, (token, response.text)
        assert "was not sent from an OpenCDMO page" in response.text
    assert _unchanged(web.app) == before
    assert getattr(web.asgi.state, "plan_jobs", None) is None or web.asgi.state.plan_jobs.list() == []


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[path for path, _ in FORMS])
@pytest.mark.parametrize("username", ["op", "vic", "hx"])
def test_a_role_without_the_action_cannot_post_a_form(web: Web, path: str, form: dict[str, str], username: str) -> None:
    browser = web.browser(username)
    before = _unchanged(web.app)
    response = browser.submit(path, form)
    assert response.status_code == 403, response.text
    assert "may not" in response.text
    assert _unchanged(web.app) == before


def test_the_forms_are_shown_only_to_roles_that_may_use_them(planned: Web) -> None:
    markers = {
        "/network": ['action="/network/sites"', "Add a suite to"],
        "/network/suites/B-USP-1": ['action="/network/suites/B-USP-1"', "/downtime/remove", "Add a downtime window"],
        "/orders": ['method="post" action="/orders"', "New order"],
        "/orders/PO-2027-003": ['action="/orders/PO-2027-003"', "Change the order"],
        "/schedule": ['action="/schedule/jobs"', "Re-plan"],
    }
    planner = planned.browser("ana")
    for path, texts in markers.items():
        page = planner.get(path)
        assert page.status_code == 200
        assert all(text in page.text for text in texts), path
    operator, viewer = planned.browser("op"), planned.browser("vic")
    for browser in (operator, viewer):
        for path, texts in markers.items():
            page = browser.get(path)
            assert page.status_code == 200, path
            assert not any(text in page.text for text in texts), (path, page.text)
    sponsor = planned.browser("hx")
    for path in ("/orders", "/orders/PO-2027-003", "/schedule"):
        page = sponsor.get(path)
        assert page.status_code == 200
        assert '<form method="post" action="/logout"' in page.text
        assert page.text.count('method="post"') == 1  # sign out, nothing else
    assert sponsor.get("/network/suites/B-USP-1").status_code == 403


def test_a_new_order_form_offers_only_the_sponsors_of_the_network(web: Web) -> None:
    page = web.browser("ana").get("/orders")
    sponsors = re.findall(r'<optgroup label="([^"]+)">', page.text)
    assert sponsors == ["Helix Vaccines", "Northwind Biologics"]
    assert '<script src="/static/forms.js' in page.text
    assert web.browser("ana").get("/static/forms.js").status_code == 200


# Re-planning ---------------------------------------------------------------------------------------------------


def test_a_plan_started_from_the_page_runs_to_success_and_its_progress_is_reported(web: Web) -> None:
    browser = web.browser("ana")
    assert "Plan now" in browser.get("/schedule").text  # no plan yet
    response = browser.submit("/schedule/jobs", {"time_limit": "1.5", "strategy": "auto"}, "/schedule")
    assert response.status_code == 303
    job_path = response.headers["location"]
    assert re.fullmatch(r"/schedule/jobs/[A-Za-z0-9_-]+", job_path)

    page = browser.get(job_path)
    assert page.status_code == 200
    bar = PROGRESS_BAR.search(page.text)
    assert bar is not None
    assert 0 <= float(bar.group(1)) <= 1
    assert '<script src="/static/plan_job.js' in page.text
    assert f'data-source="{job_path}.json"' in page.text

    job = _finish(browser, job_path)
    assert job["state"] == "succeeded", job
    assert (job["version"], job["fraction"], job["error"]) == (1, 1.0, None)
    assert job["requested_by"] == "ana"
    assert job["time_limit"] == 1.5
    assert job["step"]
    assert job["best_objective"] is not None
    assert job["done"] == f"/schedule?job={job['id']}"

    finished = browser.get(job_path)
    assert "Version 1 stored." in finished.text
    assert 'http-equiv="refresh"' not in finished.text  # nothing left to follow
    schedule = browser.get(job["done"])
    assert "Plan job finished: version 1 stored." in schedule.text
    assert "plan v1" in schedule.text
    with web.app.unit_of_work() as uow:
        stored = uow.schedules.get()
        assert stored is not None
        assert (stored.number, stored.created_by, stored.time_limit) == (1, "ana", 1.5)


def test_a_job_started_through_the_api_shows_in_the_web_and_the_other_way(web: Web) -> None:
    token = accounts.issue_token(web.app.unit_of_work(), "ana")

    def api(method: str, path: str, json: Any = None) -> httpx.Response:
        return web.browser().request_with(method, path, json=json, headers={"Authorization": f"Bearer {token}"})

    started = api("POST", "/api/v1/schedules/jobs", {"time_limit": 1, "strategy": "auto", "workers": 1})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    browser = web.browser("ana")
    job = _finish(browser, f"/schedule/jobs/{job_id}")
    assert job["state"] == "succeeded", job["error"]

    response = browser.submit("/schedule/jobs", {"time_limit": "1", "strategy": "auto"}, "/schedule")
    web_id = response.headers["location"].rsplit("/", 1)[1]
    assert _finish(browser, f"/schedule/jobs/{web_id}")["version"] == 2
    listed = api("GET", "/api/v1/schedules/jobs").json()
    assert [item["id"] for item in listed] == [web_id, job_id]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"time_limit": "0.5"}, "time_limit", "must be from 1 to 600 seconds, not 0.5"),
        ({"time_limit": "601"}, "time_limit", "must be from 1 to 600 seconds, not 601"),
        ({"time_limit": "fast"}, "time_limit", "must be a number, not 'fast'"),
        ({"strategy": "magic"}, "strategy", "choose one of auto, cpsat, lns, greedy"),
    ],
)
def test_a_refused_re_plan_shows_the_message_beside_its_field(
    planned: Web, form: dict[str, str], field: str, message: str
) -> None:
    response = planned.browser("ana").submit("/schedule/jobs", {"time_limit": "5", "strategy": "auto", **form})
    assert response.status_code == 422
    shown = field_error(response, "replan", field)
    assert shown is not None
    assert shown == message
    assert field_value(response, "replan", "time_limit") == {"time_limit": "5", **form}["time_limit"]
    assert getattr(planned.asgi.state, "plan_jobs", None) is None or planned.asgi.state.plan_jobs.list() == []


@dataclass
class Gate:
    """A stand-in for the planning service that waits to be opened, then fails."""

    opened: threading.Event

    def plan(self, uow: UnitOfWork, options: planning.PlanOptions, **callbacks: Any) -> planning.PlanReport:
        callbacks["progress"]("waiting at the gate")
        assert self.opened.wait(30)
        raise planning.PlanRejected("no plan: the gate said so")


@pytest.fixture
def gate(web: Web) -> Iterator[Gate]:
    held = Gate(threading.Event())
    web.asgi.state.plan_jobs = PlanJobs(plan=held.plan)
    yield held
    held.opened.set()


def test_one_solve_at_a_time_and_a_failure_is_shown(web: Web, gate: Gate) -> None:
    browser = web.browser("ana")
    first = browser.submit("/schedule/jobs", {"time_limit": "2", "strategy": "auto"}, "/schedule")
    job_path = first.headers["location"]
    running = browser.get(job_path)
    assert 'http-equiv="refresh" content="2"' in running.text  # without scripts, the page reloads itself
    assert 'id="plan-refresh"' in running.text

    schedule = browser.get("/schedule")
    assert f'href="{job_path}"' in schedule.text
    assert 'action="/schedule/jobs"' not in schedule.text  # no second solve offered while one runs
    second = browser.submit("/schedule/jobs", {"time_limit": "2", "strategy": "auto"}, "/orders/PO-2027-003")
    assert second.status_code == 409
    assert "a solve is already" in alert(second)

    gate.opened.set()
    job = _finish(browser, job_path)
    assert (job["state"], job["version"]) == ("failed", None)
    assert job["error"] == "no plan: the gate said so"
    assert "The solve failed: no plan: the gate said so" in browser.get(job_path).text
    assert "The plan job failed: no plan: the gate said so" in browser.get(job["done"]).text


def test_the_job_data_is_for_planners_only(web: Web, gate: Gate) -> None:
    browser = web.browser("ana")
    job_path = browser.submit("/schedule/jobs", {"time_limit": "2", "strategy": "auto"}, "/schedule").headers[
        "location"
    ]
    assert browser.get(f"{job_path}.json").json()["step"] == "waiting at the gate"
    for username in ("hx", "vic"):
        refused = web.browser(username).get(f"{job_path}.json")
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        assert web.browser(username).get(job_path).status_code == 403
    anonymous = Browser(web.asgi).get(f"{job_path}.json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    for unknown in ("/schedule/jobs/no-such-job.json", "/schedule/jobs/%3Cscript%3E.json"):
        missing = browser.get(unknown)
        assert missing.status_code == 404
        assert missing.json()["error"] == "not-found"
    assert browser.get("/schedule/jobs/no-such-job").status_code == 404


# Versions and comparing them -----------------------------------------------------------------------------------


@pytest.fixture
def replanned(planned: Web) -> Web:
    """Version 1 and version 2, a re-plan after a week's breakdown of a suite busy in version 1: steps move."""
    base = planning.latest_plan(planned.app.unit_of_work())
    target = next(line for line in base.operations if line.kind == "stage" and line.start > base.origin)
    down = planning.SuiteDown(target.suite, target.start, target.start + timedelta(days=7))
    planning.reschedule(planned.app.unit_of_work(), down, FAST)
    return planned


def test_the_versions_page_lists_every_version(replanned: Web) -> None:
    page = replanned.browser("ana").get("/schedule/versions")
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td>v(\d+)</td>\s*<td>(\w+)", page.text)
    assert rows == [("2", "reschedule"), ("1", "plan")]
    assert 'href="/schedule/compare?a=1&amp;b=2"' in page.text
    assert 'action="/schedule/compare"' in page.text


def test_the_compare_page_lists_what_moved(replanned: Web) -> None:
    comparison = planning.compare_versions(replanned.app.unit_of_work(), 1, 2)
    assert comparison.moved
    browser = replanned.browser("ana")
    page = browser.get("/schedule/compare?a=1&b=2")
    assert page.status_code == 200
    assert "v1 → v2" in page.text
    assert f"{len(comparison.moved)} moved" in page.text
    rows = re.findall(
        r'<tr>\s*<td class="nowrap"><a href="/batches/[^"]+">([^<]+)</a></td>\s*<td>([^<]+)</td>', page.text
    )
    moved_rows = rows[: len(comparison.moved)]
    assert moved_rows == [(move.lot, move.step) for move in comparison.moved]
    first = comparison.moved[0]
    assert f"{first.shift_hours:+.1f} h" in page.text
    assert "On-time rate" in page.text
    assert "Mean utilization" in page.text
    assert page.text.count("<tr><td>") >= 8  # a row per key figure
    defaults = browser.get("/schedule/compare")  # the newest against the one before
    assert defaults.text == page.text


def test_a_sponsor_compares_only_its_own_batches(replanned: Web) -> None:
    page = replanned.browser("hx").get("/schedule/compare?a=1&b=2")
    assert page.status_code == 200
    assert "Figures and operations of your own batches only." in page.text
    for mark in ("Northwind", "NWB", "PO-2027-001", "Mean utilization", "Changeovers"):
        assert mark not in page.text
    own = planning.compare_versions(replanned.app.unit_of_work(), 1, 2)
    lots = set(re.findall(r'<a href="/batches/([^"]+)">', page.text))
    assert lots <= {move.lot for move in own.moved} | {item.lot for item in own.added + own.removed}
    assert all(lot.startswith("HXV7") for lot in lots)
    assert "NWB" not in replanned.browser("hx").get("/schedule/versions").text


@pytest.mark.parametrize(("query", "status"), [("a=one&b=2", 422), ("a=1&b=99", 404), ("a=0&b=1", 422)])
def test_a_bad_comparison_is_refused(replanned: Web, query: str, status: int) -> None:
    assert replanned.browser("ana").get(f"/schedule/compare?{query}").status_code == status


def test_with_one_version_there_is_nothing_to_compare(planned: Web) -> None:
    page = planned.browser("ana").get("/schedule/compare")
    assert page.status_code == 200
    assert "Two stored versions are needed" in page.text


# The plan cache after edits ------------------------------------------------------------------------------------


def _due_minutes(browser: Browser, order: str) -> int:
    data = browser.get("/schedule/data.json?by=order&start=2026-06-01&end=2028-06-01").json()
    return int(next(due for number, due in data["orders"] if number == order))


def test_the_plan_pages_show_an_order_edited_through_the_web_at_once(planned: Web) -> None:
    browser = planned.browser("ana")
    before = _due_minutes(browser, "PO-2027-003")  # the plan is now cached, for minutes
    page = browser.get("/orders/PO-2027-003")
    form = {name: field_value(page, "edit-order", name) or "" for name in ORDER_CHANGES}
    response = browser.submit("/orders/PO-2027-003", {**form, "due_date": "2027-10-07"}, "/orders/PO-2027-003")
    assert response.status_code == 303
    assert _due_minutes(browser, "PO-2027-003") - before == 7 * 24 * 60


def test_the_plan_pages_show_an_order_edited_through_the_api_at_once(planned: Web) -> None:
    browser = planned.browser("ana")
    before = _due_minutes(browser, "PO-2027-003")
    token = accounts.issue_token(planned.app.unit_of_work(), "ana")
    response = browser.request_with(
        "PATCH",
        "/api/v1/orders/PO-2027-003",
        json={"due_date": "2027-09-28"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert _due_minutes(browser, "PO-2027-003") - before == -2 * 24 * 60


def test_a_forged_flash_cookie_is_ignored(web: Web) -> None:
    browser = web.browser("ana")
    browser.submit("/network/sites", {"name": "Site C Cork", "region": "EU"}, "/network")
    mine = browser.cookies[FLASH_COOKIE]
    other = web.browser("ana")
    other.cookies.set(FLASH_COOKIE, mine)  # another session's message
    page = other.get("/network")
    assert flash_of(page) is None
    assert FLASH_COOKIE in page.headers.get("set-cookie", "")  # and it is cleared
    assert flash_of(browser.get("/network")) == "Site added: Site C Cork."  # its own session's: said
    assert FLASH_COOKIE not in browser.cookies
    # Another text under the signature of the first is refused too.
    browser.cookies.set(FLASH_COOKIE, mine.replace(mine.split(".")[0], "U2l0ZSBYIGFkZGVkLg"))
    assert flash_of(browser.get("/network")) is None
