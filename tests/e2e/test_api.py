"""The REST API through the ASGI app on each database: authentication, roles, and sponsor isolation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from opencdmo.adapters import scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, planning, scenarios
from tests.e2e.quality_setup import HELIX_DEVIATION, HELIX_LOT, NORTHWIND_DEVIATION, NORTHWIND_LOT, quality_records

PASSWORD = "correct horse battery staple"
OTHER_SPONSOR_MARKS = ("Northwind", "NWB", "PO-2027-001", "PO-2027-002")


@dataclass
class Api:
    """The ASGI app called in process through httpx (Starlette's TestClient is deprecated with httpx)."""

    asgi: FastAPI
    app: App
    tokens: dict[str, str]

    def request(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.get(path, headers=headers or {})

        return asyncio.run(call())

    def get(self, path: str, as_user: str | None = None) -> tuple[int, str, object]:
        headers = {} if as_user is None else {"Authorization": f"Bearer {self.tokens[as_user]}"}
        response = self.request(path, headers)
        return response.status_code, response.text, response.json()


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    users = {
        "ana": (Role.PLANNER, None),
        "op": (Role.OPERATOR, None),
        "hx": (Role.SPONSOR, "Helix Vaccines"),
        "nw": (Role.SPONSOR, "Northwind Biologics"),
    }
    tokens = {}
    for username, (role, sponsor) in users.items():
        accounts.add_user(app.unit_of_work(), username, role, sponsor_name=sponsor, password=PASSWORD)
        tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    return Api(asgi=create_app(app), app=app, tokens=tokens)


# Authentication ------------------------------------------------------------------------------------------------


def test_no_token_answers_401_with_a_bearer_challenge(api: Api) -> None:
    response = api.request("/api/v1/orders")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"error": "unauthorized", "detail": accounts.BEARER_REFUSED}


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic YW5hOnNlY3JldA==", "Bearer", ""])
def test_a_wrong_or_malformed_token_answers_401(api: Api, header: str) -> None:
    response = api.request("/api/v1/orders", {"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_revoked_token_answers_401_at_once(api: Api) -> None:
    assert api.get("/api/v1/orders", "ana")[0] == 200
    accounts.revoke_token(api.app.unit_of_work(), api.tokens["ana"])
    assert api.get("/api/v1/orders", "ana")[0] == 401


def test_an_expired_token_answers_401(api: Api) -> None:
    def two_days_ago() -> datetime:
        return datetime.now(UTC) - timedelta(days=2)

    api.tokens["old"] = accounts.issue_token(api.app.unit_of_work(), "ana", expires_days=1, now=two_days_ago)
    status, _, body = api.get("/api/v1/orders", "old")
    assert status == 401
    assert body == {"error": "unauthorized", "detail": accounts.BEARER_REFUSED}


def test_a_deactivated_users_token_answers_401(api: Api) -> None:
    accounts.deactivate(api.app.unit_of_work(), "ana")
    assert api.get("/api/v1/orders", "ana")[0] == 401


# Roles ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "path"), [("op", "/api/v1/sponsors"), ("hx", "/api/v1/sites")])
def test_a_role_lacking_the_action_answers_403(api: Api, username: str, path: str) -> None:
    status, _, body = api.get(path, username)
    assert status == 403
    assert isinstance(body, dict)
    assert body["error"] == "forbidden"


def test_staff_see_the_whole_network_and_every_sponsor(api: Api) -> None:
    status, _, sites = api.get("/api/v1/sites", "ana")
    assert status == 200
    assert isinstance(sites, list)
    assert [site["name"] for site in sites] == ["Site B Leiden", "Site D Rockville"]
    assert sites[0]["suites"][0]["name"] == "B-USP-1"
    _, _, sponsors = api.get("/api/v1/sponsors", "ana")
    assert sponsors == [{"name": "Northwind Biologics", "size": "large"}, {"name": "Helix Vaccines", "size": "small"}]
    _, _, order = api.get("/api/v1/orders/PO-2027-001", "ana")
    assert isinstance(order, dict)
    assert order["sponsor"] == "Northwind Biologics"
    assert [batch["lot_number"] for batch in order["batches"]] == ["NWB101-27-001", "NWB101-27-002", "NWB101-27-003"]
    _, _, batch = api.get("/api/v1/batches/NWB220-27-002", "ana")
    assert batch == {
        "lot_number": "NWB220-27-002",
        "order": "PO-2027-002",
        "sponsor": "Northwind Biologics",
        "status": "in-qc",
        "cancel_reason": None,
    }


def test_errors_from_the_framework_have_the_same_shape(api: Api) -> None:
    status, _, body = api.get("/api/v1/no-such-thing", "ana")
    assert status == 404
    assert body == {"error": "http-error", "detail": "Not Found"}


# Sponsor isolation ---------------------------------------------------------------------------------------------

# Every GET route, with a key Helix may use and one of Northwind's (None for routes without a key, and for routes
# a sponsor may not use at all: the key is then one of the network's).
WALK: dict[str, tuple[str | None, str | None]] = {
    "/api/v1/sites": (None, None),
    "/api/v1/sites/{name}": ("Site B Leiden", None),
    "/api/v1/suites": (None, None),
    "/api/v1/suites/{name}": ("B-USP-1", None),
    "/api/v1/processes": (None, None),
    "/api/v1/processes/{name}": ("Vial fill 10 mL", None),
    "/api/v1/sponsors": (None, None),
    "/api/v1/sponsors/{name}": ("Helix Vaccines", "Northwind Biologics"),
    "/api/v1/programs": (None, None),
    "/api/v1/programs/{name}": ("HXV-7", "NWB-101"),
    "/api/v1/orders": (None, None),
    "/api/v1/orders/{number}": ("PO-2027-003", "PO-2027-001"),
    "/api/v1/batches": (None, None),
    "/api/v1/batches/{lot_number}": ("HXV7-27-002", "NWB220-27-002"),
    "/api/v1/schedules": (None, None),
    "/api/v1/schedules/latest": (None, None),
    "/api/v1/schedules/compare": (None, None),
    "/api/v1/schedules/{number}": ("1", None),
    "/api/v1/schedules/{number}/operations": ("2", None),
    "/api/v1/schedules/jobs": (None, None),
    "/api/v1/schedules/jobs/{job_id}": ("no-such-job", None),
    "/api/v1/kpis": (None, None),
    "/api/v1/account": (None, None),
    "/api/v1/deviations": (None, None),
    "/api/v1/deviations/{number}": (HELIX_DEVIATION, NORTHWIND_DEVIATION),
    "/api/v1/instruments": (None, None),
    "/api/v1/qc/specifications/{process}": ("Vial fill 10 mL", None),
    "/api/v1/qc/worklist": (None, None),
    "/api/v1/qc/batches/{lot}/results": (HELIX_LOT, NORTHWIND_LOT),
    "/api/v1/master-records": (None, None),
    "/api/v1/master-records/{process}/versions/{version}": ("mAb fed-batch 2000 L", None),  # staff only: 403
    "/api/v1/batch-records": (None, None),
    "/api/v1/batch-records/{lot}": (HELIX_LOT, NORTHWIND_LOT),
    "/api/v1/batches/{lot_number}/disposition": (HELIX_LOT, None),  # QA and QP only: 403
    "/api/v1/batches/{lot_number}/record": (HELIX_LOT, NORTHWIND_LOT),
    "/api/v1/audit": (None, None),  # QA, QP and admin only: 403
    "/api/v1/audit/verification": (None, None),
    "/api/v1/training": (None, None),  # staff only: 403
    "/api/v1/training/{username}": ("op", None),  # staff only: 403
}
# Routes whose walk needs quality records: a released batch of each sponsor, with a deviation.
QUALITY_ROUTES = ("/api/v1/deviations", "/api/v1/qc/", "/api/v1/batch-records", "/api/v1/batches/{lot_number}/record")
QUERIES = {"/api/v1/schedules/compare": "?a=1&b=2"}


def test_the_walk_covers_every_get_route(api: Api) -> None:
    document = api.request("/api/v1/openapi.json").json()
    assert {path for path, operations in document["paths"].items() if "get" in operations} == set(WALK)


def _fill(template: str, key: str | None) -> str:
    query = QUERIES.get(template, "")
    if key is None:
        return template + query
    start, end = template.index("{"), template.index("}")
    return template[:start] + key + template[end + 1 :] + query


def _plan_twice(api: Api) -> None:
    """Versions 1 and 2, for the schedule routes."""
    options = planning.PlanOptions(time_limit=2, workers=1, strategy="cpsat")
    for _ in range(2):
        planning.plan_network(api.app.unit_of_work(), options)


@pytest.mark.parametrize("template", list(WALK))
def test_a_sponsor_user_sees_nothing_of_another_sponsor(api: Api, template: str) -> None:
    own, _ = WALK[template]
    if template.startswith(("/api/v1/schedules", "/api/v1/kpis")):
        _plan_twice(api)
    if template.startswith(QUALITY_ROUTES):
        quality_records(api.app)
    status, text, _ = api.get(_fill(template, own), "hx")
    assert status in (200, 403)
    for mark in OTHER_SPONSOR_MARKS:
        assert mark not in text


@pytest.mark.parametrize("template", [template for template, (_, others) in WALK.items() if others is not None])
def test_another_sponsors_record_answers_404_exactly_like_a_missing_one(api: Api, template: str) -> None:
    _, others = WALK[template]
    assert others is not None
    if template.startswith(QUALITY_ROUTES):
        quality_records(api.app)
    missing = "XX-0000-000"
    other_status, other_text, other_body = api.get(_fill(template, others), "hx")
    missing_status, missing_text, _ = api.get(_fill(template, missing), "hx")
    assert other_status == missing_status == 404
    assert other_text.replace(others, missing) == missing_text
    assert isinstance(other_body, dict)
    assert other_body["error"] == "not-found"
    assert "Northwind" not in other_text.replace(others, missing)  # nothing but the name asked for
    # ...while the record does exist: the owner sees it.
    assert api.get(_fill(template, others), "nw")[0] == 200


def test_a_sponsor_user_sees_its_own_work(api: Api) -> None:
    _, _, sponsors = api.get("/api/v1/sponsors", "hx")
    assert sponsors == [{"name": "Helix Vaccines", "size": "small"}]
    _, _, programs = api.get("/api/v1/programs", "hx")
    assert isinstance(programs, list)
    assert [program["name"] for program in programs] == ["HXV-7"]
    _, _, orders = api.get("/api/v1/orders", "hx")
    assert isinstance(orders, list)
    assert [order["number"] for order in orders] == ["PO-2027-003"]


def test_the_openapi_document_documents_the_error_answers(api: Api) -> None:
    document = api.request("/api/v1/openapi.json").json()
    assert "401" in document["paths"]["/api/v1/orders"]["get"]["responses"]


def test_every_route_refuses_a_caller_without_a_token(api: Api) -> None:
    for template, (own, _) in WALK.items():
        response = api.request(_fill(template, own))
        assert response.status_code == 401, template
        assert response.json()["error"] == "unauthorized"


def test_an_unexpected_failure_answers_500_in_the_error_shape_without_its_text(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencdmo.services import catalogue

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM northwind")

    monkeypatch.setattr(catalogue, "list_sites", broken)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.asgi, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/api/v1/sites", headers={"Authorization": f"Bearer {api.tokens['ana']}"})

    response = asyncio.run(call())
    assert response.status_code == 500
    assert response.json()["error"] == "internal-error"
    assert "secret" not in response.text
