"""The deviation, QC and instrument pages through the ASGI app on each database: forms per role, inline errors,
signatures, and what a sponsor user may see."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from opencdmo.adapters import scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App
from opencdmo.domain import QcTest, Role
from opencdmo.services import accounts, qc, scenarios, training
from tests.e2e.quality_setup import NORTHWIND_LOT
from tests.e2e.web_client import PASSWORD, Browser, Web, alert, cheap_password_hashes, field_error, flash_of

IN_QC = "NWB220-27-002"
FILL = "Vial fill 10 mL"
TODAY = datetime.now(UTC).date()
USERS: dict[str, tuple[Role, str | None]] = {
    "qc1": (Role.QC_ANALYST, None),
    "qc2": (Role.QC_ANALYST, None),
    "qa": (Role.QA, None),
    "op": (Role.OPERATOR, None),
    "ana": (Role.PLANNER, None),
    "vic": (Role.VIEWER, None),
    "hx": (Role.SPONSOR, "Helix Vaccines"),
    "nw": (Role.SPONSOR, "Northwind Biologics"),
}
LOCATION = re.compile(r"^/deviations/(DEV-\d{4}-\d{4})$")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashes(monkeypatch)


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    """The sample network, a user per role, two trained analysts, two instruments (one expired) and the fill's
    release specification."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    for username, (role, sponsor) in USERS.items():
        accounts.add_user(app.unit_of_work(), username, role, sponsor_name=sponsor, password=PASSWORD)
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
    qc.register(
        app.unit_of_work(),
        "HPLC-01",
        "Agilent 1260",
        "HPLC",
        TODAY - timedelta(days=60),
        TODAY + timedelta(days=300),
        actor="qa",
    )
    qc.register(
        app.unit_of_work(),
        "LAL-01",
        "Endosafe",
        "LAL",
        TODAY - timedelta(days=400),
        TODAY - timedelta(days=2),
        actor="qa",
    )
    tests = [
        QcTest("Assay", "QCM-HPLC-ASSAY", "%", low=95.0, high=105.0),
        QcTest("Endotoxin", "QCM-LAL", "EU/mL", high=0.5),
    ]
    qc.set_specification(app.unit_of_work(), FILL, tests, actor="qa")
    return Web(asgi=create_app(app), app=app)


def _see(response: httpx.Response, status: int = 200) -> str:
    assert response.status_code == status, response.text
    return response.text


def _follow(browser: Browser, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, response.text
    return browser.get(response.headers["location"])


def _open(web: Web, lot: str = IN_QC, severity: str = "major") -> str:
    browser = web.browser("op")
    response = browser.submit(
        "/deviations",
        {"lot": lot, "severity": severity, "title": "Filter test failed", "description": "Line one.\r\nLine two."},
        page="/deviations",
    )
    assert response.status_code == 303, response.text
    found = LOCATION.match(response.headers["location"])
    assert found is not None
    return found.group(1)


# Deviations ------------------------------------------------------------------------------------------------------


def test_an_operator_opens_a_deviation_and_qa_takes_it_to_closure_by_signature(web: Web) -> None:
    number = _open(web)
    path = f"/deviations/{number}"
    operator = web.browser("op")
    page = _see(operator.get(path))
    assert "Line one.<br>Line two." in page
    assert "the investigation is not recorded" in page
    assert 'action="/deviations/' + number + '/investigation"' not in page  # not QA: no forms
    assert "closure-form" not in page

    qa = web.browser("qa")
    page = _see(qa.get(path))
    assert 'id="investigation-form"' in page
    assert 'id="closure-form"' in page
    refused = qa.submit(f"{path}/investigation", {"investigation": "", "root_cause": "x"}, page=path)
    assert refused.status_code == 422
    assert field_error(refused, "investigation", "investigation") == "required"
    saved = qa.submit(
        f"{path}/investigation", {"investigation": "Wrong fluid.", "root_cause": "Unclear WI-17"}, page=path
    )
    assert flash_of(_follow(qa, saved)) == "Investigation and root cause saved."
    due = str(TODAY + timedelta(days=30))
    bad_owner = qa.submit(f"{path}/capa", {"description": "Rewrite WI-17", "owner": "hx", "due_date": due}, page=path)
    assert bad_owner.status_code == 422
    assert "not an active CDMO staff user" in (field_error(bad_owner, "capa", "owner") or "")
    added = qa.submit(f"{path}/capa", {"description": "Rewrite WI-17", "owner": "op", "due_date": due}, page=path)
    assert flash_of(_follow(qa, added)) == "CAPA action added."

    assert "Mark done" in _see(operator.get(path))  # its owner
    assert "Mark done" not in _see(web.browser("qc1").get(path))
    assert web.browser("qc1").submit(f"{path}/capa/1/completion", {}, page=path).status_code == 403
    done = operator.submit(f"{path}/capa/1/completion", {}, page=path)
    assert flash_of(_follow(operator, done)) == "CAPA action 1 marked done."
    checked = qa.submit(f"{path}/capa/1/effectiveness", {"finding": "No recurrence."}, page=path)
    assert flash_of(_follow(qa, checked)) == "Effectiveness of CAPA action 1 recorded."
    assert "Everything is recorded" in _see(qa.get(path))

    wrong = qa.submit(
        f"{path}/closure", {"signature_username": "qa", "signature_password": "not it", "comment": ""}, page=path
    )
    assert wrong.status_code == 422
    assert "the signature was refused" in (field_error(wrong, "close-signature", "password") or "")
    assert "not it" not in wrong.text
    closed = qa.submit(
        f"{path}/closure",
        {"signature_username": "qa", "signature_password": PASSWORD, "comment": "effective CAPA"},
        page=path,
    )
    page = _follow(qa, closed).text
    assert f"Deviation {number} closed and signed." in page
    assert "Signed by qa (qa) on " in page
    assert "approved" in page
    assert "BROKEN" not in page
    assert "closure-form" not in page
    assert "investigation-form" not in page


def test_the_open_form_shows_its_errors_beside_the_fields(web: Web) -> None:
    browser = web.browser("op")
    missing = browser.submit(
        "/deviations", {"lot": "", "severity": "minor", "title": "", "description": ""}, "/deviations"
    )
    assert missing.status_code == 422
    assert field_error(missing, "new-deviation", "title") == "required"
    assert field_error(missing, "new-deviation", "description") == "required"
    unknown = browser.submit(
        "/deviations", {"lot": "NOPE-1", "severity": "minor", "title": "t", "description": "d"}, "/deviations"
    )
    assert unknown.status_code == 422
    assert field_error(unknown, "new-deviation", "lot") == "there is no batch 'NOPE-1'"
    assert 'value="NOPE-1"' in unknown.text  # the input as typed
    assert web.browser("ana").submit("/deviations", {"severity": "minor"}, "/").status_code == 403
    assert browser.post("/deviations", {"severity": "minor", "title": "t", "description": "d"}).status_code == 403


def test_the_list_filters_by_status_and_batch(web: Web) -> None:
    number = _open(web, severity="critical")
    site = _open(web, lot="")
    browser = web.browser("vic")
    page = _see(browser.get("/deviations"))
    assert number in page
    assert site in page
    assert "severity-critical" in page
    assert "Open a deviation" not in page  # a viewer opens none
    by_batch = _see(browser.get(f"/deviations?lot={IN_QC}"))
    assert number in by_batch
    assert site not in by_batch
    assert "No deviation closed." in _see(browser.get("/deviations?status=closed"))
    assert "status: choose one of" in _see(browser.get("/deviations?status=later"), 422)
    assert web.browser("ana").get("/deviations").status_code == 403


def test_a_sponsor_reads_only_deviations_of_its_own_released_batches(web: Web) -> None:
    unreleased = _open(web, lot=IN_QC)
    released = _open(web, lot=NORTHWIND_LOT)
    sponsor = web.browser("nw")
    page = _see(sponsor.get("/deviations"))
    assert released in page
    assert unreleased not in page
    assert "Open a deviation" not in page
    detail = _see(sponsor.get(f"/deviations/{released}"))
    assert "capa-form" not in detail
    assert sponsor.get(f"/deviations/{unreleased}").status_code == 404
    helix = web.browser("hx")
    other, missing = helix.get(f"/deviations/{released}"), helix.get("/deviations/DEV-0000-0000")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(released, "KEY") == missing.text.replace("DEV-0000-0000", "KEY")


# QC results ------------------------------------------------------------------------------------------------------


def test_a_result_on_an_expired_instrument_is_refused_beside_the_field_and_a_valid_one_recorded(web: Web) -> None:
    path = f"/qc/{IN_QC}"
    analyst = web.browser("qc1")
    page = _see(analyst.get(path))
    assert 'id="record-form"' in page
    assert "LAL-01 · Endosafe · calibration expired" in page
    refused = analyst.submit(
        f"{path}/results", {"test": "Endotoxin", "value": "0.1", "instrument": "LAL-01"}, page=path
    )
    assert refused.status_code == 422
    message = field_error(refused, "record", "instrument") or ""
    assert f"instrument LAL-01's calibration expired on {TODAY - timedelta(days=2)}: the result is refused" == message
    recorded = analyst.submit(f"{path}/results", {"test": "Assay", "value": "99.4", "instrument": "HPLC-01"}, page=path)
    page = _follow(analyst, recorded).text
    assert "Assay recorded: 99.4 % (passed)." in page
    assert "the QC result of Assay is not verified" in page
    twice = analyst.submit(f"{path}/results", {"test": "Assay", "value": "99", "instrument": "HPLC-01"}, page=path)
    assert twice.status_code == 409
    assert "void it" in (field_error(twice, "record", "test") or "")


def test_a_failing_result_links_the_deviation_it_opened(web: Web) -> None:
    path = f"/qc/{IN_QC}"
    analyst = web.browser("qc1")
    failed = analyst.submit(f"{path}/results", {"test": "Assay", "value": "90", "instrument": "HPLC-01"}, page=path)
    page = _follow(analyst, failed).text
    found = re.search(r"Assay recorded: 90 % \(failed: deviation (DEV-\d{4}-\d{4}) opened\)\.", page)
    assert found is not None
    assert f'href="/deviations/{found.group(1)}" class="deviation-link"' in page
    deviation = _see(web.browser("qa").get(f"/deviations/{found.group(1)}"))
    assert "Assay out of specification" in deviation
    assert "QC Assay" in deviation


def test_an_untrained_analyst_is_told_why_above_the_form(web: Web) -> None:
    accounts.add_user(web.app.unit_of_work(), "qc3", Role.QC_ANALYST, password=PASSWORD)
    browser = web.browser("qc3")
    path = f"/qc/{IN_QC}"
    refused = browser.submit(f"{path}/results", {"test": "Assay", "value": "99", "instrument": "HPLC-01"}, page=path)
    assert refused.status_code == 422
    assert alert(refused) == "qc3 has no training on QCM-HPLC-ASSAY"


def test_a_second_analyst_verifies_by_signature_and_qa_voids_with_a_reason(web: Web) -> None:
    path = f"/qc/{IN_QC}"
    recorded = web.browser("qc1").submit(
        f"{path}/results", {"test": "Assay", "value": "99.4", "instrument": "HPLC-01"}, page=path
    )
    assert recorded.status_code == 303
    result_id = qc.results(web.app.unit_of_work(), IN_QC).results[0].result.id
    assert "verify-form" not in _see(web.browser("qc1").get(path))  # not one's own result
    verifier = web.browser("qc2")
    assert "Verify and sign" in _see(verifier.get(path))
    without_id = verifier.submit(f"/qc/results/{result_id}/verification", {"signature_password": PASSWORD}, page=path)
    assert without_id.status_code == 422
    assert field_error(without_id, f"verify-{result_id}-signature", "username") == (
        "enter your user id and password to sign"
    )
    signed = verifier.submit(
        f"/qc/results/{result_id}/verification",
        {"signature_username": "qc2", "signature_password": PASSWORD},
        page=path,
    )
    page = _follow(verifier, signed).text
    assert "Assay verified and signed." in page
    assert "Signed by qc2 (qc2) on " in page
    assert "— verified" in page

    qa = web.browser("qa")
    assert "verify-form" not in _see(qa.get(path))
    empty = qa.submit(f"/qc/results/{result_id}/void", {"reason": ""}, page=path)
    assert empty.status_code == 422
    assert field_error(empty, f"void-{result_id}", "reason") == "required"
    voided = qa.submit(f"/qc/results/{result_id}/void", {"reason": "sample mix-up"}, page=path)
    page = _follow(qa, voided).text
    assert "The Assay result was voided" in page
    assert "<del>Assay: 99.4 %</del>" in page
    assert "sample mix-up" in page
    assert web.browser("op").submit(f"/qc/results/{result_id}/void", {"reason": "x"}, page="/").status_code == 403


def test_the_worklist_and_the_register_are_for_staff(web: Web) -> None:
    page = _see(web.browser("vic").get("/qc"))
    assert IN_QC in page
    assert "Endotoxin" in page
    assert "Record result" not in _see(web.browser("vic").get(f"/qc/{IN_QC}"))
    for username in ("hx", "nw"):
        assert web.browser(username).get("/qc").status_code == 403
        assert web.browser(username).get("/instruments").status_code == 403
    assert web.browser("ana").get("/qc").status_code == 403
    assert web.browser("ana").get("/instruments").status_code == 403


def test_a_sponsor_reads_the_results_of_its_own_released_batches_only(web: Web) -> None:
    sponsor = web.browser("nw")
    page = _see(sponsor.get(f"/qc/{NORTHWIND_LOT}"))
    assert "record-form" not in page
    assert sponsor.get(f"/qc/{IN_QC}").status_code == 404
    helix = web.browser("hx")
    theirs, missing = helix.get(f"/qc/{NORTHWIND_LOT}"), helix.get("/qc/NOPE-1")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(NORTHWIND_LOT, "KEY") == missing.text.replace("NOPE-1", "KEY")


# Instruments -----------------------------------------------------------------------------------------------------


def test_instruments_show_their_calibration_and_are_registered_and_calibrated_by_their_keepers(web: Web) -> None:
    keeper = web.browser("qc1")
    page = _see(keeper.get("/instruments"))
    assert re.search(r'id="instrument-LAL-01".*?status-rejected calibration">expired<', page, re.S)
    assert re.search(r'id="instrument-HPLC-01".*?calibration">valid<', page, re.S)
    start, due = str(TODAY), str(TODAY + timedelta(days=10))
    fields = {"code": "PH-01", "name": "pH meter", "kind": "pH", "calibrated_on": start, "calibration_due": due}
    registered = keeper.submit("/instruments", fields, page="/instruments")
    page = _follow(keeper, registered).text
    assert "Instrument PH-01 registered." in page
    assert re.search(r'id="instrument-PH-01".*?calibration">due within 30 days<', page, re.S)
    again = keeper.submit("/instruments", fields, page="/instruments")
    assert again.status_code == 409
    assert "already registered" in (field_error(again, "new-instrument", "code") or "")
    backwards = keeper.submit(
        "/instruments/LAL-01/calibration", {"calibrated_on": start, "calibration_due": start}, page="/instruments"
    )
    assert backwards.status_code == 422
    assert field_error(backwards, "calibrate-LAL-01", "calibration_due") == (
        "the calibration falls due after the day it was done"
    )
    renewed = keeper.submit(
        "/instruments/LAL-01/calibration",
        {"calibrated_on": start, "calibration_due": str(TODAY + timedelta(days=365))},
        page="/instruments",
    )
    page = _follow(keeper, renewed).text
    assert re.search(r'id="instrument-LAL-01".*?calibration">valid<', page, re.S)
    viewer = web.browser("vic")
    assert "new-instrument-form" not in _see(viewer.get("/instruments"))
    assert viewer.submit("/instruments", fields, page="/").status_code == 403
