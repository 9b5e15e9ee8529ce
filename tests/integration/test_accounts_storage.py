"""Accounts on SQLite and PostgreSQL: users and tokens round-trip, scope filters users, replace refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.errors import Conflict, Forbidden, Unauthorized
from opencdmo.services import accounts, scenarios

PASSWORD = "correct horse battery staple"


@pytest.fixture
def loaded(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    return app


def _sponsor_id(app: App, name: str) -> int:
    sponsor = next(item for item in scenarios.export_scenario(app.unit_of_work()).sponsors if item.name == name)
    assert sponsor.id is not None
    return sponsor.id


def test_users_and_tokens_round_trip(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    identity = accounts.authenticate(loaded.unit_of_work(), "hx", PASSWORD)
    assert identity.sponsor_id == _sponsor_id(loaded, "Helix Vaccines")
    token = accounts.issue_token(loaded.unit_of_work(), "hx", expires_days=1)
    assert accounts.resolve_token(loaded.unit_of_work(), token) == identity
    with loaded.unit_of_work() as uow:
        user = uow.users.get("hx")
        assert user is not None
        assert user.sponsor is not None
        assert user.sponsor.name == "Helix Vaccines"
        assert user.created_at.tzinfo is UTC
        [stored] = uow.tokens.of_user(user)
        assert stored.token_hash == accounts.token_digest(token)
        assert stored.expires_at - stored.created_at == timedelta(days=1)


def test_failed_logins_and_lockout_are_stored(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "ana", Role.PLANNER, password=PASSWORD)
    for _ in range(domain.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized):
            accounts.authenticate(loaded.unit_of_work(), "ana", "wrong password!")
    with loaded.unit_of_work() as uow:
        user = uow.users.get("ana")
        assert user is not None
        assert user.locked_until is not None
        assert user.is_locked(datetime.now(UTC))
    with pytest.raises(Unauthorized):
        accounts.authenticate(loaded.unit_of_work(), "ana", PASSWORD)


def test_revocation_and_deactivation_are_stored(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "ana", Role.PLANNER, password=PASSWORD)
    token = accounts.issue_token(loaded.unit_of_work(), "ana")
    accounts.revoke_token(loaded.unit_of_work(), token)
    with pytest.raises(Unauthorized):
        accounts.resolve_token(loaded.unit_of_work(), token)
    other = accounts.issue_token(loaded.unit_of_work(), "ana")
    accounts.deactivate(loaded.unit_of_work(), "ana")
    with pytest.raises(Unauthorized):
        accounts.resolve_token(loaded.unit_of_work(), other)
    with loaded.unit_of_work() as uow:
        user = uow.users.get("ana")
        assert user is not None
        assert not user.active


def test_a_sponsor_scope_sees_only_its_own_users_and_may_add_none(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "ana", Role.PLANNER, password=PASSWORD)
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    accounts.add_user(loaded.unit_of_work(), "nw", Role.SPONSOR, sponsor_name="Northwind Biologics", password=PASSWORD)
    helix = Scope(sponsor_id=_sponsor_id(loaded, "Helix Vaccines"))
    with loaded.unit_of_work(helix) as uow:
        assert [user.username for user in uow.users.list()] == ["hx"]
        assert uow.users.get("nw") is None
        assert uow.users.get("ana") is None
    with pytest.raises(Forbidden):
        accounts.add_user(loaded.unit_of_work(helix), "hx2", Role.VIEWER, password=PASSWORD)


def test_staff_users_survive_a_replacing_import(loaded: App, sample_text: str) -> None:
    accounts.add_user(loaded.unit_of_work(), "ana", Role.PLANNER, password=PASSWORD)
    scenarios.import_scenario(loaded.unit_of_work(), scenario_file.parse_scenario(sample_text), replace=True)
    assert accounts.authenticate(loaded.unit_of_work(), "ana", PASSWORD).role is Role.PLANNER


def test_a_replacing_import_refuses_while_sponsor_users_exist_and_changes_nothing(
    loaded: App, sample_text: str
) -> None:
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    before = scenario_file.dump_scenario(scenarios.export_scenario(loaded.unit_of_work()))
    without_helix = scenario_file.parse_scenario(sample_text.replace("Helix Vaccines", "Helix Biologics"))
    with pytest.raises(Conflict, match=r"without the sponsor\(s\) Helix Vaccines: sponsor users exist \(hx\)"):
        scenarios.import_scenario(loaded.unit_of_work(), without_helix, replace=True)
    assert scenario_file.dump_scenario(scenarios.export_scenario(loaded.unit_of_work())) == before
    assert accounts.authenticate(loaded.unit_of_work(), "hx", PASSWORD).role is Role.SPONSOR


def test_usernames_are_unique_in_the_database(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "ana", Role.PLANNER, password=PASSWORD)
    with loaded.unit_of_work() as uow:
        uow.users.add(domain.User("ana", Role.VIEWER, password_hash="$argon2id$x", created_at=datetime.now(UTC)))
        with pytest.raises(Conflict):
            uow.commit()
