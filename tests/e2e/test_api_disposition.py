"""Disposition, the batch record export and the audit trail through the REST API, on each database: who may do
what, refusals with every reason, signatures, and sponsor isolation."""

from __future__ import annotations

import csv
import io
import json

import pytest

from opencdmo.bootstrap import App
from opencdmo.services import accounts
from tests import gmp_batches
from tests.e2e.api_client import Api, build_api, error_of
from tests.gmp_batches import LOT, PASSWORD

DISPOSITION = f"/api/v1/batches/{LOT}/disposition"
RECORD = f"/api/v1/batches/{LOT}/record"


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    built = build_api(app, sample_text)
    gmp_batches.add_staff(app)
    for username in ("qa1", "qp1"):
        built.tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    return built


def _signature(username: str | None = None, password: str = PASSWORD) -> dict[str, str]:
    return {"password": password, **({"username": username} if username else {})}


def test_quality_reads_the_disposition_with_every_blocker(api: Api) -> None:
    response = api.get(f"/api/v1/batches/{LOT}/disposition", "qa1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["can_release"], body["audit_trail_reviewed"]) == ("planned", False, False)
    assert [(item["topic"], item["text"]) for item in body["blockers"]] == [
        ("status", "the batch is planned, not in QC"),
        ("batch-record", "the batch has no batch record"),
        ("qc", "the process mAb fed-batch 2000 L has no release specification"),
        ("audit-trail", "the audit trail is not reviewed"),
    ]
    for username in ("op", "hx", "ana"):
        assert error_of(api.get(DISPOSITION, username))[:2] == (403, "forbidden")
    assert error_of(api.get("/api/v1/batches/NO-SUCH-LOT/disposition", "qa1"))[:2] == (404, "not-found")


def test_review_then_release_by_the_qualified_person_only(api: Api) -> None:
    gmp_batches.approve_master(api.app)
    gmp_batches.execute(api.app)
    gmp_batches.specify_qc(api.app)
    gmp_batches.pass_qc(api.app)

    reviewed = api.post(f"/api/v1/batches/{LOT}/audit-review", {"signature": _signature("qa1")}, "qa1")
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["audit_trail_reviewed"]
    assert reviewed.json()["can_release"]
    assert error_of(api.post(f"/api/v1/batches/{LOT}/audit-review", {"signature": _signature("op")}, "op"))[0] == 403

    refused = api.post(f"/api/v1/batches/{LOT}/release", {"signature": _signature("qa1")}, "qa1")
    assert error_of(refused)[:2] == (403, "forbidden")
    wrong = api.post(f"/api/v1/batches/{LOT}/release", {"signature": _signature("qp1", "wrong")}, "qp1")
    assert error_of(wrong)[:2] == (401, "unauthorized")
    other = api.post(f"/api/v1/batches/{LOT}/release", {"signature": _signature("qa1")}, "qp1")
    assert error_of(other)[:2] == (403, "forbidden")  # nobody signs for another user

    released = api.post(f"/api/v1/batches/{LOT}/release", {"signature": _signature("qp1")}, "qp1")
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["status"] == "released"
    assert [(s["meaning"], s["username"], s["printed_name"], s["intact"]) for s in body["signatures"]] == [
        ("reviewed", "qa1", "Quinn Abbott", True),
        ("released", "qp1", "Petra Quist", True),
    ]
    assert body["signatures"][1]["manifestation"].startswith("Signed by Petra Quist (qp1) on ")


def test_a_release_is_refused_with_every_reason_in_one_answer(api: Api) -> None:
    gmp_batches.approve_master(api.app)
    number = gmp_batches.execute(api.app, ph="7.6")
    response = api.post(f"/api/v1/batches/{LOT}/release", {"signature": _signature("qp1")}, "qp1")
    status, name, detail = error_of(response)
    assert (status, name) == (409, "conflict")
    assert detail == (
        f"batch {LOT} cannot be released: the process mAb fed-batch 2000 L has no release specification; "
        f"deviation {number} is open: pH out of specification at step 2; the audit trail is not reviewed"
    )
    assert api.get(DISPOSITION, "qp1").json()["status"] == "in-qc"


def test_a_rejection_needs_a_reason(api: Api) -> None:
    gmp_batches.approve_master(api.app)
    gmp_batches.execute(api.app, ph="7.6")
    gmp_batches.review(api.app)
    missing = api.post(f"/api/v1/batches/{LOT}/rejection", {"signature": _signature("qp1")}, "qp1")
    assert error_of(missing)[:2] == (422, "invalid-input")
    unknown = api.post(f"/api/v1/batches/{LOT}/rejection", {"reason": "x", "signature": {}, "extra": 1}, "qp1")
    assert error_of(unknown)[0] == 422
    rejected = api.post(
        f"/api/v1/batches/{LOT}/rejection", {"reason": "pH excursion", "signature": _signature("qp1")}, "qp1"
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert [(s["meaning"], s["comment"]) for s in rejected.json()["signatures"]][-1] == ("rejected", "pH excursion")


def test_the_record_exports_as_json_html_and_pdf_and_a_sponsor_reads_its_own_once_released(api: Api) -> None:
    gmp_batches.ready_for_release(api.app)
    assert error_of(api.get(RECORD, "hx"))[:2] == (404, "not-found")  # in QC: not yet the sponsor's to read
    gmp_batches.release(api.app)

    as_json = api.get(RECORD, "qa1")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    document = as_json.json()
    assert (document["schema"], document["lot_number"], document["status"]) == (
        "opencdmo.batch-record/1",
        LOT,
        "released",
    )
    assert document["audit_chain_intact"] is True
    assert document["broken_signatures"] == 0
    html = api.get(f"{RECORD}?format=html", "vic")
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert LOT in html.text
    assert "<script" not in html.text
    pdf = api.get(f"{RECORD}?format=pdf", "qa1")
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]

    own = api.get(RECORD, "hx")
    assert own.status_code == 200
    assert json.loads(own.text)["sponsor"] == "Helix Vaccines"
    theirs, absent = api.get(RECORD, "nw"), api.get("/api/v1/batches/NO-SUCH-LOT/record", "nw")
    assert theirs.status_code == absent.status_code == 404
    assert theirs.text.replace(LOT, "NO-SUCH-LOT") == absent.text
    assert error_of(api.get(f"{RECORD}?format=docx", "qa1"))[0] == 422


def test_the_audit_trail_is_searched_and_exported_by_quality_only(api: Api) -> None:
    gmp_batches.ready_for_release(api.app)
    found = api.get(f"/api/v1/audit?record_id={LOT}&tree=true&newest_first=true&limit=3", "qa1")
    assert found.status_code == 200, found.text
    events = found.json()
    assert len(events) == 3
    assert events[0]["sequence"] > events[1]["sequence"] > events[2]["sequence"]
    assert all(event["record_id"].startswith(LOT) for event in events)
    exported = api.get(f"/api/v1/audit?record_id={LOT}&tree=true&format=csv", "qa1")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:3] == ["sequence", "occurred_at", "username"]
    assert len(rows) > 5
    assert api.get("/api/v1/audit/verification", "qp1").json()["intact"] is True
    for username in ("op", "ana", "hx"):
        assert error_of(api.get("/api/v1/audit", username))[:2] == (403, "forbidden")
    naive = api.get("/api/v1/audit?since=2026-01-01T00:00:00", "qa1")
    assert error_of(naive)[:2] == (422, "invalid-input")
