"""The quality routes of the REST API on each database: deviations with CAPA, instruments, specifications, QC
results; roles, sponsor isolation, signatures and the error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencdmo.adapters import scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, scenarios, training
from tests.e2e.api_client import PASSWORD, Api, error_of
from tests.e2e.quality_setup import NORTHWIND_LOT

IN_QC = "NWB220-27-002"  # Vial fill 10 mL
FILL = "Vial fill 10 mL"
USERS: dict[str, tuple[Role, str | None]] = {
    "qc1": (Role.QC_ANALYST, None),
    "qc2": (Role.QC_ANALYST, None),
    "qa": (Role.QA, None),
    "qp": (Role.QUALIFIED_PERSON, None),
    "op": (Role.OPERATOR, None),
    "ana": (Role.PLANNER, None),
    "vic": (Role.VIEWER, None),
    "hx": (Role.SPONSOR, "Helix Vaccines"),
    "nw": (Role.SPONSOR, "Northwind Biologics"),
}
TODAY = datetime.now(UTC).date()
SIGN_QC2 = {"signature": {"username": "qc2", "password": PASSWORD}}
SPEC = {
    "tests": [
        {"name": "Assay", "method": "QCM-HPLC-ASSAY", "unit": "%", "low": 95, "high": 105},
        {"name": "Endotoxin", "method": "QCM-LAL", "unit": "EU/mL", "high": 0.5},
    ]
}


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    tokens = {}
    for username, (role, sponsor) in USERS.items():
        accounts.add_user(app.unit_of_work(), username, role, sponsor_name=sponsor, password=PASSWORD)
        tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    for username in ("qc1", "qc2"):
        for method in ("QCM-HPLC-ASSAY", "QCM-LAL"):
            training.grant(
                app.unit_of_work(),
                username,
                method,
                trained_on=TODAY - timedelta(days=30),
                valid_until=TODAY + timedelta(days=300),
                actor="qa",
            )
    return Api(asgi=create_app(app), app=app, tokens=tokens)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _lab(api: Api) -> None:
    """Two instruments (one with an expired calibration) and the fill's release specification."""
    for code, start, end in (
        ("HPLC-01", TODAY - timedelta(days=100), TODAY + timedelta(days=200)),
        ("LAL-01", TODAY - timedelta(days=400), TODAY - timedelta(days=1)),
    ):
        body = {"code": code, "name": code, "kind": "lab", "calibrated_on": str(start), "calibration_due": str(end)}
        _ok(api.post("/api/v1/instruments", body, as_user="qc1"), 201)
    _ok(api.call("PUT", f"/api/v1/qc/specifications/{FILL}", "qa", SPEC))


# Instruments and specifications ----------------------------------------------------------------------------------


def test_instruments_are_registered_and_calibrated_by_those_who_manage_them(api: Api) -> None:
    body = {
        "code": "PH-01",
        "name": "pH meter",
        "kind": "pH",
        "calibrated_on": str(TODAY),
        "calibration_due": "2099-01-01",
    }
    assert error_of(api.post("/api/v1/instruments", body, as_user="ana"))[0] == 403
    assert error_of(api.post("/api/v1/instruments", body, as_user="op"))[0] == 403
    created = api.post("/api/v1/instruments", body, as_user="qc1")
    assert _ok(created, 201)["calibration_status"] == "valid"
    assert created.headers["location"] == "/api/v1/instruments/PH-01"
    assert error_of(api.post("/api/v1/instruments", body, as_user="qa"))[:2] == (409, "conflict")
    soon = {"calibrated_on": str(TODAY - timedelta(days=300)), "calibration_due": str(TODAY + timedelta(days=5))}
    assert _ok(api.post("/api/v1/instruments/PH-01/calibration", soon, as_user="qa"))["calibration_status"] == (
        "due within 30 days"
    )
    backwards = {"calibrated_on": str(TODAY), "calibration_due": str(TODAY - timedelta(days=1))}
    status, name, detail = error_of(api.post("/api/v1/instruments/PH-01/calibration", backwards, as_user="qa"))
    assert (status, name) == (422, "rule-broken")
    assert "calibration_due" in detail
    assert error_of(api.post("/api/v1/instruments/NOPE-1/calibration", soon, as_user="qa"))[0] == 404
    assert [item["code"] for item in _ok(api.get("/api/v1/instruments", "vic"))] == ["PH-01"]
    assert error_of(api.get("/api/v1/instruments", "nw"))[0] == 403
    assert error_of(api.post("/api/v1/instruments", {**body, "extra": 1}, as_user="qc1"))[0] == 422
    assert error_of(api.post("/api/v1/instruments", {**body, "code": "ph 1"}, as_user="qc1"))[0] == 422


def test_the_release_specification_is_set_by_qa_and_read_by_staff(api: Api) -> None:
    assert error_of(api.call("PUT", f"/api/v1/qc/specifications/{FILL}", "qc1", SPEC))[0] == 403
    assert error_of(api.get(f"/api/v1/qc/specifications/{FILL}", "qa"))[0] == 404
    spec = _ok(api.call("PUT", f"/api/v1/qc/specifications/{FILL}", "qa", SPEC))
    assert [(test["name"], test["spec"]) for test in spec["tests"]] == [
        ("Assay", "95 - 105 %"),
        ("Endotoxin", "<= 0.5 EU/mL"),
    ]
    assert _ok(api.get(f"/api/v1/qc/specifications/{FILL}", "qc1")) == spec
    assert error_of(api.get(f"/api/v1/qc/specifications/{FILL}", "nw"))[0] == 403
    no_limit = {"tests": [{"name": "Appearance", "method": "QCM-VISUAL"}]}
    status, _, detail = error_of(api.call("PUT", f"/api/v1/qc/specifications/{FILL}", "qa", no_limit))
    assert (status, "at least one limit" in detail) == (422, True)
    assert error_of(api.call("PUT", f"/api/v1/qc/specifications/{FILL}", "qa", {"tests": []}))[0] == 422
    assert error_of(api.call("PUT", "/api/v1/qc/specifications/Nope", "qa", SPEC))[0] == 404


# Results ---------------------------------------------------------------------------------------------------------


def test_a_result_is_refused_on_an_expired_instrument_and_recorded_on_a_valid_one(api: Api) -> None:
    _lab(api)
    path = f"/api/v1/qc/batches/{IN_QC}/results"
    status, name, detail = error_of(api.post(path, {"test": "Endotoxin", "value": 0.1, "instrument": "LAL-01"}, "qc1"))
    assert (status, name) == (422, "rule-broken")
    assert f"instrument LAL-01's calibration expired on {TODAY - timedelta(days=1)}" in detail
    assert error_of(api.post(path, {"test": "Assay", "value": "99", "instrument": "HPLC-01"}, "qa"))[0] == 403
    assert error_of(api.post(path, {"test": "Assay", "value": "99", "instrument": "HPLC-01"}, "op"))[0] == 403
    created = api.post(path, {"test": "Assay", "value": 99.4, "instrument": "HPLC-01"}, "qc1")
    result = _ok(created, 201)
    assert created.headers["location"] == path
    assert (result["value"], result["passed"], result["analyst"], result["deviation"]) == (99.4, True, "qc1", None)
    again = error_of(api.post(path, {"test": "Assay", "value": "99.5", "instrument": "HPLC-01"}, "qc1"))
    assert again[:2] == (409, "conflict")
    assert "void it" in again[2]
    shown = _ok(api.get(path, "vic"))
    assert [item["id"] for item in shown["results"]] == [result["id"]]
    assert shown["release_checks"] == ["the QC result of Assay is not verified", "QC test Endotoxin has no result"]


def test_a_failing_result_opens_a_deviation_named_in_the_answer(api: Api) -> None:
    _lab(api)
    path = f"/api/v1/qc/batches/{IN_QC}/results"
    result = _ok(api.post(path, {"test": "Assay", "value": "91.0", "instrument": "HPLC-01"}, "qc1"), 201)
    assert result["passed"] is False
    number = result["deviation"]
    assert number is not None
    deviation = _ok(api.get(f"/api/v1/deviations/{number}", "qa"))
    assert (deviation["severity"], deviation["title"], deviation["source"], deviation["lot"]) == (
        "major",
        "Assay out of specification",
        "QC Assay",
        IN_QC,
    )
    assert _ok(api.get(path, "qa"))["results"][0]["deviation"] == number


def test_a_second_analyst_verifies_by_signature_and_results_are_voided_with_a_reason(api: Api) -> None:
    _lab(api)
    path = f"/api/v1/qc/batches/{IN_QC}/results"
    result = _ok(api.post(path, {"test": "Assay", "value": "99.4", "instrument": "HPLC-01"}, "qc1"), 201)
    verify = f"/api/v1/qc/results/{result['id']}/verification"
    same = error_of(api.post(verify, {"signature": {"username": "qc1", "password": PASSWORD}}, "qc1"))
    assert same[0] == 422
    assert "second analyst" in same[2]
    first_without_id = error_of(api.post(verify, {"signature": {"password": PASSWORD}}, "qc2"))
    assert first_without_id == (401, "unauthorized", "enter your user id and password to sign")
    assert error_of(api.post(verify, {"signature": {"username": "qc2", "password": "nope"}}, "qc2"))[0] == 401
    assert error_of(api.post(verify, {"signature": {"username": "qc1", "password": PASSWORD}}, "qc2"))[0] == 403
    assert error_of(api.post(verify, SIGN_QC2, "qa"))[0] == 403  # QA does not record nor verify results
    verified = _ok(api.post(verify, SIGN_QC2, "qc2"))
    assert verified["verified_by"] == "qc2"
    [signature] = verified["signatures"]
    assert (signature["meaning"], signature["intact"], signature["username"]) == ("verified", True, "qc2")
    assert signature["manifestation"].startswith("Signed by qc2 (qc2) on ")

    void = f"/api/v1/qc/results/{result['id']}/void"
    assert error_of(api.post(void, {"reason": "wrong"}, "op"))[0] == 403
    assert error_of(api.post(void, {"reason": ""}, "qa"))[0] == 422
    voided = _ok(api.post(void, {"reason": "sample mix-up"}, "qa"))
    assert (voided["voided_reason"], voided["voided_by"]) == ("sample mix-up", "qa")
    assert error_of(api.post(void, {"reason": "again"}, "qa"))[0] == 422
    assert error_of(api.post("/api/v1/qc/results/999999/void", {"reason": "x"}, "qa"))[0] == 404


def test_the_worklist_shows_what_is_left_and_is_for_staff(api: Api) -> None:
    _lab(api)
    _ok(
        api.post(
            f"/api/v1/qc/batches/{IN_QC}/results", {"test": "Assay", "value": "99", "instrument": "HPLC-01"}, "qc1"
        ),
        201,
    )
    [row] = _ok(api.get("/api/v1/qc/worklist", "qc2"))
    assert (row["lot"], row["to_record"], row["to_verify"], row["has_specification"]) == (
        IN_QC,
        ["Endotoxin"],
        ["Assay"],
        True,
    )
    assert error_of(api.get("/api/v1/qc/worklist", "nw"))[0] == 403
    assert error_of(api.get("/api/v1/qc/worklist", "ana"))[0] == 403  # no VIEW_BATCH_RECORDS


def test_a_sponsor_reads_results_of_its_own_released_batches_only(api: Api) -> None:
    _lab(api)
    assert error_of(api.get(f"/api/v1/qc/batches/{IN_QC}/results", "nw"))[0] == 404  # its own, not released
    own = _ok(api.get(f"/api/v1/qc/batches/{NORTHWIND_LOT}/results", "nw"))
    assert (own["lot"], own["status"]) == (NORTHWIND_LOT, "released")
    other, missing = (
        api.get(f"/api/v1/qc/batches/{NORTHWIND_LOT}/results", "hx"),
        api.get("/api/v1/qc/batches/NOPE-1/results", "hx"),
    )
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(NORTHWIND_LOT, "NOPE-1") == missing.text
    body = {"test": "Assay", "value": "99", "instrument": "HPLC-01"}
    assert error_of(api.post(f"/api/v1/qc/batches/{IN_QC}/results", body, "nw"))[0] == 403


# Deviations ------------------------------------------------------------------------------------------------------


def _open(api: Api, lot: str | None = IN_QC, severity: str = "major", as_user: str = "op") -> str:
    body = {"lot": lot, "severity": severity, "title": "Filter test failed", "description": "Line one.\nLine two."}
    created = api.post("/api/v1/deviations", body, as_user)
    deviation = _ok(created, 201)
    assert created.headers["location"] == f"/api/v1/deviations/{deviation['number']}"
    assert deviation["description"] == "Line one.\nLine two."
    number: str = deviation["number"]
    return number


def test_a_deviation_is_investigated_its_capa_done_and_closed_by_qas_signature(api: Api) -> None:
    number = _open(api)
    base = f"/api/v1/deviations/{number}"
    assert _ok(api.get(base, "qa"))["blockers"] == [
        "the investigation is not recorded",
        "the root cause is not recorded",
        "a major deviation needs at least one CAPA action",
    ]
    investigation = {"investigation": "Wrong wetting fluid.", "root_cause": "Unclear instruction"}
    assert error_of(api.post(f"{base}/investigation", investigation, "op"))[0] == 403
    _ok(api.post(f"{base}/investigation", investigation, "qa"))
    capa = {"description": "Rewrite WI-17", "owner": "op", "due_date": str(TODAY + timedelta(days=30))}
    assert error_of(api.post(f"{base}/capa", {**capa, "owner": "hx"}, "qa"))[0] == 422
    shown = _ok(api.post(f"{base}/capa", capa, "qa"), 201)
    assert [(item["index"], item["owner"], item["status"]) for item in shown["capa"]] == [(1, "op", "open")]
    assert error_of(api.post(f"{base}/capa/1/completion", None, "qc1"))[0] == 403
    assert error_of(api.post(f"{base}/capa/1/completion", None, "nw"))[0] == 403
    assert error_of(api.post(f"{base}/capa/2/completion", None, "op"))[0] == 422
    assert _ok(api.post(f"{base}/capa/1/completion", None, "op"))["capa"][0]["status"] == "done"
    assert error_of(api.post(f"{base}/capa/1/effectiveness", {"finding": "ok"}, "op"))[0] == 403
    _ok(api.post(f"{base}/capa/1/effectiveness", {"finding": "No recurrence."}, "qa"))

    sign = {"signature": {"username": "qa", "password": PASSWORD}, "comment": "closed after review"}
    assert error_of(api.post(f"{base}/closure", sign, "op"))[0] == 403
    wrong = {"signature": {"username": "qa", "password": "wrong"}}
    assert error_of(api.post(f"{base}/closure", wrong, "qa"))[0] == 401
    assert _ok(api.get(base, "qa"))["status"] == "open"
    closed = _ok(api.post(f"{base}/closure", sign, "qa"))
    assert (closed["status"], closed["blockers"]) == ("closed", [])
    [signature] = closed["signatures"]
    assert (signature["meaning"], signature["intact"], signature["comment"]) == (
        "approved",
        True,
        "closed after review",
    )
    assert error_of(api.post(f"{base}/investigation", investigation, "qa"))[0] == 422
    assert [item["number"] for item in _ok(api.get("/api/v1/deviations?status=closed", "qp"))] == [number]
    assert _ok(api.get("/api/v1/deviations?status=open", "qp")) == []


def test_closing_too_early_is_refused_with_every_reason(api: Api) -> None:
    number = _open(api, severity="critical")
    sign = {"signature": {"username": "qa", "password": PASSWORD}}
    status, name, detail = error_of(api.post(f"/api/v1/deviations/{number}/closure", sign, "qa"))
    assert (status, name) == (422, "rule-broken")
    for reason in ("the investigation is not recorded", "a critical deviation needs at least one CAPA action"):
        assert reason in detail


def test_who_may_open_a_deviation_and_what_a_body_may_hold(api: Api) -> None:
    for username in ("op", "qc1", "qa", "qp"):
        _open(api, as_user=username)
    body = {"severity": "minor", "title": "t", "description": "d"}
    assert error_of(api.post("/api/v1/deviations", body, "ana"))[0] == 403
    assert error_of(api.post("/api/v1/deviations", body, "vic"))[0] == 403
    assert error_of(api.post("/api/v1/deviations", body, "nw"))[0] == 403
    assert error_of(api.post("/api/v1/deviations", {**body, "severity": "huge"}, "op"))[0] == 422
    assert error_of(api.post("/api/v1/deviations", {**body, "description": "a\x00b"}, "op"))[0] == 422
    assert error_of(api.post("/api/v1/deviations", {**body, "title": "x" * 201}, "op"))[0] == 422
    assert error_of(api.post("/api/v1/deviations", {**body, "lot": "NOPE-1"}, "op"))[0] == 422
    assert error_of(api.post("/api/v1/deviations", {**body, "number": "DEV-1"}, "op"))[0] == 422
    site = _ok(api.post("/api/v1/deviations", body, "op"), 201)
    assert site["lot"] is None


def test_a_sponsor_reads_only_the_deviations_of_its_own_released_batches(api: Api) -> None:
    unreleased = _open(api, lot=IN_QC)
    released = _open(api, lot=NORTHWIND_LOT)
    _open(api, lot=None)
    assert [item["number"] for item in _ok(api.get("/api/v1/deviations", "nw"))] == [released]
    assert _ok(api.get("/api/v1/deviations", "hx")) == []
    assert _ok(api.get(f"/api/v1/deviations/{released}", "nw"))["lot"] == NORTHWIND_LOT
    assert error_of(api.get(f"/api/v1/deviations/{unreleased}", "nw"))[0] == 404
    other, missing = api.get(f"/api/v1/deviations/{released}", "hx"), api.get("/api/v1/deviations/DEV-0000-0000", "hx")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(released, "DEV-0000-0000") == missing.text
    assert error_of(api.get(f"/api/v1/deviations?lot={IN_QC}", "nw"))[0] == 404
    assert error_of(api.post(f"/api/v1/deviations/{released}/capa/1/completion", None, "nw"))[0] == 403
    assert error_of(api.get("/api/v1/deviations", "ana"))[0] == 403
