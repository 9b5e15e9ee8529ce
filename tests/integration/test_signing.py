"""Electronic signatures on SQLite and PostgreSQL: stored and read in signing order, append-only in the database,
signing sessions and password state stored, failed attempts and lockout alerts in the audit trail, and the
migration of existing accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from opencdmo import domain
from opencdmo.adapters import db
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.domain import Meaning, Role, content_hash
from opencdmo.errors import Forbidden, Unauthorized
from opencdmo.services import accounts, audit, signatures
from opencdmo.services.signatures import Credentials

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase of mine"
RECORD_TYPE = "master-batch-record"
CONTENT = {"steps": [{"name": "Fill", "target": 10.0}], "version": 2}


@pytest.fixture
def staffed(app: App) -> App:
    accounts.add_user(app.unit_of_work(), "quinn", Role.QA, password=PASSWORD, full_name="Quinn Adams")
    accounts.add_user(app.unit_of_work(), "pat", Role.QUALIFIED_PERSON, password=PASSWORD, full_name="Pat Lee")
    return app


def _sign(app: App, signer: str, record_id: str, credentials: Credentials, meaning: Meaning = Meaning.APPROVED) -> None:
    signatures.authenticate(app.unit_of_work(), signer, credentials)
    uow = app.unit_of_work()
    with uow:
        signatures.seal(
            uow, signer=signer, meaning=meaning, record_type=RECORD_TYPE, record_id=record_id, content=CONTENT
        )
        uow.commit()


def _signed(app: App) -> None:
    """Three signatures on two records: quinn reviews and approves P/v1 (one session), pat approves P/v2."""
    quinn = accounts.issue_session_token(app.unit_of_work(), "quinn")
    _sign(app, "quinn", "P/v1", Credentials(PASSWORD, "quinn", quinn), Meaning.REVIEWED)
    _sign(app, "quinn", "P/v1", Credentials(PASSWORD, None, quinn))
    _sign(app, "pat", "P/v2", Credentials(PASSWORD, "pat", None))


def test_signatures_round_trip_in_signing_order(staffed: App) -> None:
    _signed(staffed)
    uow = staffed.unit_of_work()
    with uow:
        first = uow.signatures.of(RECORD_TYPE, "P/v1")
        many = uow.signatures.of_many(RECORD_TYPE, ["P/v1", "P/v2", "P/v3"])
        other_type = uow.signatures.of("batch-record", "P/v1")
    assert [(s.username, s.printed_name, s.meaning) for s in first] == [
        ("quinn", "Quinn Adams", Meaning.REVIEWED),
        ("quinn", "Quinn Adams", Meaning.APPROVED),
    ]
    assert first[0].signed_at.tzinfo is UTC
    assert first[0].signed_at <= first[1].signed_at
    assert all(s.content_hash == content_hash(RECORD_TYPE, "P/v1", CONTENT) for s in first)
    assert sorted(many) == ["P/v1", "P/v2"]
    assert [s.printed_name for s in many["P/v2"]] == ["Pat Lee"]
    assert other_type == []
    views = signatures.views(first, content_hash(RECORD_TYPE, "P/v1", CONTENT))
    assert [view.intact for view in views] == [True, True]
    events = audit.search(staffed.unit_of_work(), audit.AuditQuery(record_type=RECORD_TYPE))
    assert [(e.username, e.action, e.record_id, e.new_value) for e in events] == [
        ("quinn", "sign", "P/v1", '"reviewed"'),
        ("quinn", "sign", "P/v1", '"approved"'),
        ("pat", "sign", "P/v2", '"approved"'),
    ]


def test_of_many_reads_any_number_of_records(staffed: App) -> None:
    _signed(staffed)
    wanted = [f"P/v{number}" for number in range(1, 1201)]
    with staffed.unit_of_work() as uow:
        found = uow.signatures.of_many(RECORD_TYPE, wanted)
    assert {key: len(value) for key, value in found.items()} == {"P/v1": 2, "P/v2": 1}


def test_the_signing_session_is_stored_on_the_token(staffed: App) -> None:
    token = accounts.issue_session_token(staffed.unit_of_work(), "quinn")
    assert signatures.needs_user_id(staffed.unit_of_work(), token)
    with pytest.raises(Unauthorized, match="user id"):
        _sign(staffed, "quinn", "P/v1", Credentials(PASSWORD, None, token))
    _sign(staffed, "quinn", "P/v1", Credentials(PASSWORD, "quinn", token))
    assert not signatures.needs_user_id(staffed.unit_of_work(), token)
    later = datetime.now(UTC) + signatures.SIGNING_TIMEOUT + timedelta(seconds=5)
    assert signatures.needs_user_id(staffed.unit_of_work(), token, now=lambda: later)
    with staffed.unit_of_work() as uow:
        [stored] = uow.tokens.of_user(uow.users.get("quinn"))  # type: ignore[arg-type]
        assert stored.last_signed_at is not None
        assert stored.last_signed_at.tzinfo is UTC


def test_a_sponsor_scope_may_not_sign(staffed: App) -> None:
    uow = staffed.unit_of_work(Scope(sponsor_id=1))
    with uow, pytest.raises(Forbidden):
        uow.signatures.add(
            domain.Signature(RECORD_TYPE, "P/v1", "quinn", "Quinn", Meaning.APPROVED, datetime.now(UTC), "0" * 64)
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE signatures SET printed_name = 'Someone Else'",
        "UPDATE signatures SET record_id = 'P/v9' WHERE record_id = 'P/v2'",
        "DELETE FROM signatures WHERE record_id = 'P/v2'",
        "DELETE FROM signatures",
    ],
)
def test_the_database_refuses_to_change_or_delete_signatures(staffed: App, statement: str) -> None:
    _signed(staffed)
    with pytest.raises(DBAPIError, match="append-only"), staffed.engine.begin() as connection:
        connection.execute(text(statement))
    with staffed.unit_of_work() as uow:
        assert [s.printed_name for s in uow.signatures.of(RECORD_TYPE, "P/v2")] == ["Pat Lee"]
        assert len(uow.signatures.of(RECORD_TYPE, "P/v1")) == 2


def test_postgresql_refuses_to_truncate_signatures(staffed: App) -> None:
    if staffed.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _signed(staffed)
    with pytest.raises(DBAPIError, match="append-only"), staffed.engine.begin() as connection:
        connection.execute(text("TRUNCATE signatures"))


def test_a_reset_is_stored_and_blocks_signing_until_the_password_is_changed(staffed: App) -> None:
    accounts.reset_password(staffed.unit_of_work(), "quinn", password=PASSWORD, actor="admin")
    with pytest.raises(Forbidden, match="change your password"):
        _sign(staffed, "quinn", "P/v1", Credentials(PASSWORD, "quinn", None))
    accounts.change_password(staffed.unit_of_work(), "quinn", PASSWORD, NEW_PASSWORD)
    with staffed.unit_of_work() as uow:
        quinn = uow.users.get("quinn")
        assert quinn is not None
        assert not quinn.must_change_password
        assert quinn.password_changed_at is not None
        assert quinn.password_changed_at.tzinfo is UTC
    _sign(staffed, "quinn", "P/v1", Credentials(NEW_PASSWORD, "quinn", None))
    actions = [e.action for e in audit.search(staffed.unit_of_work(), audit.AuditQuery(record_id="quinn"))]
    assert actions == ["create", "reset-password", "change-password"]


def test_failed_attempts_and_the_lockout_alert_are_in_the_audit_trail(staffed: App) -> None:
    before = datetime.now(UTC)
    known = len(audit.search(staffed.unit_of_work(), audit.AuditQuery()))
    with pytest.raises(Unauthorized):
        accounts.authenticate(staffed.unit_of_work(), "mallory", PASSWORD)
    for _ in range(domain.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthorized):
            accounts.authenticate(staffed.unit_of_work(), "pat", "wrong password!")
    with pytest.raises(Unauthorized):  # the fifth, when signing: locks the account
        _sign(staffed, "pat", "P/v1", Credentials("wrong password!", "pat", None))
    events = audit.search(staffed.unit_of_work(), audit.AuditQuery())[known:]
    assert [(e.action, e.record_type, e.record_id) for e in events] == [
        ("sign-in-failed", "sign-in", "mallory"),
        *[("sign-in-failed", "user", "pat")] * domain.MAX_FAILED_LOGINS,
        ("alert", "user", "pat"),
    ]
    assert audit.verify(staffed.unit_of_work()).intact
    [alert] = accounts.recent_alerts(staffed.unit_of_work(), before)
    assert alert.record_id == "pat"
    with pytest.raises(Forbidden):
        accounts.recent_alerts(staffed.unit_of_work(Scope(sponsor_id=1)), before)


def test_the_migration_gives_existing_users_their_username_as_printed_name(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, "a7c3d91e5b20")  # the revision before signatures
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, role, password_hash, created_at, active, failed_logins) "
                "VALUES ('old.timer', 'qa', 'x', '2026-01-01 00:00:00', true, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at, revoked) "
                "SELECT id, 'abc', '2026-01-01 00:00:00', '2026-02-01 00:00:00', false FROM users"
            )
        )
    db.upgrade(empty_engine, "b3d5f7a9c1e2")
    with empty_engine.connect() as connection:
        user = connection.execute(text("SELECT full_name, must_change_password, password_changed_at FROM users")).one()
        token = connection.execute(text("SELECT token_hash, last_signed_at FROM api_tokens")).one()
    assert (user[0], bool(user[1]), user[2]) == ("old.timer", False, None)
    assert tuple(token) == ("abc", None)

    command.downgrade(db.alembic_config(empty_engine), "a7c3d91e5b20")  # and back, keeping the accounts
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM users")).scalar_one() == "old.timer"
        assert "signatures" not in inspect(connection).get_table_names()
    db.upgrade(empty_engine)  # and on to the newest revision
    assert db.schema_is_current(empty_engine)
