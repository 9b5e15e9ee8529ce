"""The REST API called in process through httpx, as one of several users of each role (for the write and
schedule tests)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from opencdmo.adapters import scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, scenarios

PASSWORD = "correct horse battery staple"
USERS: dict[str, tuple[Role, str | None]] = {
    "ana": (Role.PLANNER, None),
    "op": (Role.OPERATOR, None),
    "vic": (Role.VIEWER, None),
    "hx": (Role.SPONSOR, "Helix Vaccines"),
    "nw": (Role.SPONSOR, "Northwind Biologics"),
}
# What a Helix Vaccines user must never see of Northwind Biologics.
NORTHWIND_MARKS = ("Northwind", "NWB", "PO-2027-001", "PO-2027-002")


@dataclass
class Api:
    asgi: FastAPI
    app: App
    tokens: dict[str, str]

    def call(self, method: str, path: str, as_user: str | None = None, json: Any = None) -> httpx.Response:
        headers = {} if as_user is None else {"Authorization": f"Bearer {self.tokens[as_user]}"}

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.request(method, path, headers=headers, json=json)

        return asyncio.run(send())

    def get(self, path: str, as_user: str = "ana") -> httpx.Response:
        return self.call("GET", path, as_user)

    def post(self, path: str, json: Any, as_user: str = "ana") -> httpx.Response:
        return self.call("POST", path, as_user, json)

    def patch(self, path: str, json: Any, as_user: str = "ana") -> httpx.Response:
        return self.call("PATCH", path, as_user, json)

    def delete(self, path: str, as_user: str = "ana") -> httpx.Response:
        return self.call("DELETE", path, as_user)


def build_api(app: App, scenario_text: str | None, users: tuple[str, ...] = tuple(USERS)) -> Api:
    """The API over ``app`` holding the scenario (if any) and the named users of :data:`USERS`."""
    if scenario_text is not None:
        scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(scenario_text))
    tokens = {}
    for username in users:
        role, sponsor = USERS[username]
        accounts.add_user(app.unit_of_work(), username, role, sponsor_name=sponsor, password=PASSWORD)
        tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    return Api(asgi=create_app(app), app=app, tokens=tokens)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, error name, detail) of an error answer."""
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    return response.status_code, body["error"], body["detail"]
