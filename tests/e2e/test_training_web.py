"""The training page and the training API on each database: staff read, admin and QA record (with CSRF), sponsors
are refused, refused input is shown beside its field."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest

from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, audit, training
from tests.e2e.api_client import Api, build_api, error_of
from tests.e2e.web_client import PASSWORD, Web, build_web, field_error, flash_of

TODAY = datetime.now(UTC).date()


def _add_staff(app: App) -> None:
    accounts.add_user(app.unit_of_work(), "adm", Role.ADMIN, password=PASSWORD)
    accounts.add_user(app.unit_of_work(), "qa", Role.QA, password=PASSWORD)


def _grant(app: App, username: str, procedure: str, trained_on: date, until: date) -> None:
    training.grant(app.unit_of_work(), username, procedure, trained_on=trained_on, valid_until=until, actor="adm")


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    site = build_web(app, sample_text)
    _add_staff(app)
    _grant(app, "op", "MBR-MAB-DS", TODAY - timedelta(days=400), TODAY - timedelta(days=35))
    _grant(app, "op", "CLEAN-SUITE-B", TODAY - timedelta(days=300), TODAY + timedelta(days=10))
    _grant(app, "ana", "QCM-HPLC-ASSAY", TODAY - timedelta(days=30), TODAY + timedelta(days=300))
    return site


def _row(page: str, username: str, procedure: str) -> str:
    rows = [row for row in page.split("<tr") if f">{username}</a>" in row and f"<b>{procedure}</b>" in row]
    assert len(rows) == 1, page
    return rows[0]


def test_staff_see_the_matrix_coloured_by_status(web: Web) -> None:
    page = web.browser("vic").get("/training")
    assert page.status_code == 200, page.text
    assert 'href="/training" aria-current="page">Training</a>' in page.text
    assert 'class="training-expired"' in _row(page.text, "op", "MBR-MAB-DS")
    assert 'class="status status-rejected">expired<' in _row(page.text, "op", "MBR-MAB-DS")
    assert 'class="status status-in-progress">expiring<' in _row(page.text, "op", "CLEAN-SUITE-B")
    assert 'class="status status-released">current<' in _row(page.text, "ana", "QCM-HPLC-ASSAY")
    assert 'id="new-training-form"' not in page.text  # a viewer reads, never records
    history = web.browser("op").get("/training?user=op")
    assert history.status_code == 200
    assert "Every training record of op" in history.text
    assert web.browser("op").get("/training?user=nobody").status_code == 404


def test_sponsors_get_403_and_no_link(web: Web) -> None:
    browser = web.browser("hx")
    assert browser.get("/training").status_code == 403
    assert 'href="/training"' not in browser.get("/").text
    refused = browser.post("/training", {"csrf_token": browser.csrf("/"), "username": "op", "procedure": "X-1"})
    assert refused.status_code == 403


def test_qa_records_a_training_with_the_form(web: Web) -> None:
    browser = web.browser("qa")
    form = {"username": "op", "procedure": "MBR-MAB-DS", "trained_on": TODAY.isoformat(), "months": "24"}
    saved = browser.submit("/training", form, page="/training")
    assert saved.status_code == 303, saved.text
    page = browser.get(saved.headers["location"])
    assert "Training recorded: op on MBR-MAB-DS" in (flash_of(page) or "")
    assert 'class="status status-released">current<' in _row(page.text, "op", "MBR-MAB-DS")
    with web.app.unit_of_work() as uow:
        training.require_current(uow, "op", "MBR-MAB-DS", on=TODAY)
    (event,) = audit.search(web.app.unit_of_work(), audit.AuditQuery(record_type="training", username="qa"))
    assert event.record_id == "op/MBR-MAB-DS"


def test_a_refused_form_shows_its_messages_and_stores_nothing(web: Web) -> None:
    browser = web.browser("adm")
    before = len(training.matrix(web.app.unit_of_work(), TODAY))
    cases = [
        ({"username": "op", "procedure": "mbr x", "trained_on": TODAY.isoformat()}, "procedure", "upper-case"),
        ({"username": "nobody", "procedure": "MBR-1", "trained_on": TODAY.isoformat()}, "username", "no user"),
        ({"username": "hx", "procedure": "MBR-1", "trained_on": TODAY.isoformat()}, "username", "sponsor user"),
        ({"username": "op", "procedure": "MBR-1", "trained_on": "soon"}, "trained_on", "a date"),
        ({"username": "op", "procedure": "MBR-1", "trained_on": "2999-01-01"}, "trained_on", "after today"),
        (
            {"username": "op", "procedure": "MBR-1", "trained_on": TODAY.isoformat(), "months": "500"},
            "months",
            "1 to 120 months",
        ),
        (
            {"username": "op", "procedure": "MBR-1", "trained_on": TODAY.isoformat(), "valid_until": "2000-01-01"},
            "valid_until",
            "must be after the training date",
        ),
    ]
    for values, field, message in cases:
        refused = browser.submit("/training", values, page="/training")
        assert refused.status_code == 422, (values, refused.status_code)
        assert message in (field_error(refused, "new-training", field) or ""), (values, refused.text)
        assert html.escape(values["procedure"]) in refused.text  # the form keeps what was typed
    assert len(training.matrix(web.app.unit_of_work(), TODAY)) == before


def test_only_admin_and_qa_may_record_and_the_csrf_token_is_checked(web: Web) -> None:
    form = {"username": "op", "procedure": "MBR-MAB-DS", "trained_on": TODAY.isoformat()}
    for username in ("ana", "op", "vic"):
        browser = web.browser(username)
        assert browser.submit("/training", form, page="/training").status_code == 403
    admin = web.browser("adm")
    assert admin.post("/training", {**form, "csrf_token": "forged"}).status_code == 403
    assert admin.post("/training", form).status_code == 403
    assert [r.valid_until for r in training.of_user(web.app.unit_of_work(), "op") if r.procedure == "MBR-MAB-DS"] == [
        TODAY - timedelta(days=35)
    ]


# The API -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    built = build_api(app, sample_text)
    _add_staff(app)
    for username in ("adm", "qa"):
        built.tokens[username] = accounts.issue_token(app.unit_of_work(), username)
    _grant(app, "op", "MBR-MAB-DS", TODAY - timedelta(days=400), TODAY - timedelta(days=35))
    return built


def test_the_api_lists_and_records_training(api: Api) -> None:
    listed = api.get("/api/v1/training", as_user="vic")
    assert listed.status_code == 200, listed.text
    assert [(row["username"], row["procedure"], row["status"], row["current"]) for row in listed.json()] == [
        ("op", "MBR-MAB-DS", "expired", False)
    ]
    body = {"username": "op", "procedure": "MBR-MAB-DS", "trained_on": TODAY.isoformat(), "months": 6}
    created = api.post("/api/v1/training", body, as_user="qa")
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/training/op"
    assert created.json()["recorded_by"] == "qa"
    assert created.json()["status"] == "current"
    history = api.get("/api/v1/training/op", as_user="op")
    assert [row["valid_until"] for row in history.json()] == [
        (TODAY - timedelta(days=35)).isoformat(),
        created.json()["valid_until"],
    ]
    assert api.get("/api/v1/training?user=op", as_user="op").json()[0]["current"] is True
    assert api.post("/api/v1/training", body, as_user="adm").status_code == 409
    assert error_of(api.get("/api/v1/training/nobody", as_user="op"))[0] == 404


def test_the_api_refuses_sponsors_other_roles_and_bad_bodies(api: Api) -> None:
    body = {"username": "op", "procedure": "QCM-HPLC-ASSAY"}
    for username in ("hx", "nw"):
        assert error_of(api.get("/api/v1/training", as_user=username))[:2] == (403, "forbidden")
        assert error_of(api.get("/api/v1/training/op", as_user=username))[0] == 403
        assert error_of(api.post("/api/v1/training", body, as_user=username))[0] == 403
    for username in ("ana", "op", "vic"):
        assert error_of(api.post("/api/v1/training", body, as_user=username))[0] == 403
    assert api.call("GET", "/api/v1/training").status_code == 401
    for bad in (
        {**body, "procedure": "qcm"},
        {**body, "months": 0},
        {**body, "valid_until": "2020-01-01", "trained_on": "2021-01-01"},
        {**body, "valid_until": "2030-01-01", "months": 3},
        {**body, "trained_on": "2999-01-01"},
        {**body, "username": "hx"},
        {**body, "color": "red"},
    ):
        assert error_of(api.post("/api/v1/training", bad, as_user="adm"))[0] == 422, bad
    assert error_of(api.post("/api/v1/training", {**body, "username": "nobody"}, as_user="adm"))[0] == 404
    assert len(training.of_user(api.app.unit_of_work(), "op")) == 1
