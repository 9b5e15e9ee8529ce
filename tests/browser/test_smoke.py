"""Smoke test in a real browser: the sign-in page is there and refuses a wrong password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from opencdmo.domain import Role
from tests.browser.conftest import LiveServer


def test_the_login_page_shows_its_form_and_refuses_a_wrong_password(page: Page, live_server: LiveServer) -> None:
    # A user of its own: a failed sign-in counts towards the lockout of the account it names.
    password = live_server.add_user("smoke-viewer", Role.VIEWER)

    response = page.goto("/login")
    assert response is not None
    assert response.status == 200
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    username_field = form.locator("input[name=username]")
    password_field = form.locator("input[name=password]")
    submit = form.locator("button[type=submit], input[type=submit]").first
    expect(username_field).to_be_visible()
    expect(password_field).to_be_visible()
    expect(password_field).to_have_attribute("type", "password")
    expect(submit).to_be_enabled()
    expect(page.get_by_role("alert")).to_have_count(0)

    username_field.fill("smoke-viewer")
    password_field.fill(password + "-not-it")
    submit.click()

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(re.compile(r"wrong password", re.IGNORECASE))
    assert urlsplit(page.url).path == "/login"
    # The refused password is not sent back into the page.
    expect(page.locator("input[name=password]")).to_have_value("")
    assert password not in page.content()
