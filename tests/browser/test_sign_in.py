"""Signing in and out in a real browser, and the lockout after five wrong passwords."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

from opencdmo.domain import Role
from opencdmo.services import accounts, planning
from opencdmo.web.auth import SIGN_IN_REFUSED
from opencdmo.web.sessions import SESSION_COOKIE
from tests.browser.conftest import LiveServer, sign_in


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def submit_login(page: Page, username: str, password: str) -> int:
    """Send the sign-in form; the status of the answer, once the page it answered has loaded."""
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return answer.value.status


def test_signing_in_lands_on_the_dashboard_and_signing_out_ends_the_session(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    page.goto("/")
    assert path_of(page) == "/login"  # no session: the dashboard sends the browser to sign in first

    sign_in(page, "planner", live_server.passwords["planner"])

    assert path_of(page) == "/"
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator("header .user")).to_have_text("planner")
    newest = planning.list_versions(live_server.app.unit_of_work())[-1]
    on_time = page.locator(".tile").filter(has_text="on time")
    expect(on_time.locator(".figure")).to_have_text(f"{newest.kpis.on_time_rate * 100:.1f} %")
    expect(on_time).to_contain_text(f"of {newest.kpis.batches:,} batches")
    expect(page.locator(".tile").filter(has_text="total lateness")).to_be_visible()
    session = next(cookie.get("value", "") for cookie in page.context.cookies() if cookie.get("name") == SESSION_COOKIE)

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert all(cookie.get("name") != SESSION_COOKIE for cookie in page.context.cookies())
    page.goto("/orders")
    assert path_of(page) == "/login"

    # The old session cookie, planted again in another browser, is refused: signing out revoked it.
    other = browser.new_context(base_url=live_server.url)
    try:
        other.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": live_server.url}])
        stolen = other.new_page()
        stolen.goto("/")
        assert path_of(stolen) == "/login"
        expect(stolen.get_by_role("heading", name="Sign in")).to_be_visible()
        answer = other.request.get("/schedule/data.json")
        assert answer.status == 401
    finally:
        other.close()


def test_five_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused_alike(
    page: Page, live_server: LiveServer
) -> None:
    username = "browser-lockout"
    password = live_server.add_user(username, Role.VIEWER)
    page.goto("/login")
    alert = page.get_by_role("alert")

    for attempt in range(1, 6):
        assert submit_login(page, username, f"{password}-wrong-{attempt}") == 401
        expect(alert).to_have_text(SIGN_IN_REFUSED)
        assert path_of(page) == "/login"

    assert submit_login(page, username, password) == 401  # the right password, but the account is now locked

    expect(alert).to_have_text(SIGN_IN_REFUSED)  # the same words: nothing tells a lock from a wrong password
    expect(alert).to_contain_text("locked")
    assert path_of(page) == "/login"
    expect(page.locator("input[name=username]")).to_have_value(username)
    expect(page.locator("input[name=password]")).to_have_value("")
    assert all(cookie.get("name") != SESSION_COOKIE for cookie in page.context.cookies())
    page.goto("/")
    assert path_of(page) == "/login"

    # The password was right all along: once an administrator lifts the lock, it signs in.
    accounts.reset_password(live_server.app.unit_of_work(), username, password=password)
    sign_in(page, username, password)
    assert path_of(page) == "/"
    expect(page.locator("header .user")).to_have_text(username)
