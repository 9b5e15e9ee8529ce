"""Master batch records and batch execution through the REST API on each database: drafting and approving by
signature, starting, recording in step order, out-of-specification values opening deviations, corrections,
second-person verification, completion; roles (403), sponsor scope (404) and validation (422)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencdmo import domain
from opencdmo.bootstrap import App
from opencdmo.services import accounts, training
from tests.e2e.api_client import PASSWORD, Api, build_api, error_of
from tests.e2e.quality_setup import release
from tests.integration.test_execution import PROCEDURE, PROCESS

LOT = "NWB101-27-002"
MASTER = f"/api/v1/master-records/{PROCESS}/versions"
STEPS: list[dict[str, Any]] = [
    {
        "title": "Thaw",
        "instructions": "Thaw the working cell bank vial.",
        "parameters": [{"name": "vial id", "kind": "text"}, {"name": "thawed", "kind": "check"}],
    },
    {
        "title": "Inoculate",
        "instructions": "Inoculate the bioreactor and check the pH.",
        "parameters": [{"name": "pH", "unit": "pH", "low": 6.8, "high": 7.2, "critical": True}],
    },
]
EXTRA = {"qa1": domain.Role.QA, "qa2": domain.Role.QA, "op2": domain.Role.OPERATOR}


def _signature(username: str | None = None) -> dict[str, Any]:
    return {"signature": {"password": PASSWORD, **({"username": username} if username else {})}}


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    """The sample network; the API's users and QA users qa1 and qa2, an operator op2; all but ana trained."""
    site = build_api(app, sample_text)
    for username, role in EXTRA.items():
        accounts.add_user(app.unit_of_work(), username, role, password=PASSWORD)
        site.tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    today = datetime.now(UTC).date()
    for username in ("op", "op2", "qa1", "qa2"):
        training.grant(
            app.unit_of_work(),
            username,
            PROCEDURE,
            trained_on=today - timedelta(days=1),
            valid_until=today + timedelta(days=365),
            actor="qa1",
        )
    return site


def _approved(api: Api) -> None:
    created = api.post(
        "/api/v1/master-records",
        {"process": PROCESS, "procedure": PROCEDURE, "title": "mAb fed-batch", "steps": STEPS},
        as_user="qa1",
    )
    assert created.status_code == 201, created.text
    approved = api.post(f"{MASTER}/1/approve", _signature("qa2"), as_user="qa2")
    assert approved.status_code == 200, approved.text


def _record(api: Api, step: int, parameter: str, value: str, as_user: str = "op") -> Any:
    body = {"step": step, "parameter": parameter, "value": value}
    return api.post(f"/api/v1/batch-records/{LOT}/entries", body, as_user=as_user)


def test_a_master_record_is_drafted_and_approved_by_another_person_s_signature(api: Api) -> None:
    created = api.post(
        "/api/v1/master-records",
        {"process": PROCESS, "procedure": PROCEDURE, "title": "mAb fed-batch", "steps": STEPS},
        as_user="qa1",
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/master-records/mAb%20fed-batch%202000%20L/versions/1"
    draft = created.json()
    assert (draft["status"], draft["version"], draft["created_by"], draft["signatures"]) == ("draft", 1, "qa1", [])
    assert draft["steps"][1]["parameters"][0]["spec"] == "6.8 - 7.2 pH"
    assert draft["steps"][1]["parameters"][0]["needs_verification"] is True

    assert error_of(api.post(f"{MASTER}/1/approve", _signature("qa1"), as_user="qa1"))[:2] == (403, "forbidden")
    status, _, detail = error_of(api.post(f"{MASTER}/1/approve", _signature(), as_user="qa2"))
    assert (status, detail) == (401, "enter your user id and password to sign")
    approved = api.post(f"{MASTER}/1/approve", _signature("qa2"), as_user="qa2")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    [signature] = body["signatures"]
    assert (signature["username"], signature["meaning"], signature["intact"]) == ("qa2", "approved", True)
    assert api.get(f"{MASTER}/1", as_user="op").json() == body
    assert [item["record_id"] for item in api.get("/api/v1/master-records", as_user="ana").json()] == [f"{PROCESS}/v1"]


def test_a_draft_changes_by_patch_and_an_approved_version_never(api: Api) -> None:
    _approved(api)
    second = api.post(
        "/api/v1/master-records", {"process": PROCESS, "procedure": PROCEDURE, "title": "v2"}, as_user="ana"
    )
    assert second.status_code == 201, second.text
    assert second.json()["steps"] == api.get(f"{MASTER}/1").json()["steps"]  # copied from the approved version
    changed = api.patch(f"{MASTER}/2", {"title": "mAb fed-batch v2", "steps": STEPS[:1]}, as_user="ana")
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], len(changed.json()["steps"])) == ("mAb fed-batch v2", 1)
    status, error, detail = error_of(api.patch(f"{MASTER}/1", {"title": "x"}, as_user="ana"))
    assert (status, error) == (422, "rule-broken")
    assert "can no longer change" in detail
    assert (
        error_of(api.post("/api/v1/master-records", {"process": PROCESS, "procedure": PROCEDURE, "title": "x"}))[0]
        == 409
    )
    bad = {"process": PROCESS, "procedure": PROCEDURE, "title": "x", "steps": [{**STEPS[0], "colour": "red"}]}
    assert error_of(api.post("/api/v1/master-records", bad))[0] == 422
    limits = [{**STEPS[1], "parameters": [{"name": "pH", "low": 8, "high": 7}]}]
    status, _, detail = error_of(api.patch(f"{MASTER}/2", {"steps": limits}, as_user="ana"))
    assert status == 422
    assert "step 1, parameter 'pH'" in detail


def test_a_batch_is_executed_in_step_order_corrected_verified_and_completed(api: Api) -> None:
    _approved(api)
    started = api.post("/api/v1/batch-records", {"lot": LOT}, as_user="op")
    assert started.status_code == 201, started.text
    assert (started.json()["status"], started.json()["batch_status"], started.json()["next_step"]) == (
        "in-progress",
        "in-progress",
        1,
    )
    status, _, detail = error_of(_record(api, 2, "pH", "7.0"))
    assert status == 422
    assert "step 2 cannot be recorded before step 1 is complete" in detail
    assert _record(api, 1, "vial id", "WCB-0042").status_code == 201
    assert _record(api, 1, "thawed", "yes").status_code == 201

    out = _record(api, 2, "pH", "7.5")
    assert out.status_code == 201, out.text
    body = out.json()
    assert body["deviation"] is not None
    assert body["deviation"].startswith("DEV-")
    assert (body["entry"]["in_spec"], body["entry"]["deviation"]) == (False, body["deviation"])
    first = body["entry"]["id"]

    path = f"/api/v1/batch-records/{LOT}/entries/{first}"
    assert error_of(api.post(f"{path}/correction", {"value": "7.1"}, as_user="op"))[0] == 422  # no reason
    corrected = api.post(f"{path}/correction", {"value": "7.1", "reason": "misread the probe"}, as_user="op")
    assert corrected.status_code == 201, corrected.text
    correction = corrected.json()["entry"]
    assert (correction["corrects"], correction["reason"], correction["in_spec"]) == (first, "misread the probe", True)

    verify = f"/api/v1/batch-records/{LOT}/entries/{correction['id']}/verification"
    status, _, detail = error_of(api.post(verify, _signature("op"), as_user="op"))
    assert (status, "cannot verify it" in detail) == (422, True)
    assert error_of(api.post(verify, _signature("ana"), as_user="ana"))[0] == 403
    verified = api.post(verify, _signature("op2"), as_user="op2")
    assert verified.status_code == 200, verified.text
    assert verified.json()["verification"]["username"] == "op2"

    completed = api.post(f"/api/v1/batch-records/{LOT}/completion", None, as_user="op")
    assert completed.status_code == 200, completed.text
    record = completed.json()
    assert (record["status"], record["batch_status"]) == ("complete", "in-qc")
    [ph] = record["steps"][1]["parameters"]
    assert [(item["value"], item["superseded"]) for item in ph["history"]] == [("7.5", True), ("7.1", False)]
    assert ph["current"]["verification"]["intact"] is True
    assert [line["lot_number"] for line in api.get("/api/v1/batch-records?status=complete", as_user="vic").json()] == [
        LOT
    ]


def test_roles_may_do_only_their_part(api: Api) -> None:
    _approved(api)
    assert error_of(api.post("/api/v1/batch-records", {"lot": LOT}, as_user="ana"))[0] == 403  # a planner
    assert error_of(api.post("/api/v1/batch-records", {"lot": LOT}, as_user="vic"))[0] == 403
    assert error_of(api.post(f"{MASTER}/1/approve", _signature("op"), as_user="op"))[0] == 403
    assert (
        error_of(api.post("/api/v1/master-records", {"process": PROCESS, "procedure": "X1", "title": "x"}, "op"))[0]
        == 403
    )
    assert api.get(f"/api/v1/batch-records/{LOT}", as_user="vic").json()["status"] == "not-started"
    assert api.get(f"/api/v1/batch-records/{LOT}", as_user="vic").json()["approved_master"] == f"{PROCESS}/v1"
    assert error_of(api.get("/api/v1/master-records", as_user="nw"))[0] == 403


def test_a_sponsor_reads_its_own_batch_record_only_once_released(api: Api) -> None:
    _approved(api)
    assert api.post("/api/v1/batch-records", {"lot": LOT}, as_user="op").status_code == 201
    assert error_of(api.get(f"/api/v1/batch-records/{LOT}", as_user="nw"))[:2] == (404, "not-found")
    assert api.get("/api/v1/batch-records", as_user="nw").json() == []
    release(api.app, LOT)
    own = api.get(f"/api/v1/batch-records/{LOT}", as_user="nw")
    assert own.status_code == 200
    assert own.json()["approved_master"] is None
    assert [line["lot_number"] for line in api.get("/api/v1/batch-records", as_user="nw").json()] == [LOT]
    missing = error_of(api.get("/api/v1/batch-records/NO-SUCH-LOT", as_user="hx"))
    other = error_of(api.get(f"/api/v1/batch-records/{LOT}", as_user="hx"))
    assert other[:2] == missing[:2] == (404, "not-found")
    assert api.get("/api/v1/batch-records", as_user="hx").json() == []


def test_bodies_are_validated(api: Api) -> None:
    _approved(api)
    api.post("/api/v1/batch-records", {"lot": LOT}, as_user="op")
    assert error_of(_record(api, 0, "vial id", "x"))[0] == 422
    assert error_of(_record(api, 1, "vial id", "x" * 501))[0] == 422
    extra = api.post(
        f"/api/v1/batch-records/{LOT}/entries", {"step": 1, "parameter": "x", "value": "1", "by": "qa1"}, "op"
    )
    assert error_of(extra)[0] == 422
    assert error_of(api.post("/api/v1/batch-records", {"lot": "NO-SUCH-LOT"}, as_user="op"))[0] == 404
    assert error_of(api.post("/api/v1/batch-records", {"lot": LOT}, as_user="op"))[0] == 409
    assert (
        error_of(
            api.post(
                f"/api/v1/batch-records/{LOT}/entries/999999/correction", {"value": "1", "reason": "r"}, as_user="op"
            )
        )[0]
        == 404
    )


def test_starting_without_an_approved_master_is_refused_with_the_reason(api: Api) -> None:
    status, _, detail = error_of(api.post("/api/v1/batch-records", {"lot": LOT}, as_user="op"))
    assert status == 422
    assert "has no approved master batch record" in detail


def test_the_routes_are_documented(api: Api) -> None:
    document = api.call("GET", "/api/v1/openapi.json").json()
    paths = document["paths"]
    assert "post" in paths["/api/v1/batch-records/{lot}/entries/{entry_id}/verification"]
    assert "patch" in paths["/api/v1/master-records/{process}/versions/{version}"]
    assert "403" in paths["/api/v1/batch-records"]["post"]["responses"]
