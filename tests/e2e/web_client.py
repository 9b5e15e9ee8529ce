"""The web pages' test client: a browser's cookie jar over the ASGI app (httpx, in process), the sample network
with a user per role, and helpers to read forms and messages out of a page."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from opencdmo.adapters import scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, scenarios

PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')
ALERT = re.compile(r'<p class="alert" role="alert">([^<]*)</p>')
FLASH = re.compile(r'<p class="flash" id="flash" role="status">([^<]*)</p>')

USERS = {
    "ana": (Role.PLANNER, None),
    "op": (Role.OPERATOR, None),
    "vic": (Role.VIEWER, None),
    "hx": (Role.SPONSOR, "Helix Vaccines"),
    "nw": (Role.SPONSOR, "Northwind Biologics"),
}


@dataclass
class Browser:
    """A browser's cookie jar over the ASGI app, called in process through httpx."""

    asgi: FastAPI
    base_url: str = "http://testserver"
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.request_with(method, path, data=data)

    def request_with(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A request with a form (``data``) or a JSON body, and extra headers (an API token)."""

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.asgi)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url, cookies=self.cookies) as client:
                response = await client.request(method, path, data=data, json=json, headers=headers)
                self.cookies = httpx.Cookies(client.cookies)
                return response

        return asyncio.run(call())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.request("POST", path, data)

    def csrf(self, path: str = "/") -> str:
        """The CSRF token of a form on ``path``."""
        found = CSRF_INPUT.search(self.get(path).text)
        assert found is not None, f"no CSRF field on {path}"
        return found.group(1)

    def submit(self, path: str, data: dict[str, str], page: str = "/") -> httpx.Response:
        """Post ``data`` to ``path`` with the CSRF token of a form on ``page``."""
        return self.post(path, {"csrf_token": self.csrf(page), **data})

    def sign_in(self, username: str, password: str = PASSWORD, next_path: str = "/") -> httpx.Response:
        token = self.csrf(f"/login?{urlencode({'next': next_path})}")
        return self.post("/login", {"username": username, "password": password, "csrf_token": token, "next": next_path})


@dataclass
class Web:
    asgi: FastAPI
    app: App

    def browser(self, username: str | None = None, base_url: str = "http://testserver") -> Browser:
        """A new browser; signed in as ``username`` (one of :data:`USERS`) when given."""
        browser = Browser(self.asgi, base_url)
        if username is not None:
            response = browser.sign_in(username)
            assert response.status_code == 303, response.text
        return browser


def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 still, with the lowest cost: the web tests hash and verify hundreds of passwords."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def build_web(app: App, scenario_text: str) -> Web:
    """The application over ``scenario_text`` with the users of :data:`USERS`."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(scenario_text))
    for username, (role, sponsor) in USERS.items():
        accounts.add_user(app.unit_of_work(), username, role, sponsor_name=sponsor, password=PASSWORD)
    return Web(asgi=create_app(app), app=app)


def alert(response: httpx.Response) -> str:
    """The text of the page's alert (the message above a refused form)."""
    found = ALERT.search(response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def flash_of(response: httpx.Response) -> str | None:
    """The flash message a page says, if any."""
    found = FLASH.search(response.text)
    return html.unescape(found.group(1)) if found else None


def field_error(response: httpx.Response, form_prefix: str, name: str) -> str | None:
    """The message beside field ``name`` of the form whose ids start with ``form_prefix``."""
    found = re.search(
        rf'<span class="field-error" id="{re.escape(form_prefix)}-{re.escape(name)}-error">([^<]*)</span>',
        response.text,
    )
    return html.unescape(found.group(1)) if found else None


def field_value(response: httpx.Response, form_prefix: str, name: str) -> str | None:
    """The value shown in input ``name`` of the form whose ids start with ``form_prefix``."""
    found = re.search(
        rf'<input id="{re.escape(form_prefix)}-{re.escape(name)}" name="{re.escape(name)}" [^>]*value="([^"]*)"',
        response.text,
    )
    return html.unescape(found.group(1)) if found else None
