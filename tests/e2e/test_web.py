"""The web pages through the ASGI app on each database: sign-in, sessions, CSRF, roles, sponsor isolation, pages."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.routing import APIRoute

from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import InputError, Unauthorized
from opencdmo.services import accounts, catalogue, planning
from opencdmo.web import ROUTERS as WEB_ROUTERS
from opencdmo.web import gantt
from opencdmo.web.auth import SIGN_IN_REFUSED
from opencdmo.web.plans import PlanCache
from opencdmo.web.sessions import LOGIN_COOKIE, SESSION_COOKIE
from tests.e2e.quality_setup import HELIX_DEVIATION, HELIX_LOT, NORTHWIND_DEVIATION, NORTHWIND_LOT, quality_records
from tests.e2e.web_client import PASSWORD, Browser, Web, alert, build_web, cheap_password_hashes

OTHER_SPONSOR_MARKS = ("Northwind", "NWB", "PO-2027-001", "PO-2027-002")
# PO-2027-001 made due early, so the plan has late batches and at-risk orders.
LATE_DUE = ("due_date: 2027-06-30", "due_date: 2027-02-20")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashes(monkeypatch)


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    """The sample network, its users, no plan."""
    return build_web(app, sample_text)


@pytest.fixture
def planned(app: App, sample_text: str) -> Web:
    """The sample network with Northwind's PO-2027-001 due early, planned: some of its batches are late."""
    site = build_web(app, sample_text.replace(*LATE_DUE))
    planning.plan_network(app.unit_of_work(), planning.PlanOptions(time_limit=2))
    return site


# Signing in and out --------------------------------------------------------------------------------------------


def test_a_page_without_a_session_redirects_to_the_sign_in_page_and_back(web: Web) -> None:
    browser = web.browser()
    response = browser.get("/orders?status=scheduled")
    assert response.status_code == 303
    location = response.headers["location"]
    assert urlsplit(location).path == "/login"
    assert parse_qs(urlsplit(location).query) == {"next": ["/orders?status=scheduled"]}

    signed_in = browser.sign_in("ana", next_path="/orders?status=scheduled")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/orders?status=scheduled"
    assert browser.get("/orders?status=scheduled").status_code == 200


def test_the_session_cookie_is_opaque_http_only_same_site_lax_and_secure_over_https(web: Web) -> None:
    over_http = web.browser().sign_in("ana")
    cookie = next(value for value in over_http.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "secure" not in attributes
    token = cookie.split(";")[0].split("=", 1)[1]
    assert accounts.resolve_token(web.app.unit_of_work(), token).username == "ana"
    assert "ana" not in token

    over_https = web.browser(base_url="https://testserver").sign_in("ana")
    cookie = next(value for value in over_https.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_wrong_password_shows_the_form_again_with_a_generic_message(web: Web) -> None:
    browser = web.browser()
    response = browser.sign_in("ana", password="not the password")
    assert response.status_code == 401
    assert alert(response) == SIGN_IN_REFUSED
    assert SESSION_COOKIE not in browser.cookies
    unknown = browser.sign_in("nobody", password="not the password")
    assert alert(unknown) == SIGN_IN_REFUSED
    assert browser.get("/").status_code == 303


def test_five_failures_lock_the_account_and_the_lock_shows_the_same_message(web: Web) -> None:
    browser = web.browser()
    messages = {alert(browser.sign_in("ana", password=f"wrong password {attempt}")) for attempt in range(5)}
    locked = browser.sign_in("ana")  # the right password, but locked
    assert locked.status_code == 401
    assert messages == {alert(locked)} == {SIGN_IN_REFUSED}
    assert SESSION_COOKIE not in browser.cookies
    assert web.browser().sign_in("op").status_code == 303  # others are not affected


def test_signing_out_revokes_the_session_at_once(web: Web) -> None:
    browser = web.browser("ana")
    token = browser.cookies[SESSION_COOKIE]
    response = browser.post("/logout", {"csrf_token": browser.csrf("/")})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert SESSION_COOKIE not in browser.cookies
    # The old cookie, replayed, no longer works: the token is revoked on the server, not just forgotten.
    replay = Browser(web.asgi)
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/").status_code == 303
    with pytest.raises(Unauthorized):
        accounts.resolve_token(web.app.unit_of_work(), token)


def test_a_session_is_a_short_lived_token(web: Web) -> None:
    token = web.browser("ana").cookies[SESSION_COOKIE]
    with web.app.unit_of_work() as uow:
        stored = uow.tokens.find(accounts.token_digest(token))
        assert stored is not None
        assert stored.expires_at - stored.created_at == accounts.SESSION_LIFETIME == timedelta(hours=12)
    with pytest.raises(InputError):
        accounts.issue_session_token(web.app.unit_of_work(), "ana", lifetime=timedelta(days=30))


def test_a_signed_in_user_visiting_the_sign_in_page_goes_on(web: Web) -> None:
    browser = web.browser("ana")
    response = browser.get("/login?next=/network")
    assert response.status_code == 303
    assert response.headers["location"] == "/network"


# CSRF ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "0" * 64, "not-a-token"])
def test_a_form_without_the_sessions_csrf_token_is_refused(web: Web, token: str | None) -> None:
    browser = web.browser("ana")
    response = browser.post("/logout", {} if token is None else {"csrf_token": token})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "Not allowed" in response.text
    assert browser.get("/").status_code == 200  # still signed in: nothing happened


def test_another_sessions_csrf_token_is_refused(web: Web) -> None:
    mine, theirs = web.browser("ana"), web.browser("ana")
    response = mine.post("/logout", {"csrf_token": theirs.csrf("/")})
    assert response.status_code == 403


def test_the_sign_in_form_refuses_a_post_without_its_pre_session_token(web: Web) -> None:
    # Login CSRF: another site's form would post without the cookie (or with a token of another one).
    browser = web.browser()
    no_cookie = browser.post("/login", {"username": "ana", "password": PASSWORD, "csrf_token": "x" * 64})
    assert no_cookie.status_code == 403
    other = web.browser()
    token = other.csrf("/login")
    browser.csrf("/login")  # this browser has a pre-session cookie of its own
    assert browser.post("/login", {"username": "ana", "password": PASSWORD, "csrf_token": token}).status_code == 403
    assert SESSION_COOKIE not in browser.cookies
    assert LOGIN_COOKIE in browser.cookies


# Redirects -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/login",
        "/api/v1/orders",
        "orders",
        "/%0d%0aSet-Cookie:x=y",
        "/\tevil",
    ],
)
def test_next_never_leaves_the_site(web: Web, target: str) -> None:
    browser = web.browser()
    token = browser.csrf("/login")
    response = browser.post("/login", {"username": "ana", "password": PASSWORD, "csrf_token": token, "next": target})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/" or (location.startswith("/") and not location.startswith("//") and target == location)
    assert urlsplit(location).netloc == ""
    login = Browser(web.asgi).get(f"/login?{urlencode({'next': target})}")
    assert "evil" not in login.text


# Roles and pages -----------------------------------------------------------------------------------------------


PLANNER_PAGES = {
    "/": ["Dashboard", "Backlog", "on time", "Utilization by suite", "B-USP-1", "At risk", "PO-2027-001"],
    "/network": ["Site B Leiden", "B-USP-1", "upstream", "2,000 L", "D-FILL-1"],
    "/orders": ["PO-2027-001", "PO-2027-003", "Northwind Biologics", "Helix Vaccines", "NWB-101"],
    "/orders/PO-2027-001": ["NWB101-27-001", "in-progress", "late", "Northwind Biologics"],
    "/batches/NWB101-27-002": ["PO-2027-001", "seed train", "B-DSP-1", "QC release", "B-QC", "late"],
    "/schedule": ["plan v1", "by suite", "by order", "/static/vendor/plotly.min.js", "/static/gantt.js"],
    "/docs": ["/api/v1/openapi.json", "swagger-ui-bundle.js"],
}


@pytest.mark.parametrize(("path", "expected"), PLANNER_PAGES.items())
def test_every_page_shows_its_content_to_a_planner(planned: Web, path: str, expected: list[str]) -> None:
    response = planned.browser("ana").get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    for text in expected:
        assert text in response.text, f"{text!r} missing from {path}"
    assert "Sign out" in response.text
    assert "planner" in response.text


def test_the_dashboard_without_a_plan_says_so_and_links_to_the_schedule(web: Web) -> None:
    page = web.browser("ana").get("/")
    assert page.status_code == 200
    assert "No plan is stored yet" in page.text
    assert 'href="/schedule"' in page.text
    schedule = web.browser("ana").get("/schedule")
    assert "No plan is stored yet" in schedule.text
    assert "plotly.min.js" not in schedule.text
    data = web.browser("ana").get("/schedule/data.json")
    assert data.status_code == 404
    assert data.json()["error"] == "not-found"


def test_a_role_without_the_action_gets_403_and_no_link(planned: Web) -> None:
    sponsor = planned.browser("hx")
    response = sponsor.get("/network")
    assert response.status_code == 403
    assert "may not view network" in response.text
    home = sponsor.get("/")
    assert 'href="/network"' not in home.text
    assert 'href="/orders"' in home.text
    assert "Utilization by suite" not in home.text
    assert "mean suite utilization" not in home.text


def test_an_operator_sees_the_shop_floor_but_no_kpis(planned: Web) -> None:
    operator = planned.browser("op")
    home = operator.get("/")
    assert home.status_code == 200
    assert "Backlog" in home.text
    assert "on time" not in home.text  # no VIEW_KPIS
    assert operator.get("/network").status_code == 200
    orders = operator.get("/orders")
    assert '<select name="sponsor">' not in orders.text  # no VIEW_SPONSORS: no sponsor filter


SPONSOR_PATHS = [
    "/",
    "/orders",
    "/orders?q=PO",
    "/orders?sponsor=Northwind+Biologics",
    "/orders/PO-2027-003",
    "/batches/HXV7-27-002",
    "/batches/HXV7-27-001",
    "/schedule",
    "/schedule?by=order",
    "/schedule/data.json",
    "/schedule/data.json?by=order",
    "/schedule/data.json?start=2026-01-01&end=2029-01-01",
    "/schedule/data.json?by=order&start=2026-01-01&end=2029-01-01",
    "/schedule/versions",
    "/schedule/compare?a=1&b=1",
    "/docs",
    "/account/password",
    "/deviations",
    "/deviations?status=all",
    f"/deviations/{HELIX_DEVIATION}",
    f"/qc/{HELIX_LOT}",
    f"/batches/{HELIX_LOT}/record.html",
    f"/batches/{HELIX_LOT}/record.json",
    "/batch-records",
    f"/batch-records/{HELIX_LOT}",
]


# Pages a sponsor user may not open at all (its role lacks the action).
SPONSOR_FORBIDDEN = [
    f"/batches/{HELIX_LOT}/release",
    "/audit",
    "/audit/export.csv",
    "/audit/export.json",
    "/qc",
    "/instruments",
    "/master-records",
    "/master-records/mAb%20fed-batch%202000%20L/v1",
    "/network",
    "/network/suites/B-USP-1",
    "/schedule/jobs/no-such-job",
    "/schedule/jobs/no-such-job.json",
    "/training",
]
# Not pages: our static assets, the JSON API (walked in test_api.py) and the public sign-in page.
NOT_PAGES = ("/static/", "/api/", "/login")


def test_the_sponsor_walk_covers_every_page(planned: Web) -> None:
    walked = [urlsplit(path).path for path in SPONSOR_PATHS + SPONSOR_FORBIDDEN]
    pages = [
        route
        for router in WEB_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods and not route.path.startswith(NOT_PAGES)
    ]
    assert len(pages) >= 10
    for route in pages:
        assert any(route.path_regex.match(path) for path in walked), f"{route.path} is missing from the sponsor walk"


@pytest.mark.parametrize("path", SPONSOR_FORBIDDEN)
def test_a_page_a_sponsor_may_not_open_answers_403_and_names_no_other_sponsor(planned: Web, path: str) -> None:
    response = planned.browser("hx").get(path)
    assert response.status_code == 403
    for mark in OTHER_SPONSOR_MARKS:
        assert mark not in response.text


def test_a_sponsor_user_sees_nothing_of_another_sponsor_anywhere(planned: Web) -> None:
    quality_records(planned.app)  # a released batch and a deviation of each sponsor
    staff = planned.browser("ana")
    assert "Northwind" in staff.get("/schedule/data.json?start=2026-01-01&end=2029-01-01").text
    sponsor = planned.browser("hx")
    for path in SPONSOR_PATHS:
        response = sponsor.get(path)
        assert response.status_code == 200, (path, response.text)
        for mark in OTHER_SPONSOR_MARKS:
            assert mark not in response.text, f"{mark!r} leaked on {path}"
    assert "Helix Vaccines" in sponsor.get("/").text
    assert "HXV7-27-002" in sponsor.get("/schedule/data.json?start=2026-01-01&end=2029-01-01").text
    # The staff view of the plan cached before is not handed to the sponsor, nor the sponsor's to staff.
    assert "Northwind" in staff.get("/schedule/data.json?start=2026-01-01&end=2029-01-01").text


@pytest.mark.parametrize(
    ("template", "other", "missing"),
    [
        ("/orders/{}", "PO-2027-001", "PO-2099-999"),
        ("/batches/{}", "NWB101-27-001", "NOPE-1"),
        ("/deviations/{}", NORTHWIND_DEVIATION, "DEV-0000-0000"),
        ("/qc/{}", NORTHWIND_LOT, "NOPE-1"),
        ("/batches/{}/record.html", NORTHWIND_LOT, "NOPE-1"),
    ],
)
def test_another_sponsors_record_answers_404_like_a_missing_one(
    planned: Web, template: str, other: str, missing: str
) -> None:
    quality_records(planned.app)
    sponsor = planned.browser("hx")
    theirs = sponsor.get(template.format(other))
    absent = sponsor.get(template.format(missing))
    assert theirs.status_code == absent.status_code == 404
    assert theirs.text.replace(other, "KEY") == absent.text.replace(missing, "KEY")
    assert "Northwind" not in theirs.text


def test_the_orders_page_filters_and_reports_bad_filters_in_the_form(planned: Web) -> None:
    browser = planned.browser("ana")
    helix = browser.get("/orders?sponsor=Helix+Vaccines")
    assert "PO-2027-003" in helix.text
    assert "PO-2027-001" not in helix.text
    released = browser.get("/orders?status=released")
    assert "PO-2027-002" in released.text
    assert "PO-2027-003" not in released.text
    due = browser.get("/orders?due_before=2027-05-01")
    assert "PO-2027-001" in due.text  # due 2027-02-20 in this fixture
    assert "PO-2027-003" not in due.text
    search = browser.get("/orders?q=hxv")
    assert "PO-2027-003" in search.text
    assert "PO-2027-002" not in search.text
    bad = browser.get("/orders?status=lost&due_before=someday")
    assert bad.status_code == 422
    assert "unknown batch status" in bad.text
    assert "expected a date" in bad.text
    assert '<form method="get" action="/orders"' in bad.text


# The Gantt chart's data ----------------------------------------------------------------------------------------


def test_the_schedule_data_is_a_window_of_the_plan_with_late_operations_marked(planned: Web) -> None:
    browser = planned.browser("ana")
    data = browser.get("/schedule/data.json?start=2026-12-01&end=2027-12-31").json()
    assert data["mode"] == "operations"
    assert data["by"] == "suite"
    assert data["operations"] == len(data["bars"]["row"]) > 0
    assert "B-USP-1" in data["rows"]
    groups = [group["name"] for group in data["groups"]]
    assert groups[-1] == "cleaning"
    assert {"Helix Vaccines", "Northwind Biologics"} <= set(groups)
    late_lots = {
        data["lots"][lot][0] for lot, late in zip(data["bars"]["lot"], data["bars"]["late"], strict=True) if late
    }
    assert late_lots
    assert all(lot.startswith("NWB101") for lot in late_lots)
    cleaning = groups.index("cleaning")
    assert cleaning in data["bars"]["group"]
    by_order = browser.get("/schedule/data.json?by=order&start=2026-12-01&end=2027-12-31").json()
    assert set(by_order["rows"]) == {"PO-2027-001", "PO-2027-003"}  # PO-2027-002 is done: not planned
    assert cleaning not in by_order["bars"]["group"]  # cleaning is a suite's matter


def test_the_default_window_is_four_weeks_from_the_start_of_the_plan(planned: Web) -> None:
    data = planned.browser("ana").get("/schedule/data.json").json()
    assert data["window"] == {"start": 0, "end": 28 * 24 * 60}
    assert all(start < data["window"]["end"] for start in data["bars"]["start"])
    assert all(end > 0 for end in data["bars"]["end"])


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("by=site", "by: expected one of suite, order"),
        ("start=yesterday", "start: expected a date"),
        ("start=2027-03-01&end=2027-02-01", "end: must be after start"),
        ("start=2020-01-01&end=2030-01-01", "at most"),
    ],
)
def test_bad_schedule_data_queries_answer_422_in_json(planned: Web, query: str, problem: str) -> None:
    response = planned.browser("ana").get(f"/schedule/data.json?{query}")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid-input"
    assert problem in response.json()["detail"]


def test_the_schedule_data_without_a_session_answers_401_in_json(planned: Web) -> None:
    response = Browser(planned.asgi).get("/schedule/data.json")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_crowded_window_is_merged_or_shown_as_load(planned: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = planned.browser("ana")
    whole = "start=2026-12-01&end=2027-12-31"
    full = browser.get(f"/schedule/data.json?by=order&{whole}").json()
    monkeypatch.setattr(gantt, "MAX_BARS", 3)
    monkeypatch.setattr(gantt, "PIXELS", 10)  # merge operations up to five weeks apart
    merged = browser.get(f"/schedule/data.json?by=order&{whole}").json()
    assert merged["mode"] == "merged"
    assert len(merged["bars"]["row"]) < len(full["bars"]["row"])
    assert sum(merged["bars"]["count"]) == full["operations"] == merged["operations"]
    assert any(count > 1 for count in merged["bars"]["count"])
    load = browser.get(f"/schedule/data.json?by=suite&{whole}").json()
    assert load["mode"] == "load"
    busy = load["load"]["busy"]
    assert len(busy) == len(load["rows"])
    assert all(len(row) == len(load["load"]["column_start"]) for row in busy)
    b_usp_1 = busy[load["rows"].index("B-USP-1")]
    assert max(b_usp_1) == 100
    assert min(b_usp_1) == 0
    assert all(0 <= share <= 100 for row in busy for share in row)


# Headers, assets and errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/orders", "/schedule", "/docs", "/no-such-page"])
def test_pages_carry_the_security_headers(planned: Web, path: str) -> None:
    response = planned.browser("ana").get(path)
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    inline_styles = path in ("/schedule", "/docs")
    assert ("'unsafe-inline'" in policy["style-src"]) is inline_styles
    assert "<script>" not in response.text  # no inline script anywhere


def test_the_api_keeps_its_json_answers(planned: Web) -> None:
    browser = planned.browser("ana")
    unknown = browser.get("/api/v1/no-such-route")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "http-error"
    assert browser.get("/api/v1/orders").status_code == 401  # a session cookie is not a bearer token


def test_an_unknown_page_answers_an_html_404(planned: Web) -> None:
    response = planned.browser("ana").get("/no-such-page")
    assert response.status_code == 404
    assert "Not found" in response.text
    assert "Sign out" in response.text


def test_plotly_and_swagger_ui_are_served_from_their_packages_with_a_long_cache(web: Web) -> None:
    browser = web.browser()
    plotly = browser.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200
    assert plotly.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in plotly.headers["cache-control"]
    assert "plotly.js" in plotly.text[:500]
    assert len(plotly.content) > 1_000_000
    swagger = browser.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert swagger.status_code == 200
    assert "SwaggerUIBundle" in swagger.text
    assert browser.get("/static/vendor/swagger-ui/index.html").status_code == 404
    assert browser.get("/static/vendor/swagger-ui/..%2F..%2F__init__.py").status_code == 404
    css = browser.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["cache-control"] == "no-cache"
    assert browser.get("/static/gantt.js").status_code == 200


# The plan cache ------------------------------------------------------------------------------------------------


def test_a_new_plan_shows_at_once(planned: Web) -> None:
    browser = planned.browser("ana")
    assert browser.get("/schedule/data.json").json()["version"] == 1
    planning.plan_network(planned.app.unit_of_work(), planning.PlanOptions(time_limit=2))
    assert browser.get("/schedule/data.json").json()["version"] == 2
    assert "plan v2" in browser.get("/schedule").text


def test_the_plan_cache_keeps_a_view_per_scope_and_reads_it_again_in_the_background(planned: Web) -> None:
    cache = PlanCache(seconds=3600)
    staff = cache.latest(planned.app.unit_of_work)
    assert staff is not None
    assert cache.latest(planned.app.unit_of_work) is staff
    helix = next(item for item in catalogue.list_sponsors(planned.app.unit_of_work()) if item.name == "Helix Vaccines")
    sponsor = cache.latest(lambda: planned.app.unit_of_work(Scope(sponsor_id=helix.id)))
    assert sponsor is not None
    assert sponsor is not staff
    assert {line.sponsor for line in sponsor.lines} == {"Helix Vaccines"}

    stale = PlanCache(seconds=0)
    first = stale.latest(planned.app.unit_of_work)
    assert first is not None
    assert stale.latest(planned.app.unit_of_work) is first  # answered at once while read again
    for thread in threading.enumerate():
        if thread.name.startswith("opencdmo-plan-"):
            thread.join(timeout=30)
    stale.seconds = 3600  # fresh again: no other reading starts
    again = stale.latest(planned.app.unit_of_work)
    assert again is not None
    assert again is not first
    assert [line.lot for line in again.lines] == [line.lot for line in first.lines]


def test_an_unexpected_failure_answers_an_html_500_without_its_text(
    planned: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_uow: object) -> list[object]:
        raise RuntimeError("SELECT secret FROM northwind")

    monkeypatch.setattr(catalogue, "list_sites", broken)
    response = planned.browser("ana").get("/network")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret" not in response.text
    assert "SELECT secret FROM northwind" in caplog.text  # logged for the operators
