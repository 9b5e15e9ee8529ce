"""The disposition page, the batch record downloads and the audit trail page, through the ASGI app on each
database: what each role sees and may do, signature forms, refusals in the form, and sponsor isolation."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from opencdmo.bootstrap import App
from opencdmo.services import audit
from tests import gmp_batches
from tests.e2e.web_client import PASSWORD, Browser, Web, alert, build_web, field_error, flash_of
from tests.gmp_batches import LOT

PAGE = f"/batches/{LOT}/release"


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    built = build_web(app, sample_text)
    gmp_batches.add_staff(app)
    return built


def _sign(browser: Browser, action: str, username: str | None = None, **fields: str) -> dict[str, str]:
    data = {"csrf_token": browser.csrf(PAGE), "signature_password": PASSWORD, **fields}
    if username is not None:
        data["signature_username"] = username
    return data


def test_the_qp_sees_every_blocker_with_a_link_and_no_enabled_release(web: Web) -> None:
    gmp_batches.approve_master(web.app)
    number = gmp_batches.execute(web.app, ph="7.5")
    page = web.browser("qp1").get(PAGE)
    assert page.status_code == 200, page.text
    assert "The batch cannot be released" in page.text
    assert f'href="/deviations/{number}"' in page.text
    assert f"deviation {number} is open" in page.text
    assert f'href="/qc/{LOT}"' in page.text
    assert 'href="#audit-trail"' in page.text
    assert re.search(r'<button type="submit" id="release-button" disabled', page.text)
    assert 'id="review-form"' in page.text  # the QP may review too
    assert 'id="reject-button" disabled' in page.text  # no review yet: no rejection either
    assert f"{LOT}/step-2/pH" in page.text  # the audit trail table


def test_review_then_release_through_the_forms(web: Web) -> None:
    gmp_batches.approve_master(web.app)
    gmp_batches.execute(web.app)
    gmp_batches.specify_qc(web.app)
    gmp_batches.pass_qc(web.app)
    qa = web.browser("qa1")
    page = qa.get(PAGE)
    assert 'id="release-form"' not in page.text  # QA reviews, only the QP releases

    wrong = qa.post(f"/batches/{LOT}/audit-review", _sign(qa, "review", "qa1", signature_password="nope"))
    assert wrong.status_code == 422
    assert field_error(wrong, "review-signature", "password") is not None

    done = qa.post(f"/batches/{LOT}/audit-review", _sign(qa, "review", "qa1", comment="All events checked"))
    assert done.status_code == 303, done.text
    page = qa.get(done.headers["location"])
    assert flash_of(page) == f"The audit trail of batch {LOT} is reviewed and signed."
    assert "Quinn Abbott" in page.text
    assert "All events checked" in page.text

    qp = web.browser("qp1")
    page = qp.get(PAGE)
    assert "Nothing blocks the release" in page.text
    assert re.search(r'<button type="submit" class="primary" id="release-button">', page.text)
    refused = qa.post(f"/batches/{LOT}/release", _sign(qa, "release", "qa1"))
    assert refused.status_code == 403
    released = qp.post(f"/batches/{LOT}/release", _sign(qp, "release", "qp1"))
    assert released.status_code == 303, released.text
    page = qp.get(PAGE)
    assert flash_of(page) == f"Batch {LOT} is released."
    assert 'id="batch-status">released<' in page.text
    assert "Petra Quist" in page.text
    assert "BROKEN" not in page.text
    assert f'href="/batches/{LOT}/record.pdf"' in page.text


def test_a_refused_release_shows_every_reason_in_the_form(web: Web) -> None:
    gmp_batches.approve_master(web.app)
    number = gmp_batches.execute(web.app, ph="7.5")
    qp = web.browser("qp1")
    response = qp.post(f"/batches/{LOT}/release", _sign(qp, "release", "qp1"))
    assert response.status_code == 409
    message = alert(response)
    assert message.startswith(f"batch {LOT} cannot be released: ")
    assert f"deviation {number} is open" in message
    assert "the audit trail is not reviewed" in message


def test_a_rejection_needs_a_reason_shown_beside_its_field(web: Web) -> None:
    gmp_batches.approve_master(web.app)
    gmp_batches.execute(web.app, ph="7.5")
    gmp_batches.review(web.app)
    qp = web.browser("qp1")
    missing = qp.post(f"/batches/{LOT}/rejection", _sign(qp, "reject", "qp1", reason=""))
    assert missing.status_code == 422
    assert field_error(missing, "reject", "reason") == "required"
    rejected = qp.post(f"/batches/{LOT}/rejection", _sign(qp, "reject", "qp1", reason="pH excursion"))
    assert rejected.status_code == 303
    page = qp.get(PAGE)
    assert 'id="batch-status">rejected<' in page.text
    assert "pH excursion" in page.text


def test_only_quality_opens_the_disposition_page(web: Web) -> None:
    for username in ("op", "ana", "vic", "hx", "nw"):
        assert web.browser(username).get(PAGE).status_code == 403, username
    assert web.browser("qa1").get("/batches/NO-SUCH-LOT/release").status_code == 404
    qa = web.browser("qa1")
    batch_page = qa.get(f"/batches/{LOT}")
    assert f'href="/batches/{LOT}/release"' in batch_page.text


def test_downloads_and_a_sponsor_reads_its_own_released_record_only(web: Web) -> None:
    gmp_batches.ready_for_release(web.app)
    helix, northwind = web.browser("hx"), web.browser("nw")
    assert helix.get(f"/batches/{LOT}/record.html").status_code == 404  # not released yet
    gmp_batches.release(web.app)

    qa = web.browser("qa1")
    page = qa.get(f"/batches/{LOT}/record.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]
    assert "Data changed after original entry: NO" in page.text
    pdf = qa.get(f"/batches/{LOT}/record.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    assert json.loads(qa.get(f"/batches/{LOT}/record.json").text)["status"] == "released"
    assert qa.get(f"/batches/{LOT}/record.docx").status_code == 422

    own = helix.get(f"/batches/{LOT}/record.json")
    assert own.status_code == 200
    assert json.loads(own.text)["sponsor"] == "Helix Vaccines"
    assert f'href="/batches/{LOT}/record.pdf"' in helix.get(f"/batches/{LOT}").text
    theirs, absent = northwind.get(f"/batches/{LOT}/record.html"), northwind.get("/batches/NOPE-1/record.html")
    assert theirs.status_code == absent.status_code == 404
    assert "Helix" not in theirs.text


def test_the_audit_trail_page_searches_pages_exports_and_verifies(web: Web) -> None:
    gmp_batches.ready_for_release(web.app)
    qa = web.browser("qa1")
    assert 'href="/audit"' in qa.get("/").text
    page = qa.get(f"/audit?record_id={LOT}&tree=1&limit=50")
    assert page.status_code == 200, page.text
    numbers = [int(number) for number in re.findall(r'<td class="num">(\d+)</td>', page.text)]
    assert numbers == sorted(numbers, reverse=True)
    assert len(numbers) > 5
    narrow = qa.get(f"/audit?record_id={LOT}")
    assert len(re.findall(r'<td class="num">', narrow.text)) < len(numbers)

    exported = qa.get(f"/audit/export.csv?record_id={LOT}&tree=1")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][0] == "sequence"
    assert [int(row[0]) for row in rows[1:]] == sorted(numbers)
    document = json.loads(qa.get(f"/audit/export.json?record_id={LOT}&tree=1").text)
    assert [event["sequence"] for event in document["events"]] == sorted(numbers)

    bad = qa.get("/audit?since=yesterday")
    assert bad.status_code == 422
    assert "from: expected a date" in bad.text

    verified = qa.post("/audit/verification", {"csrf_token": qa.csrf("/audit")})
    assert verified.status_code == 200
    assert "Chain intact" in verified.text
    assert qa.post("/audit/verification", {"csrf_token": "forged"}).status_code == 403

    for username in ("op", "ana", "hx"):
        browser = web.browser(username)
        assert browser.get("/audit").status_code == 403, username
        assert browser.get("/audit/export.csv").status_code == 403, username
        assert 'href="/audit"' not in browser.get("/").text


def test_the_audit_trail_pages_older_events(web: Web) -> None:
    with web.app.unit_of_work() as uow:
        for number in range(60):
            audit.record(uow, actor="qa1", action="change", record_type="test", record_id=f"r{number}")
        uow.commit()
    qa = web.browser("qa1")
    first = qa.get("/audit?limit=50")
    found = re.search(r'<a href="/audit\?([^"]*)" id="older">', first.text)
    assert found is not None
    second = qa.get(f"/audit?{html.unescape(found.group(1))}")
    newest = [int(number) for number in re.findall(r'<td class="num">(\d+)</td>', first.text)]
    older = [int(number) for number in re.findall(r'<td class="num">(\d+)</td>', second.text)]
    assert len(newest) == 50
    assert older
    assert max(older) < min(newest)
