"""Re-importing with users present, and the demo users, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.demo.users import (
    FULL_NAMES,
    STAFF_ROLES,
    Outcome,
    demo_users,
    ensure_demo_users,
    signing_passwords,
    sponsor_username,
    staff_users,
)
from opencdmo.domain import Role
from opencdmo.errors import Conflict, Unauthorized
from opencdmo.services import accounts, scenarios, signatures
from opencdmo.services.signatures import Credentials

PASSWORD = "correct horse battery staple"


@pytest.fixture
def loaded(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    return app


def _sponsors(app: App) -> dict[str, domain.Sponsor]:
    return {sponsor.name: sponsor for sponsor in scenarios.export_scenario(app.unit_of_work()).sponsors}


# Replacing the network while users exist -----------------------------------------------------------------------


def test_a_replace_keeps_the_sponsors_it_names_so_their_users_stay_bound(loaded: App, sample_text: str) -> None:
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    helix_before = _sponsors(loaded)["Helix Vaccines"]
    assert helix_before.size is domain.SponsorSize.SMALL
    bigger = sample_text.replace("  - name: Helix Vaccines\n    size: small", "  - name: Helix Vaccines\n    size: mid")
    assert bigger != sample_text

    counts = scenarios.import_scenario(loaded.unit_of_work(), scenario_file.parse_scenario(bigger), replace=True)

    assert counts["sponsors"] == 2
    helix = _sponsors(loaded)["Helix Vaccines"]
    assert helix.id == helix_before.id
    assert helix.size is domain.SponsorSize.MID
    identity = accounts.authenticate(loaded.unit_of_work(), "hx", PASSWORD)
    assert identity.sponsor_id == helix.id
    with loaded.unit_of_work(Scope(sponsor_id=identity.sponsor_id)) as uow:
        orders = uow.orders.list()
        assert orders
        assert {order.sponsor.name for order in orders} == {"Helix Vaccines"}
        assert all(batch.sponsor.id == helix.id for order in orders for batch in order.batches)


def test_a_replace_may_drop_a_sponsor_without_users(loaded: App, sample_text: str) -> None:
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    renamed = sample_text.replace("Northwind Biologics", "Southwind Biologics")
    scenarios.import_scenario(loaded.unit_of_work(), scenario_file.parse_scenario(renamed), replace=True)
    assert set(_sponsors(loaded)) == {"Southwind Biologics", "Helix Vaccines"}


def test_a_replace_that_drops_a_sponsor_with_users_is_refused_and_names_both(loaded: App, sample_text: str) -> None:
    accounts.add_user(loaded.unit_of_work(), "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    accounts.add_user(loaded.unit_of_work(), "nw", Role.SPONSOR, sponsor_name="Northwind Biologics", password=PASSWORD)
    before = scenario_file.dump_scenario(scenarios.export_scenario(loaded.unit_of_work()))
    without_northwind = scenario_file.parse_scenario(sample_text.replace("Northwind Biologics", "Southwind Biologics"))
    with pytest.raises(Conflict) as refused:
        scenarios.import_scenario(loaded.unit_of_work(), without_northwind, replace=True)
    message = str(refused.value)
    assert "without the sponsor(s) Northwind Biologics" in message
    assert "(nw)" in message
    assert "hx" not in message
    assert scenario_file.dump_scenario(scenarios.export_scenario(loaded.unit_of_work())) == before


# Demo users ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "username"),
    [
        ("Helix Vaccines", "helix-vaccines"),
        ("Ångström Bio & Co.", "angstrom-bio-co"),
        ("株式会社", "sponsor-user"),
        ("X" * 80, "x" * 60),
    ],
)
def test_sponsor_usernames_are_valid_login_names(name: str, username: str) -> None:
    assert sponsor_username(name) == username


def test_demo_users_never_share_a_name() -> None:
    wanted = demo_users(["QA", "Qa", "Third Sponsor"])
    assert [user.username for user in wanted][-2:] == ["qa-1", "qa-2"]
    assert len({user.username for user in wanted}) == len(wanted) == len(STAFF_ROLES) + 2 + 2


def test_the_demo_staff_are_one_per_role_and_a_second_operator_and_analyst_with_full_names() -> None:
    staff = staff_users()
    assert [user.username for user in staff] == [*(role.value for role in STAFF_ROLES), "operator-2", "qc-analyst-2"]
    assert [user.role for user in staff[-2:]] == [Role.OPERATOR, Role.QC_ANALYST]
    names = [user.full_name for user in staff]
    assert all(names)
    assert len(set(names)) == len(names)


def test_demo_users_get_a_generated_password_each_that_signs_in(loaded: App) -> None:
    logins = ensure_demo_users(loaded.unit_of_work())

    sponsors = list(_sponsors(loaded))[:2]
    assert [(login.username, login.role, login.sponsor) for login in logins] == [
        *((user.username, user.role, None) for user in staff_users()),
        (sponsor_username(sponsors[0]), Role.SPONSOR, sponsors[0]),
        (sponsor_username(sponsors[1]), Role.SPONSOR, sponsors[1]),
    ]
    assert {login.outcome for login in logins} == {Outcome.CREATED}
    passwords = [login.password for login in logins]
    assert all(password and len(password) >= accounts.MIN_PASSWORD_LENGTH for password in passwords)
    assert len(set(passwords)) == len(passwords)
    for login in logins:
        assert login.password is not None
        identity = accounts.authenticate(loaded.unit_of_work(), login.username, login.password)
        assert identity.role is login.role
        assert (identity.sponsor_id is None) == (login.sponsor is None)
    assert accounts.account(loaded.unit_of_work(), "operator-2").full_name == FULL_NAMES["operator-2"]
    assert accounts.account(loaded.unit_of_work(), "qa").full_name == "Quentin Hale"


def test_running_it_again_resets_passwords_and_reactivates_no_one(loaded: App) -> None:
    first = {login.username: login for login in ensure_demo_users(loaded.unit_of_work())}
    accounts.deactivate(loaded.unit_of_work(), "viewer")
    token = accounts.issue_token(loaded.unit_of_work(), "planner")

    second = {login.username: login for login in ensure_demo_users(loaded.unit_of_work())}

    assert second.keys() == first.keys()
    assert second["viewer"].outcome is Outcome.DEACTIVATED
    assert second["viewer"].password is None
    with loaded.unit_of_work() as uow:
        viewer = uow.users.get("viewer")
        assert viewer is not None
        assert not viewer.active
    for username, login in second.items():
        if username == "viewer":
            continue
        assert login.outcome is Outcome.RESET
        old, new = first[username].password, login.password
        assert old is not None
        assert new is not None
        assert new != old
        with pytest.raises(Unauthorized):
            accounts.authenticate(loaded.unit_of_work(), username, old)
        assert accounts.authenticate(loaded.unit_of_work(), username, new).username == username
    with pytest.raises(Unauthorized):  # a reset revokes the tokens issued before it
        accounts.resolve_token(loaded.unit_of_work(), token)


def test_a_user_with_a_demo_name_but_another_role_is_left_alone(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "admin", Role.VIEWER, password=PASSWORD)
    logins = {login.username: login for login in ensure_demo_users(loaded.unit_of_work())}
    assert logins["admin"].outcome is Outcome.DIFFERENT
    assert logins["admin"].role is Role.VIEWER
    assert logins["admin"].password is None
    assert accounts.authenticate(loaded.unit_of_work(), "admin", PASSWORD).role is Role.VIEWER


def test_demo_users_survive_a_replace_of_the_same_network(loaded: App, sample_text: str) -> None:
    logins = ensure_demo_users(loaded.unit_of_work())
    scenarios.import_scenario(loaded.unit_of_work(), scenario_file.parse_scenario(sample_text), replace=True)
    for login in logins:
        assert login.password is not None
        identity = accounts.authenticate(loaded.unit_of_work(), login.username, login.password)
        if login.sponsor is not None:
            assert identity.sponsor_id == _sponsors(loaded)[login.sponsor].id


# Signing passwords for the quality demo ---------------------------------------------------------------------------


def _can_sign(app: App, username: str, password: str) -> None:
    signatures.authenticate(app.unit_of_work(), username, Credentials(password=password, username=username))


def test_signing_passwords_add_the_missing_staff_and_renew_the_others(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "qa", Role.QA, password=PASSWORD)
    passwords = signing_passwords(loaded.unit_of_work(), ["qa", "operator-2"])

    assert set(passwords) == {"qa", "operator-2"}
    for username, password in passwords.items():
        _can_sign(loaded, username, password)  # a reset password would be refused: it was changed at once
    with pytest.raises(Unauthorized):
        accounts.authenticate(loaded.unit_of_work(), "qa", PASSWORD)
    with loaded.unit_of_work() as uow:
        assert uow.users.get("planner") is None  # only the staff asked for
        second = uow.users.get("operator-2")
        assert second is not None
        assert second.full_name == FULL_NAMES["operator-2"]


def test_signing_passwords_refuse_a_user_of_the_demo_name_but_another_role(loaded: App) -> None:
    accounts.add_user(loaded.unit_of_work(), "qa", Role.VIEWER, password=PASSWORD)
    with pytest.raises(Conflict, match="not the demo's qa"):
        signing_passwords(loaded.unit_of_work(), ["qa"])
    assert accounts.authenticate(loaded.unit_of_work(), "qa", PASSWORD).role is Role.VIEWER
