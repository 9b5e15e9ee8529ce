"""The master record and batch record pages through the ASGI app on each database: drafting, editing and
approving a master record; starting, recording, correcting, verifying and completing a batch record through
the forms; what each role is offered; refusals beside their field; sponsor isolation."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest

from opencdmo import domain
from opencdmo.bootstrap import App
from opencdmo.services import accounts, audit, training
from tests.e2e.quality_setup import release
from tests.e2e.web_client import PASSWORD, Browser, Web, alert, build_web, field_error, flash_of
from tests.integration.test_execution import PROCEDURE, PROCESS, STEPS_YAML, approved_master

LOT = "NWB101-27-002"
PAGE = f"/batch-records/{LOT}"
MASTERS = "/master-records"
V1 = "/master-records/mAb%20fed-batch%202000%20L/v1"
EXTRA = {"qa1": domain.Role.QA, "qa2": domain.Role.QA, "op1": domain.Role.OPERATOR, "op2": domain.Role.OPERATOR}


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    """The sample network, the web users (ana, op, vic, hx, nw), QA qa1 and qa2, operators op1 and op2; the
    operators and QA trained on the master record's procedure."""
    built = build_web(app, sample_text)
    today = audit.utcnow().date()
    for username, role in EXTRA.items():
        accounts.add_user(app.unit_of_work(), username, role, password=PASSWORD)
    for username in (*EXTRA, "op"):
        training.grant(
            app.unit_of_work(),
            username,
            PROCEDURE,
            trained_on=today - timedelta(days=1),
            valid_until=today + timedelta(days=365),
            actor="qa1",
        )
    return built


@pytest.fixture
def running(web: Web) -> Web:
    """An approved master record and the batch record of LOT started by op1."""
    approved_master(web.app)
    started = web.browser("op1").submit("/batch-records", {"lot": LOT, "from": "record"}, page=PAGE)
    assert started.status_code == 303, started.text
    return web


def _post(browser: Browser, path: str, data: dict[str, str]) -> httpx.Response:
    return browser.submit(path, data, page=PAGE)


def _entry_id(page: str, action: str, label: str) -> int:
    """The id of the value whose ``action`` form (correction, verification) is labelled ``label``."""
    found = re.findall(rf'/entries/(\d+)/{action}" [^>]*aria-label="{re.escape(label)}"', page)
    assert len(found) == 1, page
    return int(found[0])


# Master records ------------------------------------------------------------------------------------------------


def test_a_draft_is_written_edited_with_inline_errors_and_approved_by_signature(web: Web) -> None:
    planner = web.browser("ana")
    listing = planner.get(MASTERS)
    assert listing.status_code == 200
    assert 'id="new-draft-form"' in listing.text
    created = planner.submit(MASTERS, {"process": PROCESS, "procedure": PROCEDURE, "title": "mAb fed-batch"}, MASTERS)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == V1
    page = planner.get(V1)
    assert "Draft mAb fed-batch v1 of mAb fed-batch 2000 L written" in (flash_of(page) or "")
    assert 'id="edit-draft-form"' in page.text
    assert 'id="approve-form"' not in page.text  # a planner does not approve

    broken = planner.submit(
        V1, {"procedure": PROCEDURE, "title": "mAb fed-batch", "steps": STEPS_YAML.replace("low: 6.8", "low: 9")}, V1
    )
    assert broken.status_code == 422
    error = field_error(broken, "edit-draft", "steps")
    assert error is not None
    assert "step 2, parameter 'pH'" in error
    assert "low: 9" in html.unescape(broken.text)  # what was typed is shown again
    saved = planner.submit(V1, {"procedure": PROCEDURE, "title": "mAb fed-batch", "steps": STEPS_YAML}, V1)
    assert saved.status_code == 303, saved.text
    assert "6.8 - 7.2 pH" in planner.get(V1).text

    qa = web.browser("qa1")
    page = qa.get(V1)
    assert 'id="approve-form"' in page.text
    assert 'name="signature_username"' in page.text
    refused = qa.submit(f"{V1}/approve", {"signature_username": "qa1", "signature_password": "wrong"}, V1)
    assert refused.status_code == 422
    assert field_error(refused, "approve-signature", "password") is not None or "refused" in refused.text
    approved = qa.submit(f"{V1}/approve", {"signature_username": "qa1", "signature_password": PASSWORD}, V1)
    assert approved.status_code == 303, approved.text
    page = qa.get(V1)
    assert "approved and signed" in (flash_of(page) or "")
    assert 'id="master-status">approved' in page.text
    assert "Signed by qa1 (qa1)" in html.unescape(page.text)
    assert 'id="edit-draft-form"' not in page.text


def test_the_author_is_not_offered_the_approval(web: Web) -> None:
    web.browser("qa1").submit(MASTERS, {"process": PROCESS, "procedure": PROCEDURE, "title": "t"}, MASTERS)
    page = web.browser("qa1").get(V1)
    assert 'id="approve-form"' not in page.text
    assert 'id="author-note"' in page.text
    refused = web.browser("qa1").submit(
        f"{V1}/approve", {"signature_username": "qa1", "signature_password": PASSWORD}, V1
    )
    assert refused.status_code == 422
    assert "the author cannot approve their own master record" in html.unescape(refused.text)


def test_master_records_are_closed_to_sponsors_and_operators_may_read_them(web: Web) -> None:
    approved_master(web.app)
    assert web.browser("hx").get(MASTERS).status_code == 403
    assert web.browser("hx").get(V1).status_code == 403
    page = web.browser("op").get(V1)
    assert page.status_code == 200
    assert 'id="edit-draft-form"' not in page.text
    assert (
        web.browser("op").submit(MASTERS, {"process": PROCESS, "procedure": "X1", "title": "t"}, V1).status_code == 403
    )


# Batch records -------------------------------------------------------------------------------------------------


def test_a_batch_record_starts_from_the_batch_page(web: Web) -> None:
    approved_master(web.app)
    operator = web.browser("op1")
    batch = operator.get(f"/batches/{LOT}")
    assert f'href="/batch-records/{LOT}" id="batch-record-link"' in batch.text
    page = operator.get(PAGE)
    assert 'id="start-form"' in page.text
    assert "mAb fed-batch 2000 L/v1" in page.text
    assert 'id="start-form"' not in web.browser("vic").get(PAGE).text  # a viewer reads only
    started = operator.submit("/batch-records", {"lot": LOT, "from": "record"}, page=PAGE)
    assert started.status_code == 303
    page = operator.get(PAGE)
    assert "started on mAb fed-batch v1" in (flash_of(page) or "")
    assert page.text.count('class="record-form"') == 2  # step 1's two values
    assert re.search(
        r'id="step-2"[^>]*>\s*<h2>Step 2 · Inoculate\s*<span class="status status-cancelled step-state">locked',
        page.text,
    )


def test_starting_without_an_approved_master_says_why_in_the_form(web: Web) -> None:
    refused = web.browser("op1").submit("/batch-records", {"lot": LOT}, page="/batch-records")
    assert refused.status_code == 422
    assert "has no approved master batch record" in (field_error(refused, "start", "lot") or "")
    missing = web.browser("op1").submit("/batch-records", {"lot": ""}, page="/batch-records")
    assert alert(missing) == "Please correct the field marked below."


def test_values_are_recorded_corrected_verified_and_the_record_completed(running: Web) -> None:
    operator = running.browser("op1")
    assert (
        _post(operator, f"{PAGE}/entries", {"step": "1", "parameter": "vial id", "value": "WCB-0042"}).status_code
        == 303
    )
    early = _post(operator, f"{PAGE}/entries", {"step": "2", "parameter": "pH", "value": "7.0"})
    assert early.status_code == 422
    assert "step 2 cannot be recorded before step 1 is complete" in html.unescape(early.text)
    bad = _post(operator, f"{PAGE}/entries", {"step": "1", "parameter": "thawed", "value": "maybe"})
    assert field_error(bad, "record-1-2", "value") == "answer yes or no"
    _post(operator, f"{PAGE}/entries", {"step": "1", "parameter": "thawed", "value": "yes"})
    out = _post(operator, f"{PAGE}/entries", {"step": "2", "parameter": "pH", "value": "7.5"})
    assert out.status_code == 303
    page = operator.get(PAGE)
    assert "out of specification: deviation DEV-" in (flash_of(page) or "")
    assert '<b class="late out-of-spec">7.5 pH</b>' in page.text
    assert re.search(r'href="/deviations/DEV-\d{4}-0001" class="deviation-link"', page.text)

    ph = _entry_id(page.text, "correction", "Correct pH of step 2")
    no_reason = _post(operator, f"{PAGE}/entries/{ph}/correction", {"value": "7.1", "reason": ""})
    assert field_error(no_reason, f"correct-{ph}", "reason") == "required"
    corrected = _post(operator, f"{PAGE}/entries/{ph}/correction", {"value": "7.1", "reason": "misread the probe"})
    assert corrected.status_code == 303
    page = operator.get(PAGE)
    assert '<del class="superseded-value">7.5 pH</del>' in page.text
    assert "Reason for the correction: misread the probe" in page.text
    assert "you recorded it" in page.text
    assert 'class="verify-form"' not in page.text  # never offered to the person who recorded the value

    second = running.browser("op2")
    page = second.get(PAGE)
    assert page.text.count('class="verify-form"') == 1
    correction = _entry_id(page.text, "verification", "Verify pH of step 2")
    own = _post(
        second,
        f"{PAGE}/entries/{correction}/verification",
        {"signature_username": "op1", "signature_password": PASSWORD},
    )
    assert "nobody can sign for another user" in html.unescape(own.text)
    verified = _post(
        second,
        f"{PAGE}/entries/{correction}/verification",
        {"signature_username": "op2", "signature_password": PASSWORD},
    )
    assert verified.status_code == 303, verified.text
    page = second.get(PAGE)
    assert "verified and signed" in (flash_of(page) or "")
    assert "Signed by op2 (op2)" in html.unescape(page.text)
    assert 'id="complete"' not in page.text  # step 3 is still to do

    _post(operator, f"{PAGE}/entries", {"step": "2", "parameter": "volume", "value": "2000"})
    _post(operator, f"{PAGE}/entries", {"step": "3", "parameter": "harvested", "value": "yes"})
    page = operator.get(PAGE)
    assert 'id="complete"' in page.text
    assert 'id="complete"' not in running.browser("vic").get(PAGE).text
    done = _post(operator, f"{PAGE}/completion", {})
    assert done.status_code == 303
    page = operator.get(PAGE)
    assert 'id="record-status">complete' in page.text
    assert "in-qc" in page.text
    assert 'class="record-form"' not in page.text
    assert "Correct</summary>" not in page.text


def test_a_viewer_reads_and_is_offered_no_form(running: Web) -> None:
    _post(running.browser("op1"), f"{PAGE}/entries", {"step": "1", "parameter": "vial id", "value": "WCB-0042"})
    page = running.browser("vic").get(PAGE)
    assert page.status_code == 200
    assert "WCB-0042" in page.text
    for form in ('class="record-form"', "Correct</summary>", 'class="verify-form"', 'id="start-form"'):
        assert form not in page.text
    refused = running.browser("vic").submit(
        f"{PAGE}/entries", {"step": "1", "parameter": "thawed", "value": "yes"}, PAGE
    )
    assert refused.status_code == 403
    assert running.browser("ana").get(PAGE).status_code == 403  # a planner has no batch records to read


def test_a_form_without_its_csrf_token_is_refused(running: Web) -> None:
    response = running.browser("op1").post(f"{PAGE}/entries", {"step": "1", "parameter": "vial id", "value": "x"})
    assert response.status_code == 403


def test_a_sponsor_reads_its_own_batch_record_once_released_and_nothing_else(running: Web) -> None:
    assert running.browser("nw").get(PAGE).status_code == 404
    assert LOT not in running.browser("nw").get("/batch-records").text
    release(running.app, LOT)
    own = running.browser("nw").get(PAGE)
    assert own.status_code == 200
    assert 'href="/master-records' not in own.text  # no link into the CDMO's master records
    assert LOT in running.browser("nw").get("/batch-records").text
    other = running.browser("hx").get(PAGE)
    missing = running.browser("hx").get("/batch-records/NO-SUCH-LOT")
    assert other.status_code == missing.status_code == 404
    assert "Northwind" not in other.text


def test_the_lists_show_records_in_progress_and_complete(running: Web) -> None:
    page = running.browser("vic").get("/batch-records")
    assert page.status_code == 200
    in_progress = page.text.split('id="in-progress"')[1].split("</table>")[0]
    assert LOT in in_progress
    assert 'id="start-record-form"' not in page.text
    assert 'id="start-record-form"' in running.browser("op").get("/batch-records").text
