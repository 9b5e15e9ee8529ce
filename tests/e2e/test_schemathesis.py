"""Property-based tests of the REST API from its own OpenAPI document (Schemathesis).

Every operation the schema lists (the list grows as routes are added: it is read from the application when the
tests are collected) is called with generated parameters and bodies, as a planner and as a sponsor user, on
the sample network with a plan. Valid requests must get an answer that is no server error (5xx) and conforms
to the schema (a documented status code and content type, a body matching the documented model); invalid
requests must get no server error and a documented status code, or 400 for a body that is not JSON at all.

Bounded and deterministic: a few examples per operation, derandomized, no example database, so a failure
replays the same way. Schemathesis's pytest loader (``from_fixture``) does not run on pytest 9, so each
operation is its own parametrized test with a Hypothesis ``@given`` inside.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from opencdmo.adapters import db, scenario_file
from opencdmo.api import create_app
from opencdmo.api.app import API_PREFIX
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.domain import Role
from opencdmo.services import accounts, scenarios
from opencdmo.services.planning import PlanOptions, plan_network
from tests.conftest import SAMPLE_SCENARIO

USERS = {"planner": (Role.PLANNER, None), "helix": (Role.SPONSOR, "Helix Vaccines")}
EXAMPLES_PER_OPERATION = int(os.environ.get("OPENCDMO_SCHEMATHESIS_EXAMPLES", "10"))
"""Examples per operation, caller and mode: 10 keeps the module under a minute; raise it for a deeper search."""
JOB_SECONDS = 1
"""The longest solve a generated request may start."""
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

VALID_REQUEST_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
MALFORMED_BODY = 400
"""FastAPI's answer to a body that is not JSON at all: no operation documents it (yet), so it is allowed here."""


def _documented_statuses() -> dict[str, frozenset[str]]:
    """'METHOD /path' -> its documented status codes, for every operation of the OpenAPI document (building
    the document connects to no database)."""
    application = bootstrap(Settings(database_url="sqlite://"))
    try:
        document = create_app(application).openapi()
    finally:
        application.close()
    return {
        f"{method.upper()} {path}": frozenset(str(status) for status in operation.get("responses", {}))
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def _documents(statuses: frozenset[str], status: int) -> bool:
    code = str(status)
    return code in statuses or f"{code[0]}XX" in statuses or "default" in statuses


DOCUMENTED = _documented_statuses()
OPERATIONS = list(DOCUMENTED)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The sample network with a plan and the two users, on SQLite; shared by the module's tests."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    application = bootstrap(Settings(database_url=f"sqlite:///{folder / 'opencdmo.sqlite3'}"))
    db.upgrade(application.engine)
    scenario = scenario_file.parse_scenario(SAMPLE_SCENARIO.read_text(encoding="utf-8"))
    scenarios.import_scenario(application.unit_of_work(), scenario)
    plan_network(application.unit_of_work(), PlanOptions(time_limit=2))
    for username, (role, sponsor) in USERS.items():
        accounts.add_user(application.unit_of_work(), username, role, sponsor_name=sponsor)
    yield application
    application.close()


@pytest.fixture(scope="module")
def api_schema(planned: App) -> Iterator[Any]:
    asgi = create_app(planned)
    yield schemathesis.openapi.from_asgi(f"{API_PREFIX}/openapi.json", asgi)
    # Let background solves the tests started finish before their database goes.
    jobs = getattr(asgi.state, "plan_jobs", None)
    if jobs is not None:
        for job in jobs.list():
            jobs.wait(job.id, timeout=JOB_SECONDS * 10)


def _bounded_solves(case: Any) -> None:
    """Keep generated solver time limits short: a valid request may ask for minutes of solving."""
    body = case.body
    if isinstance(body, dict):
        limit = body.get("time_limit")
        if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > JOB_SECONDS:
            body["time_limit"] = JOB_SECONDS


@pytest.fixture(scope="module")
def bearer(planned: App) -> Callable[[str], dict[str, str]]:
    tokens: dict[str, str] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in tokens:
            tokens[username] = accounts.issue_token(planned.unit_of_work(), username)
        return {"Authorization": f"Bearer {tokens[username]}"}

    return headers


def test_the_schema_lists_the_routes_that_exist_today() -> None:
    assert f"GET {API_PREFIX}/orders" in OPERATIONS
    assert f"GET {API_PREFIX}/batches/{{lot_number}}" in OPERATIONS


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("username", list(USERS))
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    api_schema: Any, bearer: Callable[[str], dict[str, str]], label: str, username: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is in the application's schema but Schemathesis cannot find it"
    headers = bearer(username)
    documented = DOCUMENTED[label]

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        _bounded_solves(case)
        if mode is GenerationMode.POSITIVE:
            case.call_and_validate(headers=headers, checks=VALID_REQUEST_CHECKS)
            return
        response = case.call(headers=headers)
        case.validate_response(response, checks=[checks.not_a_server_error], headers=headers)
        assert _documents(documented, response.status_code) or response.status_code == MALFORMED_BODY, (
            f"{label} answered {response.status_code}, which it does not document ({', '.join(sorted(documented))}):"
            f"\n{case.as_curl_command(headers={'Authorization': '[token]'})}\n{response.text[:500]}"
        )

    call()
