"""Accounts in the domain and the accounts service, on the fakes: roles, rules, passwords, lockout, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import Type, extract_parameters

from opencdmo import domain
from opencdmo.api import deps
from opencdmo.api import errors as api_errors
from opencdmo.domain import Action, Role
from opencdmo.errors import (
    ConfigurationError,
    Conflict,
    DomainError,
    Forbidden,
    InputError,
    InvalidTransition,
    NotFound,
    OpenCDMOError,
    ScenarioFileError,
    Unauthorized,
)
from opencdmo.services import accounts, scenarios
from tests.fakes import FakeAccountsUnitOfWork

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


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
def uow() -> FakeAccountsUnitOfWork:
    unit = FakeAccountsUnitOfWork()
    unit.sponsors.add(domain.Sponsor("Helix Vaccines", id=2))
    unit.commit()
    return unit


def _user(role: Role = Role.PLANNER, sponsor: domain.Sponsor | None = None, **changes: object) -> domain.User:
    fields: dict[str, object] = {
        "username": "ana",
        "role": role,
        "password_hash": "$argon2id$stub",
        "created_at": START,
        "sponsor": sponsor,
    }
    fields.update(changes)
    return domain.User(**fields)  # type: ignore[arg-type]


# The permission matrix -----------------------------------------------------------------------------------------


def test_the_cli_values_of_the_roles_are_those_of_the_issue() -> None:
    assert [role.value for role in Role] == [
        "admin",
        "planner",
        "operator",
        "qc-analyst",
        "qa",
        "qualified-person",
        "sponsor",
        "viewer",
    ]


def test_every_role_has_a_row_in_the_matrix_and_every_role_may_view_orders() -> None:
    assert set(domain.PERMISSIONS) == set(Role)
    assert all(domain.can(role, Action.VIEW_ORDERS) for role in Role)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (Role.ADMIN, Action.MANAGE_USERS, True),
        (Role.ADMIN, Action.DISPOSE_BATCHES, False),
        (Role.PLANNER, Action.PLAN, True),
        (Role.PLANNER, Action.MANAGE_USERS, False),
        (Role.OPERATOR, Action.EXECUTE_BATCHES, True),
        (Role.OPERATOR, Action.VIEW_SPONSORS, False),
        (Role.QC_ANALYST, Action.RECORD_QC_RESULTS, True),
        (Role.QA, Action.DISPOSE_BATCHES, False),
        (Role.QUALIFIED_PERSON, Action.DISPOSE_BATCHES, True),
        (Role.SPONSOR, Action.VIEW_ORDERS, True),
        (Role.SPONSOR, Action.VIEW_NETWORK, False),
        (Role.SPONSOR, Action.EDIT_ORDERS, False),
        (Role.VIEWER, Action.VIEW_KPIS, True),
        (Role.VIEWER, Action.EDIT_NETWORK, False),
    ],
)
def test_the_matrix(role: Role, action: Action, allowed: bool) -> None:
    assert domain.can(role, action) is allowed


def test_only_admins_manage_users_and_only_qualified_persons_dispose_batches() -> None:
    assert {role for role in Role if domain.can(role, Action.MANAGE_USERS)} == {Role.ADMIN}
    assert {role for role in Role if domain.can(role, Action.DISPOSE_BATCHES)} == {Role.QUALIFIED_PERSON}


def test_sponsors_and_viewers_may_change_nothing() -> None:
    for role in (Role.SPONSOR, Role.VIEWER):
        assert all(action.value.startswith("view-") for action in domain.PERMISSIONS[role])


# User rules ----------------------------------------------------------------------------------------------------


def test_a_sponsor_user_needs_a_sponsor_and_staff_may_not_have_one() -> None:
    helix = domain.Sponsor("Helix Vaccines")
    with pytest.raises(DomainError, match="bound to a sponsor"):
        _user(Role.SPONSOR)
    with pytest.raises(DomainError, match="only sponsor users"):
        _user(Role.PLANNER, sponsor=helix)
    assert _user(Role.SPONSOR, sponsor=helix).sponsor is helix


@pytest.mark.parametrize("username", ["", "A", "Ana", "ana smith", " ana", "-ana", "x" * 61, "ana\t"])
def test_bad_usernames_are_refused(username: str) -> None:
    with pytest.raises(DomainError) as raised:
        _user(username=username)
    assert raised.value.field == "username"


def test_bad_roles_and_naive_times_are_refused() -> None:
    with pytest.raises(DomainError, match="not one of"):
        _user(role="superuser")
    with pytest.raises(DomainError, match="time zone"):
        _user(created_at=datetime(2027, 1, 1))


def test_an_inactive_user_may_do_nothing() -> None:
    user = _user(Role.ADMIN)
    user.deactivate()
    assert not any(user.can(action) for action in Action)


def test_five_failures_lock_for_fifteen_minutes() -> None:
    user = _user()
    for _ in range(domain.MAX_FAILED_LOGINS - 1):
        user.record_failed_login(START)
    assert not user.is_locked(START)
    user.record_failed_login(START)
    assert user.is_locked(START + domain.LOCKOUT - timedelta(seconds=1))
    assert not user.is_locked(START + domain.LOCKOUT)


def test_a_token_must_expire_after_it_is_issued() -> None:
    with pytest.raises(DomainError, match="after"):
        domain.ApiToken(user=_user(), token_hash="ab", created_at=START, expires_at=START)


# The service ---------------------------------------------------------------------------------------------------


def test_add_user_generates_a_password_once_and_stores_only_its_hash(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    created = accounts.add_user(uow, "ana", Role.PLANNER, now=clock)
    assert created.generated_password is not None
    assert len(created.generated_password) >= accounts.MIN_PASSWORD_LENGTH
    stored = uow.users.items[0]
    assert stored.password_hash.startswith("$argon2id$")
    assert created.generated_password not in stored.password_hash
    assert accounts.authenticate(uow, "ana", created.generated_password, now=clock).role is Role.PLANNER


@pytest.mark.production_hashes
def test_passwords_are_hashed_with_argon2id_at_no_less_than_the_owasp_minimum_cost(uow: FakeAccountsUnitOfWork) -> None:
    created = accounts.add_user(uow, "ana", Role.PLANNER)
    parameters = extract_parameters(uow.users.items[0].password_hash)
    assert parameters.type is Type.ID
    # OWASP's password storage minimum for argon2id: 19 MiB of memory, 2 iterations.
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert created.generated_password is not None
    assert accounts.authenticate(uow, "ana", created.generated_password).username == "ana"


def test_two_generated_passwords_differ(uow: FakeAccountsUnitOfWork) -> None:
    first = accounts.add_user(uow, "ana", Role.PLANNER).generated_password
    second = accounts.add_user(uow, "bob", Role.PLANNER).generated_password
    assert first != second


def test_a_chosen_password_is_not_returned_and_must_be_long_enough(uow: FakeAccountsUnitOfWork) -> None:
    assert accounts.add_user(uow, "ana", Role.QA, password=PASSWORD).generated_password is None
    with pytest.raises(InputError, match="at least 12"):
        accounts.add_user(uow, "bob", Role.QA, password="short")
    assert [user.username for user in uow.users.items] == ["ana"]


def test_add_user_refuses_duplicates_and_unknown_sponsors(uow: FakeAccountsUnitOfWork) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD)
    with pytest.raises(Conflict, match="already exists"):
        accounts.add_user(uow, "ana", Role.VIEWER, password=PASSWORD)
    with pytest.raises(NotFound, match="Nowhere"):
        accounts.add_user(uow, "hx", Role.SPONSOR, sponsor_name="Nowhere", password=PASSWORD)
    identity = accounts.add_user(uow, "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    assert identity.role is Role.SPONSOR
    assert accounts.authenticate(uow, "hx", PASSWORD).sponsor_id == 2


def test_unknown_user_wrong_password_locked_and_inactive_all_fail_alike(
    uow: FakeAccountsUnitOfWork, clock: FakeClock
) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD, now=clock)
    accounts.add_user(uow, "old", Role.PLANNER, password=PASSWORD, now=clock)
    accounts.deactivate(uow, "old")
    messages = set()
    for username, password in (("nobody", PASSWORD), ("ana", "wrong password!"), ("old", PASSWORD)):
        with pytest.raises(Unauthorized) as raised:
            accounts.authenticate(uow, username, password, now=clock)
        messages.add(str(raised.value))
    for _ in range(domain.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthorized):
            accounts.authenticate(uow, "ana", "wrong password!", now=clock)
    with pytest.raises(Unauthorized) as locked:
        accounts.authenticate(uow, "ana", PASSWORD, now=clock)
    messages.add(str(locked.value))
    assert messages == {accounts.SIGN_IN_REFUSED}


def test_lockout_ends_after_fifteen_minutes_and_a_reset_lifts_it(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD, now=clock)
    for _ in range(domain.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized):
            accounts.authenticate(uow, "ana", "wrong password!", now=clock)
    clock.advance(timedelta(minutes=14, seconds=59))
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, "ana", PASSWORD, now=clock)
    clock.advance(timedelta(seconds=1))
    assert accounts.authenticate(uow, "ana", PASSWORD, now=clock).username == "ana"

    for _ in range(domain.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized):
            accounts.authenticate(uow, "ana", "wrong password!", now=clock)
    new_password = accounts.reset_password(uow, "ana")
    assert new_password is not None
    assert accounts.authenticate(uow, "ana", new_password, now=clock).username == "ana"
    with pytest.raises(Unauthorized):
        accounts.authenticate(uow, "ana", PASSWORD, now=clock)


def test_a_success_resets_the_failure_count(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD, now=clock)
    for _ in range(3):
        for _ in range(domain.MAX_FAILED_LOGINS - 1):
            with pytest.raises(Unauthorized):
                accounts.authenticate(uow, "ana", "wrong password!", now=clock)
        accounts.authenticate(uow, "ana", PASSWORD, now=clock)


def test_tokens_are_opaque_stored_hashed_and_expire(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    accounts.add_user(uow, "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    token = accounts.issue_token(uow, "hx", expires_days=2, now=clock)
    assert len(token) >= 40
    stored = uow.tokens.items[0]
    assert stored.token_hash == accounts.token_digest(token) != token
    identity = accounts.resolve_token(uow, token, now=clock)
    assert (identity.username, identity.role, identity.sponsor_id) == ("hx", Role.SPONSOR, 2)
    clock.advance(timedelta(days=2))
    with pytest.raises(Unauthorized, match="expired"):
        accounts.resolve_token(uow, token, now=clock)


def test_revoking_and_deactivating_stop_tokens_at_once(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD)
    first = accounts.issue_token(uow, "ana", now=clock)
    second = accounts.issue_token(uow, "ana", now=clock)
    accounts.revoke_token(uow, first)
    with pytest.raises(Unauthorized):
        accounts.resolve_token(uow, first, now=clock)
    assert accounts.resolve_token(uow, second, now=clock).username == "ana"
    accounts.deactivate(uow, "ana")
    with pytest.raises(Unauthorized):
        accounts.resolve_token(uow, second, now=clock)
    assert all(token.revoked for token in uow.tokens.items)
    assert [user.username for user in uow.users.items] == ["ana"]  # deactivated, not deleted
    with pytest.raises(Conflict, match="deactivated"):
        accounts.issue_token(uow, "ana", now=clock)


@pytest.mark.parametrize("days", [0, -1, accounts.MAX_TOKEN_DAYS + 1])
def test_token_lifetimes_are_bounded(uow: FakeAccountsUnitOfWork, days: int) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD)
    with pytest.raises(InputError, match="days"):
        accounts.issue_token(uow, "ana", expires_days=days)


def test_unknown_users_are_named(uow: FakeAccountsUnitOfWork) -> None:
    for use_case in (accounts.deactivate, accounts.reset_password, accounts.issue_token):
        with pytest.raises(NotFound, match="nobody"):
            use_case(uow, "nobody")


def test_a_replace_is_refused_while_sponsor_users_exist(uow: FakeAccountsUnitOfWork) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD)
    helix = uow.sponsors.items[0]
    scenarios.import_scenario(uow, domain.Scenario(sponsors=[helix]), replace=True)  # staff users do not stop it
    accounts.add_user(uow, "hx", Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    with pytest.raises(Conflict, match=r"sponsor users exist \(hx\)"):
        scenarios.import_scenario(uow, domain.Scenario(), replace=True)
    assert len(uow.sponsors.items) == 1


# The API's mapping of identities and errors (no I/O) -----------------------------------------------------------


def test_only_sponsor_users_are_scoped_and_one_without_a_sponsor_sees_nothing() -> None:
    assert deps.scope_of(accounts.Identity("ana", Role.ADMIN)).sponsor_id is None
    assert deps.scope_of(accounts.Identity("hx", Role.SPONSOR, sponsor_id=2)).sponsor_id == 2
    with pytest.raises(Forbidden):
        deps.scope_of(accounts.Identity("hx", Role.SPONSOR, sponsor_id=None))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Unauthorized("x"), 401),
        (Forbidden("x"), 403),
        (NotFound("order", "PO-1"), 404),
        (Conflict("x"), 409),
        (InputError("x"), 422),
        (ScenarioFileError("f.yaml", "sites[0]", "x"), 422),
        (DomainError("x"), 422),
        (InvalidTransition("batch L1", "planned", "released", ()), 422),
        (ConfigurationError("x"), 503),
        (OpenCDMOError("x"), 500),
    ],
)
def test_each_error_maps_to_one_status(error: OpenCDMOError, status: int) -> None:
    assert api_errors.status_of(error)[0] == status


def test_a_password_reset_revokes_every_token(uow: FakeAccountsUnitOfWork, clock: FakeClock) -> None:
    accounts.add_user(uow, "ana", Role.PLANNER, password=PASSWORD)
    token = accounts.issue_token(uow, "ana", now=clock)
    assert accounts.resolve_token(uow, token, now=clock).username == "ana"
    accounts.reset_password(uow, "ana")
    with pytest.raises(Unauthorized):
        accounts.resolve_token(uow, token, now=clock)
