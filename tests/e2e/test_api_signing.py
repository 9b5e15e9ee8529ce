"""Signing-ready accounts and electronic signatures through the API and the web pages, on each database.

The account routes and page are real; the signing routes here are test-only, written the way a use case's route
and page will use :mod:`opencdmo.api.signing` and :mod:`opencdmo.web.signing`: the bearer token or the session
cookie is the signing session (21 CFR Part 11 §11.200)."""

from __future__ import annotations

import html
import re
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from opencdmo.api.deps import Caller, require
from opencdmo.api.signing import SignatureIn, SignaturePublic, credentials_from
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.domain import Action, Meaning, Role, Signature, content_hash
from opencdmo.errors import Forbidden, Unauthorized
from opencdmo.services import accounts, signatures
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.web.forms import FormState, FormValues, submit
from opencdmo.web.rendering import templates
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import FormViewer, Viewer, page
from opencdmo.web.signing import SIGNATURE_FIELDS, SigningPrompt, signed, signing_prompt
from tests.e2e.api_client import Api, build_api, error_of
from tests.e2e.conftest import Run
from tests.e2e.web_client import PASSWORD, Browser, Web, build_web, cheap_password_hashes, flash_of

NEW_PASSWORD = "a brand new passphrase of mine"
RECORD = ("test-record", "R-1")
CONTENT = {"value": 42}
FIELD_ERROR = re.compile(r'<span class="field-error" id="([^"]*)">([^<]*)</span>')


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashes(monkeypatch)


def _sign(app: App, signer: str, credentials: Credentials) -> Signature:
    """The test record's use case: authenticate, then seal in the use case's own transaction."""
    signatures.authenticate(app.unit_of_work(), signer, credentials)
    uow = app.unit_of_work()
    with uow:
        signature = signatures.seal(
            uow, signer=signer, meaning=Meaning.APPROVED, record_type=RECORD[0], record_id=RECORD[1], content=CONTENT
        )
        uow.commit()
    return signature


def _add_qa(app: App) -> None:
    accounts.add_user(app.unit_of_work(), "quinn", Role.QA, password=PASSWORD, full_name="Quinn Adams")


# The API -------------------------------------------------------------------------------------------------------


@pytest.fixture
def api(app: App) -> Api:
    built = build_api(app, None, users=("ana", "op"))
    _add_qa(app)
    built.tokens["quinn"] = accounts.issue_token(app.unit_of_work(), "quinn")
    router = APIRouter()

    @router.post("/api/v1/test-sign")
    def sign(
        body: SignatureIn, request: Request, caller: Annotated[Caller, Depends(require(Action.REVIEW_QUALITY))]
    ) -> SignaturePublic:
        signature = _sign(app, caller.identity.username, credentials_from(request, body))
        return SignaturePublic.from_view(signatures.view(signature, content_hash(*RECORD, CONTENT)))

    built.asgi.include_router(router)
    return built


def test_changing_ones_password_through_the_api(api: Api) -> None:
    response = api.post("/api/v1/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert accounts.authenticate(api.app.unit_of_work(), "ana", NEW_PASSWORD).username == "ana"
    with pytest.raises(Unauthorized):
        accounts.authenticate(api.app.unit_of_work(), "ana", PASSWORD)
    with api.app.unit_of_work() as uow:
        ana = uow.users.get("ana")
        assert ana is not None
        assert ana.password_changed_at is not None


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"current_password": "wrong password!", "new_password": NEW_PASSWORD}, 401, "current password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, 422, "differ"),
        ({"current_password": PASSWORD, "new_password": "short"}, 422, "at least 12"),
        ({"current_password": PASSWORD}, 422, "new_password"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"}, 422, "role"),
        ({"current_password": "", "new_password": NEW_PASSWORD}, 422, "current_password"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    api: Api, body: dict[str, str], status: int, words: str
) -> None:
    answer = api.post("/api/v1/account/password", body)
    code, _, detail = error_of(answer)
    assert (code, words in detail) == (status, True), detail
    assert PASSWORD not in detail
    assert accounts.authenticate(api.app.unit_of_work(), "ana", PASSWORD).username == "ana"


def test_the_account_routes_need_a_token(api: Api) -> None:
    assert api.call("GET", "/api/v1/account").status_code == 401
    answer = api.call("POST", "/api/v1/account/password", json={"current_password": PASSWORD, "new_password": "x"})
    assert answer.status_code == 401


def test_the_account_says_where_the_password_stands_and_whether_signing_needs_the_user_id(api: Api) -> None:
    body = api.get("/api/v1/account", "quinn").json()
    assert body["username"] == "quinn"
    assert body["full_name"] == "Quinn Adams"
    assert (body["must_change_password"], body["password_expired"], body["needs_user_id_to_sign"]) == (
        False,
        False,
        True,
    )
    assert body["password_expires_at"] is not None
    accounts.reset_password(api.app.unit_of_work(), "quinn", password=PASSWORD, actor="admin")
    api.tokens["quinn"] = accounts.issue_token(api.app.unit_of_work(), "quinn")  # the reset revoked the old one
    assert api.get("/api/v1/account", "quinn").json()["must_change_password"] is True


def test_the_bearer_token_is_the_api_signing_session(api: Api) -> None:
    first = api.post("/api/v1/test-sign", {"password": PASSWORD}, "quinn")
    assert error_of(first)[:2] == (401, "unauthorized")
    assert "user id" in error_of(first)[2]
    signed_once = api.post("/api/v1/test-sign", {"password": PASSWORD, "username": "quinn"}, "quinn")
    assert signed_once.status_code == 200, signed_once.text
    assert signed_once.json() == {
        "printed_name": "Quinn Adams",
        "username": "quinn",
        "meaning": "approved",
        "signed_at": signed_once.json()["signed_at"],
        "comment": None,
        "intact": True,
        "manifestation": signed_once.json()["manifestation"],
    }
    assert signed_once.json()["manifestation"].startswith("Signed by Quinn Adams (quinn) on ")
    assert api.get("/api/v1/account", "quinn").json()["needs_user_id_to_sign"] is False
    assert api.post("/api/v1/test-sign", {"password": PASSWORD}, "quinn").status_code == 200  # password alone
    # Another token of the same user is another session: both components again.
    api.tokens["quinn"] = accounts.issue_token(api.app.unit_of_work(), "quinn")
    assert api.post("/api/v1/test-sign", {"password": PASSWORD}, "quinn").status_code == 401


def test_the_api_refuses_signing_for_another_user_and_a_wrong_password(api: Api) -> None:
    other = api.post("/api/v1/test-sign", {"password": PASSWORD, "username": "ana"}, "quinn")
    assert error_of(other)[:2] == (403, "forbidden")
    wrong = api.post("/api/v1/test-sign", {"password": "wrong password!", "username": "quinn"}, "quinn")
    assert error_of(wrong)[:2] == (401, "unauthorized")
    assert "wrong password!" not in wrong.text
    with api.app.unit_of_work() as uow:
        assert uow.signatures.of(*RECORD) == []
        assert uow.users.get("quinn").failed_logins == 1  # type: ignore[union-attr]
    empty = api.post("/api/v1/test-sign", {"password": "", "username": "quinn"}, "quinn")
    assert empty.status_code == 422


# The web pages -------------------------------------------------------------------------------------------------


def _prompt_page(request: Request, prompt: SigningPrompt, status: int = 200) -> HTMLResponse:
    form = templates.env.get_template("_signature_form.html").render(signing=prompt)
    return HTMLResponse(f"<form>{form}</form>", status_code=status)


@pytest.fixture
def web(app: App, sample_text: str) -> Web:
    built = build_web(app, sample_text)
    _add_qa(app)
    router = APIRouter(route_class=PageRoute)

    @router.get("/test-sign")
    def show(request: Request, viewer: Annotated[Viewer, Depends(page(Action.REVIEW_QUALITY))]) -> HTMLResponse:
        return _prompt_page(request, signing_prompt(request, viewer, Meaning.APPROVED))

    @router.post("/test-sign")
    def post(request: Request, viewer: FormViewer, values: FormValues) -> Response:
        outcome = submit(
            values,
            SIGNATURE_FIELDS,
            lambda read: None,
            lambda _: signed(request, values, lambda credentials: _sign(app, viewer.identity.username, credentials)),
        )
        if isinstance(outcome, FormState):
            prompt = signing_prompt(request, viewer, Meaning.APPROVED, form=outcome)
            return _prompt_page(request, prompt, outcome.status)
        return PlainTextResponse("signed")

    built.asgi.include_router(router)
    return built


def _field_errors(response: object) -> dict[str, str]:
    text = getattr(response, "text", "")
    return {name: html.unescape(message) for name, message in FIELD_ERROR.findall(text)}


def test_a_page_asks_for_the_user_id_on_the_first_signing_of_a_session_only(web: Web) -> None:
    browser = web.browser("quinn")
    form = browser.get("/test-sign").text
    assert 'name="signature_username"' in form
    assert 'name="signature_password" type="password"' in form
    assert 'autocomplete="off"' in form
    assert "I approve this record" in form

    no_id = browser.submit("/test-sign", {"signature_password": PASSWORD})
    assert no_id.status_code == 422
    assert _field_errors(no_id) == {"sign-signature-username-error": signatures.USER_ID_NEEDED}
    assert PASSWORD not in no_id.text  # a password is never sent back

    ok = browser.submit("/test-sign", {"signature_username": "quinn", "signature_password": PASSWORD})
    assert (ok.status_code, ok.text) == (200, "signed")
    assert 'name="signature_username"' not in browser.get("/test-sign").text
    again = browser.submit("/test-sign", {"signature_password": PASSWORD})
    assert (again.status_code, again.text) == (200, "signed")

    browser.post("/logout", {"csrf_token": browser.csrf("/")})  # a new session: both components again
    assert browser.sign_in("quinn").status_code == 303
    assert 'name="signature_username"' in browser.get("/test-sign").text
    with web.app.unit_of_work() as uow:
        assert len(uow.signatures.of(*RECORD)) == 2


def test_a_page_refuses_a_wrong_password_another_users_id_and_a_missing_password(web: Web) -> None:
    browser = web.browser("quinn")
    wrong = browser.submit("/test-sign", {"signature_username": "quinn", "signature_password": "wrong password!"})
    assert wrong.status_code == 422  # shown in the form: not the sign-in page a page's Unauthorized would give
    assert _field_errors(wrong) == {"sign-signature-password-error": signatures.SIGNING_REFUSED}
    other = browser.submit("/test-sign", {"signature_username": "ana", "signature_password": PASSWORD})
    assert _field_errors(other) == {"sign-signature-username-error": signatures.SIGN_FOR_ANOTHER}
    missing = browser.submit("/test-sign", {"signature_username": "quinn"})
    assert "sign-signature-password-error" in _field_errors(missing)
    no_csrf = browser.post("/test-sign", {"signature_username": "quinn", "signature_password": PASSWORD})
    assert no_csrf.status_code == 403
    with web.app.unit_of_work() as uow:
        assert uow.signatures.of(*RECORD) == []
        assert uow.users.get("quinn").failed_logins == 1  # type: ignore[union-attr]


def test_the_signatures_partial_shows_every_signature_and_flags_a_broken_one() -> None:
    signature = Signature(
        *RECORD, "quinn", "Quinn <Adams>", Meaning.REVIEWED, signatures.utcnow(), content_hash(*RECORD, CONTENT)
    )
    template = templates.env.get_template("_signatures.html")
    intact = template.render(signature_views=signatures.views([signature], content_hash(*RECORD, CONTENT)))
    assert "Quinn &lt;Adams&gt;" in intact
    assert "reviewed" in intact
    assert "BROKEN" not in intact
    changed = content_hash(*RECORD, {"value": 43})
    broken = template.render(signature_views=signatures.views([signature], changed))
    assert "BROKEN: the record changed after signing" in broken
    assert "Not signed." in template.render(signature_views=[])
    assert isinstance(signatures.views([signature], changed)[0], SignatureView)


def test_changing_ones_password_on_the_page(web: Web) -> None:
    browser = web.browser("hx")  # any signed-in user, a sponsor's too
    page_text = browser.get("/account/password").text
    assert 'id="password-form"' in page_text
    response = browser.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert flash_of(browser.get(response.headers["location"])) is not None
    assert web.browser().sign_in("hx", password=NEW_PASSWORD).status_code == 303
    assert web.browser().sign_in("hx", password=PASSWORD).status_code == 401


@pytest.mark.parametrize(
    ("values", "status", "field"),
    [
        ({"current_password": "wrong password!", "new_password": NEW_PASSWORD}, 401, "current_password"),
        ({"current_password": PASSWORD, "new_password": "short"}, 422, "new_password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, 422, "new_password"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": "different one"}, 422, ""),
        ({"current_password": "", "new_password": NEW_PASSWORD}, 422, "current_password"),
    ],
)
def test_a_refused_password_change_on_the_page_says_why(
    web: Web, values: dict[str, str], status: int, field: str
) -> None:
    browser = web.browser("ana")
    data = {"confirm_password": values.get("new_password", ""), **values}
    response = browser.submit("/account/password", data)
    assert response.status_code == status
    errors = _field_errors(response)
    assert f"password-{field or 'confirm_password'}-error" in errors, errors
    assert PASSWORD not in response.text
    assert NEW_PASSWORD not in response.text
    assert browser.get("/").status_code == 200  # still signed in: a wrong current password is no sign-out
    assert browser.post("/account/password", {"current_password": PASSWORD}).status_code == 403  # no CSRF token


def test_a_reset_password_shows_a_banner_until_the_user_changes_it(web: Web) -> None:
    accounts.reset_password(web.app.unit_of_work(), "quinn", password=PASSWORD, actor="admin")
    browser = web.browser("quinn")
    dashboard = browser.get("/").text
    assert 'id="password-banner"' in dashboard
    assert 'href="/account/password"' in dashboard
    signing = browser.submit("/test-sign", {"signature_username": "quinn", "signature_password": PASSWORD})
    assert signing.status_code == 422
    assert _field_errors(signing) == {"sign-signature-password-error": signatures.CHANGE_PASSWORD_FIRST}
    assert 'href="/account/password">Change your password' in signing.text
    browser.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert 'id="password-banner"' not in browser.get("/").text
    signed_now = browser.submit("/test-sign", {"signature_username": "quinn", "signature_password": NEW_PASSWORD})
    assert signed_now.status_code == 200


def test_qa_sees_lockout_alerts_on_the_dashboard_and_a_planner_does_not(web: Web) -> None:
    assert 'id="security-alerts"' not in web.browser("quinn").get("/").text  # none yet
    for attempt in range(5):
        web.browser().sign_in("op", password=f"wrong password {attempt}")
    qa_dashboard = web.browser("quinn").get("/").text
    assert 'id="security-alerts"' in qa_dashboard
    assert "<strong>op</strong>" in qa_dashboard
    assert 'id="security-alerts"' not in web.browser("ana").get("/").text


def test_every_page_links_to_the_password_page(web: Web) -> None:
    browser: Browser = web.browser("vic")
    assert 'href="/account/password"' in browser.get("/").text
    assert 'id="password-banner"' not in browser.get("/").text


# The command line ------------------------------------------------------------------------------------------------


def test_the_cli_sets_a_printed_name_and_a_reset_forces_a_password_change(run: Run, database_url: str) -> None:
    run("init")
    added = run(
        "user", "add", "quinn", "--role", "qa", "--full-name", "Quinn Adams", "--password-stdin", stdin=PASSWORD
    )
    assert added.exit_code == 0, added.stderr
    too_long = run("user", "add", "bob", "--role", "qa", "--full-name", "x" * 121)
    assert too_long.exit_code != 0
    assert "full_name" in too_long.stderr
    reset = run("user", "reset-password", "quinn", "--password-stdin", stdin=PASSWORD)
    assert reset.exit_code == 0, reset.stderr
    assert "must change it before they can sign" in " ".join(reset.stdout.split())
    with bootstrap(Settings(database_url=database_url)) as application:
        status = accounts.account(application.unit_of_work(), "quinn")
        assert (status.full_name, status.must_change_password) == ("Quinn Adams", True)
        with pytest.raises(Forbidden, match="change your password"):
            signatures.authenticate(application.unit_of_work(), "quinn", Credentials(PASSWORD, "quinn"))
