"""Electronic signatures on the fakes: the content hash, the signature record, and the signing rules of Part 11
(§11.50 manifestation, §11.70 binding, §11.200 two components and signing sessions, §11.300 ageing, resets and
failed attempts)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from opencdmo import domain
from opencdmo.domain import Meaning, Role, Signature, content_hash
from opencdmo.domain.audit import AuditEvent
from opencdmo.errors import ConfigurationError, DomainError, Forbidden, InputError, Unauthorized
from opencdmo.services import accounts, signatures
from opencdmo.services.signatures import Credentials
from tests.fakes import FakeAccountsUnitOfWork

START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase of mine"
RECORD = ("master-batch-record", "Vial fill 10 mL/v2")
CONTENT: dict[str, Any] = {"steps": [{"name": "Fill", "target": 10.0}], "status": "in-review", "version": 2}


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow(clock: FakeClock) -> FakeAccountsUnitOfWork:
    unit = FakeAccountsUnitOfWork()
    unit.sponsors.add(domain.Sponsor("Helix Vaccines", id=2))
    unit.commit()
    accounts.add_user(unit, "quinn", Role.QA, password=PASSWORD, full_name="Quinn Adams", now=clock)
    accounts.add_user(unit, "pat", Role.QUALIFIED_PERSON, password=PASSWORD, now=clock)
    accounts.add_user(unit, "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD, now=clock)
    return unit


def _session(uow: FakeAccountsUnitOfWork, username: str, clock: FakeClock) -> str:
    return accounts.issue_session_token(uow, username, now=clock)


def _sign(
    uow: FakeAccountsUnitOfWork,
    signer: str,
    credentials: Credentials,
    clock: FakeClock,
    *,
    content: Mapping[str, Any] = CONTENT,
    meaning: Meaning = Meaning.APPROVED,
    comment: str | None = None,
) -> Signature:
    """A use case that signs, written the way the module's docstring says."""
    signatures.authenticate(uow, signer, credentials, now=clock)
    with uow:
        signature = signatures.seal(
            uow,
            signer=signer,
            meaning=meaning,
            record_type=RECORD[0],
            record_id=RECORD[1],
            content=content,
            comment=comment,
            now=clock,
        )
        uow.commit()
    return signature


def _events(uow: FakeAccountsUnitOfWork, action: str) -> list[AuditEvent]:
    return [event for event in uow.audit.items if event.action == action]


# The content hash (P11-15) ---------------------------------------------------------------------------------------


def test_the_hash_is_sha256_of_the_canonical_json_of_type_id_and_content() -> None:
    expected = hashlib.sha256(
        '{"content":{"a":"é","b":[1,2.5,true,null]},"record_id":"L-1","record_type":"batch"}'.encode()
    ).hexdigest()
    assert content_hash("batch", "L-1", {"b": [1, 2.5, True, None], "a": "é"}) == expected


def test_the_hash_binds_the_record_type_the_record_id_and_every_value() -> None:
    base = content_hash(*RECORD, CONTENT)
    assert content_hash(*RECORD, dict(reversed(list(CONTENT.items())))) == base  # key order does not matter
    changed = json.loads(json.dumps(CONTENT))
    changed["steps"][0]["target"] = 10.5
    assert content_hash(*RECORD, changed) != base
    assert content_hash("batch-record", RECORD[1], CONTENT) != base
    assert content_hash(RECORD[0], "Vial fill 10 mL/v3", CONTENT) != base
    assert content_hash(*RECORD, {**CONTENT, "version": "2"}) != base  # 2 and "2" differ


@pytest.mark.parametrize(
    "value",
    [datetime(2027, 1, 1, tzinfo=UTC), date(2027, 1, 1), Decimal("1.5"), {1, 2}, (1, 2), float("nan"), object()],
)
def test_only_json_plain_content_can_be_hashed(value: object) -> None:
    with pytest.raises(TypeError):
        content_hash(*RECORD, {"value": value})
    with pytest.raises(TypeError):
        content_hash(*RECORD, {"nested": [{"value": value}]})


def test_content_keys_must_be_text() -> None:
    with pytest.raises(TypeError, match="keys"):
        content_hash(*RECORD, {"steps": {1: "one"}})


# The signature record (P11-13) -----------------------------------------------------------------------------------


def _signature(**changes: object) -> Signature:
    fields: dict[str, object] = {
        "record_type": RECORD[0],
        "record_id": RECORD[1],
        "username": "quinn",
        "printed_name": "Quinn Adams",
        "meaning": Meaning.APPROVED,
        "signed_at": START,
        "content_hash": content_hash(*RECORD, CONTENT),
    }
    fields.update(changes)
    return Signature(**fields)  # type: ignore[arg-type]


def test_the_manifestation_shows_printed_name_user_time_and_meaning() -> None:
    signature = _signature(signed_at=datetime(2027, 3, 1, 10, 5, 9, tzinfo=UTC))
    assert signature.manifestation() == "Signed by Quinn Adams (quinn) on 2027-03-01 10:05:09 UTC — approved"
    assert [meaning.value for meaning in Meaning] == [
        "authored",
        "reviewed",
        "approved",
        "verified",
        "released",
        "rejected",
    ]


def test_a_signature_is_intact_only_for_the_content_it_was_given_over() -> None:
    signature = _signature()
    assert signature.is_intact(content_hash(*RECORD, CONTENT))
    assert not signature.is_intact(content_hash(*RECORD, {**CONTENT, "status": "approved"}))
    assert not signature.is_intact(content_hash(RECORD[0], "Other process/v1", CONTENT))  # moved: broken


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"content_hash": "abc"}, "content_hash"),
        ({"content_hash": "A" * 64}, "content_hash"),
        ({"signed_at": datetime(2027, 3, 1)}, "signed_at"),
        ({"meaning": "liked"}, "meaning"),
        ({"comment": "x" * 501}, "comment"),
        ({"printed_name": ""}, "printed_name"),
        ({"record_type": "x" * 61}, "record_type"),
        ({"record_id": ""}, "record_id"),
    ],
)
def test_bad_signatures_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        _signature(**changes)
    assert raised.value.field == field


def test_times_are_kept_in_utc_and_a_blank_comment_is_none() -> None:
    signature = _signature(
        signed_at=datetime.fromisoformat("2027-03-01T12:00:00+02:00"), comment="  ", meaning="released"
    )
    assert signature.signed_at == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    assert signature.comment is None
    assert signature.meaning is Meaning.RELEASED


# Users for signing ------------------------------------------------------------------------------------------------


def test_the_printed_name_defaults_to_the_username_and_is_bounded(uow: FakeAccountsUnitOfWork) -> None:
    assert uow.users.get("quinn") is not None
    assert uow.users.get("quinn").full_name == "Quinn Adams"  # type: ignore[union-attr]
    assert uow.users.get("pat").full_name == "pat"  # type: ignore[union-attr]
    with pytest.raises(DomainError) as raised:
        accounts.add_user(uow, "long", Role.QA, password=PASSWORD, full_name="x" * 121)
    assert raised.value.field == "full_name"


# Signing (P11-18, P11-19) -------------------------------------------------------------------------------------


def test_a_signature_stores_the_printed_name_the_hash_and_an_audit_event(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    token = _session(uow, "quinn", clock)
    signature = _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock, comment="Reviewed in full")
    assert uow.signatures.of(*RECORD) == [signature]
    assert (signature.username, signature.printed_name, signature.signed_at) == ("quinn", "Quinn Adams", START)
    assert signature.content_hash == content_hash(*RECORD, CONTENT)
    [event] = _events(uow, signatures.SIGN)
    assert (event.username, event.record_type, event.record_id, event.field) == ("quinn", *RECORD, "meaning")
    assert (event.new_value, event.reason) == ('"approved"', "Reviewed in full")
    view = signatures.views(uow.signatures.of(*RECORD), content_hash(*RECORD, CONTENT))[0]
    assert view.intact
    assert view.manifestation == signature.manifestation()
    changed = signatures.views(uow.signatures.of(*RECORD), content_hash(*RECORD, {**CONTENT, "version": 3}))
    assert not changed[0].intact


def test_a_wrong_password_fails_is_audited_and_counts_toward_the_lockout(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    token = _session(uow, "quinn", clock)
    for attempt in range(domain.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized, match="refused"):
            _sign(uow, "quinn", Credentials("wrong password!", "quinn", token), clock)
        assert len(_events(uow, accounts.SIGN_IN_FAILED)) == attempt + 1
    assert uow.signatures.items == []
    quinn = uow.users.get("quinn")
    assert quinn is not None
    assert quinn.is_locked(clock())
    # Locked: neither the right password signs nor does it sign in, and QA is alerted once.
    with pytest.raises(Unauthorized):
        _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock)
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, "quinn", PASSWORD, now=clock)
    [alert] = _events(uow, accounts.ALERT)
    assert (alert.record_type, alert.record_id) == ("user", "quinn")
    assert alert.reason is not None
    assert "locked" in alert.reason
    assert accounts.recent_alerts(uow, START - timedelta(days=7)) == [alert]
    assert accounts.recent_alerts(uow, START + timedelta(seconds=1)) == []


def test_signing_failures_and_sign_in_failures_share_one_count(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    token = _session(uow, "quinn", clock)
    for _ in range(domain.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthorized):
            accounts.authenticate(uow, "quinn", "wrong password!", now=clock)
    with pytest.raises(Unauthorized):
        _sign(uow, "quinn", Credentials("wrong password!", "quinn", token), clock)
    assert uow.users.get("quinn").is_locked(clock())  # type: ignore[union-attr]


def test_nobody_can_sign_for_another_user(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    quinn_session = _session(uow, "quinn", clock)
    pat_session = _session(uow, "pat", clock)
    with pytest.raises(Forbidden, match="another user"):  # quinn's own session, pat's user id and password
        _sign(uow, "quinn", Credentials(PASSWORD, "pat", quinn_session), clock)
    with pytest.raises(Forbidden, match="another user"):  # pat's session used to sign as quinn
        _sign(uow, "quinn", Credentials(PASSWORD, "quinn", pat_session), clock)
    assert uow.signatures.items == []
    assert _events(uow, accounts.SIGN_IN_FAILED) == []  # refused before any password was tried


def test_the_first_signing_of_a_session_needs_the_user_id_later_ones_only_the_password(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    token = _session(uow, "quinn", clock)
    assert signatures.needs_user_id(uow, token, now=clock)
    with pytest.raises(Unauthorized, match="user id"):
        _sign(uow, "quinn", Credentials(PASSWORD, None, token), clock)
    _sign(uow, "quinn", Credentials(PASSWORD, " Quinn ", token), clock)  # the user id as typed
    assert not signatures.needs_user_id(uow, token, now=clock)

    clock.advance(signatures.SIGNING_TIMEOUT)  # a continuous session: the password alone is enough
    _sign(uow, "quinn", Credentials(PASSWORD, None, token), clock, meaning=Meaning.REVIEWED)
    clock.advance(signatures.SIGNING_TIMEOUT + timedelta(seconds=1))  # too long since the last signing
    assert signatures.needs_user_id(uow, token, now=clock)
    with pytest.raises(Unauthorized, match="user id"):
        _sign(uow, "quinn", Credentials(PASSWORD, None, token), clock)
    _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock)
    assert len(uow.signatures.of(*RECORD)) == 3


def test_after_signing_out_a_new_session_needs_the_user_id_again(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    token = _session(uow, "quinn", clock)
    _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock)
    accounts.revoke_token(uow, token)  # signing out
    assert signatures.needs_user_id(uow, token, now=clock)
    with pytest.raises(Unauthorized, match="user id"):
        _sign(uow, "quinn", Credentials(PASSWORD, None, token), clock)
    fresh = _session(uow, "quinn", clock)
    assert signatures.needs_user_id(uow, fresh, now=clock)
    with pytest.raises(Unauthorized, match="user id"):
        _sign(uow, "quinn", Credentials(PASSWORD, None, fresh), clock)
    with pytest.raises(Unauthorized, match="user id"):  # no session known: always both components
        _sign(uow, "quinn", Credentials(PASSWORD, None, None), clock)
    assert signatures.needs_user_id(uow, None, now=clock)


def test_sponsor_and_inactive_users_cannot_sign(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    with pytest.raises(Forbidden, match="staff"):
        _sign(uow, "hx", Credentials(PASSWORD, "hx", None), clock)
    accounts.deactivate(uow, "pat")
    with pytest.raises(Unauthorized):
        _sign(uow, "pat", Credentials(PASSWORD, "pat", None), clock)
    with uow, pytest.raises(Forbidden, match="staff"):  # seal refuses too, whoever forgot to authenticate
        signatures.seal(uow, signer="hx", meaning=Meaning.APPROVED, record_type="x", record_id="y", content={})
    assert uow.signatures.items == []


# Resets and ageing (P11-19, P11-21) ------------------------------------------------------------------------------


def test_an_administrators_reset_blocks_signing_until_the_user_changes_the_password(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    accounts.reset_password(uow, "quinn", password=PASSWORD, actor="admin")
    token = _session(uow, "quinn", clock)
    assert accounts.resolve_token(uow, token, now=clock).password_change_due
    with pytest.raises(Forbidden, match="change your password"):
        _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock)
    assert accounts.authenticate(uow, "quinn", PASSWORD, now=clock).username == "quinn"  # still signs in

    accounts.change_password(uow, "quinn", PASSWORD, NEW_PASSWORD, now=clock)
    assert not accounts.resolve_token(uow, token, now=clock).password_change_due
    _sign(uow, "quinn", Credentials(NEW_PASSWORD, "quinn", token), clock)
    assert len(uow.signatures.items) == 1


def test_an_aged_password_blocks_signing_until_it_is_changed(
    uow: FakeAccountsUnitOfWork, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(accounts.PASSWORD_MAX_AGE_VARIABLE, "30")
    clock.advance(timedelta(days=30))
    token = _session(uow, "quinn", clock)
    assert accounts.account(uow, "quinn", now=clock).password_expired
    with pytest.raises(Forbidden, match="change your password"):
        _sign(uow, "quinn", Credentials(PASSWORD, "quinn", token), clock)
    accounts.change_password(uow, "quinn", PASSWORD, NEW_PASSWORD, now=clock)
    status = accounts.account(uow, "quinn", now=clock)
    assert (status.password_changed_at, status.password_expires_at) == (clock(), clock() + timedelta(days=30))
    _sign(uow, "quinn", Credentials(NEW_PASSWORD, "quinn", token), clock)

    monkeypatch.setenv(accounts.PASSWORD_MAX_AGE_VARIABLE, "0")  # 0: passwords never age
    clock.advance(timedelta(days=3650))
    _sign(uow, "quinn", Credentials(NEW_PASSWORD, "quinn", token), clock)
    assert len(uow.signatures.items) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", timedelta(days=90)), ("45", timedelta(days=45)), ("0", None), (" 7 ", timedelta(days=7))],
)
def test_the_password_max_age_is_configured_in_days(text: str, expected: timedelta | None) -> None:
    assert accounts.password_max_age({accounts.PASSWORD_MAX_AGE_VARIABLE: text}) == expected


@pytest.mark.parametrize("text", ["-1", "ninety", "1.5", "99999"])
def test_a_bad_password_max_age_names_the_variable(text: str) -> None:
    with pytest.raises(ConfigurationError, match=accounts.PASSWORD_MAX_AGE_VARIABLE):
        accounts.password_max_age({accounts.PASSWORD_MAX_AGE_VARIABLE: text})


def test_the_signing_timeout_is_configured_in_minutes() -> None:
    assert signatures.signing_timeout({}) == timedelta(minutes=15)
    assert signatures.signing_timeout({signatures.SIGNING_TIMEOUT_VARIABLE: "5"}) == timedelta(minutes=5)
    for text in ("0", "-5", "soon", "100000"):
        with pytest.raises(ConfigurationError, match=signatures.SIGNING_TIMEOUT_VARIABLE):
            signatures.signing_timeout({signatures.SIGNING_TIMEOUT_VARIABLE: text})


def test_a_bad_signing_timeout_refuses_every_signing_but_stops_nothing_else(
    uow: FakeAccountsUnitOfWork, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signatures, "_TIMEOUT_PROBLEM", f"{signatures.SIGNING_TIMEOUT_VARIABLE}: expected minutes")
    with pytest.raises(ConfigurationError, match=signatures.SIGNING_TIMEOUT_VARIABLE):
        _sign(uow, "quinn", Credentials(PASSWORD, "quinn", None), clock)
    assert accounts.authenticate(uow, "quinn", PASSWORD, now=clock).username == "quinn"


# Changing one's password ----------------------------------------------------------------------------------------


def test_changing_the_password_checks_the_current_one_and_refuses_the_same_again(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    with pytest.raises(Unauthorized, match="current password"):
        accounts.change_password(uow, "quinn", "wrong password!", NEW_PASSWORD, now=clock)
    assert uow.users.get("quinn").failed_logins == 1  # type: ignore[union-attr]
    with pytest.raises(InputError, match="differ"):
        accounts.change_password(uow, "quinn", PASSWORD, PASSWORD, now=clock)
    with pytest.raises(InputError, match="at least"):
        accounts.change_password(uow, "quinn", PASSWORD, "short", now=clock)
    with pytest.raises(Unauthorized):
        accounts.change_password(uow, "nobody", PASSWORD, NEW_PASSWORD, now=clock)
    accounts.change_password(uow, "quinn", PASSWORD, NEW_PASSWORD, now=clock)
    assert accounts.authenticate(uow, "quinn", NEW_PASSWORD, now=clock).username == "quinn"
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, "quinn", PASSWORD, now=clock)
    [event] = _events(uow, accounts.CHANGE_PASSWORD)
    assert (event.username, event.record_type, event.record_id) == ("quinn", "user", "quinn")
    every_value = " ".join(f"{e.old_value} {e.new_value} {e.reason}" for e in uow.audit.items)
    assert PASSWORD not in every_value
    assert NEW_PASSWORD not in every_value


# Failed sign-ins in the audit trail (P11-23) ---------------------------------------------------------------------


def test_every_failed_sign_in_is_audited_and_a_lockout_raises_one_alert(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    attempted = "x" * 80
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, attempted, PASSWORD, now=clock)
    for _ in range(domain.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized):
            accounts.authenticate(uow, "pat", "wrong password!", now=clock)
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, "pat", PASSWORD, now=clock)  # locked
    failed = _events(uow, accounts.SIGN_IN_FAILED)
    assert [(event.record_type, event.record_id) for event in failed] == [("sign-in", "x" * 60)] + [("user", "pat")] * (
        domain.MAX_FAILED_LOGINS + 1
    )
    assert [event.reason for event in failed[-2:]] == ["wrong password", "account locked"]
    assert all(event.username == "system" for event in failed)
    [alert] = _events(uow, accounts.ALERT)
    assert alert.record_id == "pat"
    assert json.loads(alert.new_value or "{}")["locked_until"].startswith("2027-03-01T08:15")


def test_security_alerts_are_for_staff_only(uow: FakeAccountsUnitOfWork) -> None:
    uow.sponsor_id = 2
    with pytest.raises(Forbidden):
        accounts.recent_alerts(uow, START)
    uow.sponsor_id = None
    with pytest.raises(InputError, match="time zone"):
        accounts.recent_alerts(uow, datetime(2027, 1, 1))


def test_credentials_never_show_the_password() -> None:
    assert PASSWORD not in repr(Credentials(PASSWORD, "quinn", "token"))
