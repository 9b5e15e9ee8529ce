"""Use cases on accounts: add users, sign in, issue and resolve API tokens, deactivate, reset and change passwords.

Passwords are hashed with argon2; tokens are opaque random strings of which only a SHA-256 digest is
stored, so a copy of the database holds no usable credential. Every sign-in failure (unknown user, wrong
password, locked or inactive account) raises the same :class:`Unauthorized`, so usernames cannot be probed.
The clock is a parameter, so lockout and expiry are tested without waiting.

Every change to an account writes the audit trail in its own transaction (P11-11, A11-10): who (``actor``, the
command line's :data:`audit.SYSTEM` by default) added, deactivated or reset which user, and issued or revoked a
token for whom. Passwords and tokens never reach the trail.

Failed attempts are detected (P11-23): every refused sign-in writes a ``sign-in-failed`` event, committed before
the refusal is raised, and the failure that locks an account writes an ``alert`` event, which the dashboard
shows to administrators and QA (:func:`recent_alerts`). An administrator's reset forces the user to choose a
password of their own (:func:`change_password`) before they may sign again (P11-19), and so does a password
older than :func:`password_max_age` (P11-21).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opencdmo import domain
from opencdmo.domain.audit import AuditAction, AuditEvent
from opencdmo.errors import ConfigurationError, Conflict, Forbidden, InputError, NotFound, Unauthorized
from opencdmo.services import audit
from opencdmo.services.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
DEFAULT_TOKEN_DAYS = 30
MAX_TOKEN_DAYS = 366
SESSION_LIFETIME = timedelta(hours=12)
MAX_SESSION_LIFETIME = timedelta(days=7)
SIGN_IN_REFUSED = "unknown username or wrong password, or the account is locked or inactive"
BEARER_REFUSED = "the bearer token is missing, unknown, expired or revoked"
WRONG_CURRENT_PASSWORD = "the current password is wrong, or the account is locked or inactive"  # noqa: S105

PASSWORD_MAX_AGE_VARIABLE = "OPENCDMO_PASSWORD_MAX_AGE_DAYS"  # noqa: S105 (a variable's name, not a secret)
DEFAULT_PASSWORD_MAX_AGE_DAYS = 90
MAX_PASSWORD_MAX_AGE_DAYS = 3650

# Audit actions of this module beyond the trail's own (the trail takes any action name).
SIGN_IN_FAILED = "sign-in-failed"
ALERT = "alert"
CHANGE_PASSWORD = "change-password"  # noqa: S105 (an action's name, not a secret)
SIGN_IN_RECORD = "sign-in"
"""The record type of a failed sign-in under a username that does not exist."""
MAX_ATTEMPTED_NAME = 60
MAX_ALERTS = 10_000

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Identity:
    """Who is calling: what an entrypoint needs to scope queries and check permissions."""

    username: str
    role: domain.Role
    sponsor_id: int | None = None
    password_change_due: bool = False
    """The user must change their password before they may sign (reset by an administrator, or aged)."""

    def can(self, action: domain.Action) -> bool:
        return domain.can(self.role, action)


@dataclass(frozen=True)
class Account:
    """A user's own account, as they see it."""

    username: str
    full_name: str
    role: domain.Role
    must_change_password: bool
    password_changed_at: datetime | None
    password_expires_at: datetime | None
    """When the password gets too old to sign with (None: passwords do not age)."""
    password_expired: bool


@dataclass(frozen=True)
class NewUser:
    username: str
    role: domain.Role
    generated_password: str | None
    """Shown once when the password was generated; None when the caller chose it."""


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _identity(user: domain.User, now: datetime | None = None) -> Identity:
    moment = now or utcnow()
    return Identity(
        username=user.username,
        role=user.role,
        sponsor_id=None if user.sponsor is None else user.sponsor.id,
        password_change_due=user.must_change_password or password_expired(user, moment),
    )


def password_max_age(environ: Mapping[str, str] | None = None) -> timedelta | None:
    """How old a password may get before its user must change it to sign (P11-21): ``OPENCDMO_PASSWORD_MAX_AGE_DAYS``,
    90 days by default; 0 means passwords never age."""
    env = os.environ if environ is None else environ
    text = env.get(PASSWORD_MAX_AGE_VARIABLE, "").strip()
    if not text:
        return timedelta(days=DEFAULT_PASSWORD_MAX_AGE_DAYS)
    if not text.isdigit() or int(text) > MAX_PASSWORD_MAX_AGE_DAYS:
        raise ConfigurationError(
            f"{PASSWORD_MAX_AGE_VARIABLE}: expected a whole number of days from 0 (never) to "
            f"{MAX_PASSWORD_MAX_AGE_DAYS}, not {text[:40]!r}"
        )
    days = int(text)
    return None if days == 0 else timedelta(days=days)


def password_expired(user: domain.User, now: datetime) -> bool:
    """Whether the user's password is older than :func:`password_max_age`."""
    return user.password_expired(now, password_max_age())


def _user(uow: UnitOfWork, username: str) -> domain.User:
    user = uow.users.get(username)
    if user is None:
        raise NotFound("user", username)
    return user


def add_user(
    uow: UnitOfWork,
    username: str,
    role: domain.Role,
    *,
    sponsor_name: str | None = None,
    password: str | None = None,
    full_name: str | None = None,
    now: Clock = utcnow,
    actor: str = audit.SYSTEM,
) -> NewUser:
    """Add a user; without ``password`` one is generated and returned once (it is stored only hashed).

    ``full_name`` is the printed name of the user's signatures (the username when not given)."""
    chosen = generate_password() if password is None else _check_password(password)
    with uow:
        if uow.users.get(username) is not None:
            raise Conflict(f"user {username!r} already exists (users are deactivated, never deleted)")
        sponsor = None
        if sponsor_name is not None:
            sponsor = next((item for item in uow.sponsors.list() if item.name == sponsor_name), None)
            if sponsor is None:
                raise NotFound("sponsor", sponsor_name)
        user = domain.User(
            username=username,
            role=role,
            password_hash=_hasher.hash(chosen),
            created_at=now(),
            sponsor=sponsor,
            full_name=full_name or "",
        )
        uow.users.add(user)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type="user",
            record_id=user.username,
            new={"role": user.role, "sponsor": sponsor_name, "active": user.active, "full_name": user.full_name},
            now=now,
        )
        uow.commit()
        return NewUser(username=user.username, role=user.role, generated_password=chosen if password is None else None)


def authenticate(uow: UnitOfWork, username: str, password: str, *, now: Clock = utcnow) -> Identity:
    """The identity of a user who gave the right password; counts failures and locks after five.

    Every refusal is audited (and committed) before it is raised; the failure that locks the account also
    raises an alert."""
    moment = now()
    with uow:
        user = uow.users.get(username)
        if user is None:
            _verify(_DUMMY_HASH, password)
            refuse_sign_in(uow, username, None, "unknown user", moment)
            raise Unauthorized(SIGN_IN_REFUSED)
        if not user.active or user.is_locked(moment):
            _verify(_DUMMY_HASH, password)  # as slow as a wrong password, so the lock cannot be timed
            refuse_sign_in(uow, username, user, "account inactive" if not user.active else "account locked", moment)
            raise Unauthorized(SIGN_IN_REFUSED)
        if not _verify(user.password_hash, password):
            refuse_sign_in(uow, username, user, "wrong password", moment, count=True)
            raise Unauthorized(SIGN_IN_REFUSED)
        user.record_successful_login()
        if _hasher.check_needs_rehash(user.password_hash):
            user.change_password_hash(_hasher.hash(password))
        uow.commit()
        return _identity(user, moment)


def refuse_sign_in(
    uow: UnitOfWork,
    attempted: str,
    user: domain.User | None,
    why: str,
    moment: datetime,
    *,
    count: bool = False,
) -> None:
    """Record a refused attempt in the open unit of work and commit it (the caller raises next).

    With ``count`` the failure counts toward the lockout; the failure that locks the account writes an
    ``alert`` event for QA and security (P11-23). The event's actor is :data:`audit.SYSTEM`: whoever tried is not
    known, only the name they gave."""
    locked = user.record_failed_login(moment) if count and user is not None else False
    if user is not None:
        record_type, record_id = "user", user.username
    else:
        record_type, record_id = SIGN_IN_RECORD, attempted[:MAX_ATTEMPTED_NAME] or "(empty)"
    audit.record(
        uow,
        actor=audit.SYSTEM,
        action=SIGN_IN_FAILED,
        record_type=record_type,
        record_id=record_id,
        reason=why,
        now=lambda: moment,
    )
    if locked and user is not None:
        audit.record(
            uow,
            actor=audit.SYSTEM,
            action=ALERT,
            record_type="user",
            record_id=user.username,
            new={"locked_until": user.locked_until},
            reason=f"account locked after {domain.MAX_FAILED_LOGINS} failed attempts in a row ({why})",
            now=lambda: moment,
        )
    uow.commit()


def recent_alerts(uow: UnitOfWork, since: datetime) -> list[AuditEvent]:
    """The security alerts (accounts locked by failed attempts) since ``since``, oldest first; CDMO staff only."""
    if since.tzinfo is None:
        raise InputError("since must carry a time zone")
    with uow:
        if uow.sponsor_id is not None:
            raise Forbidden("only CDMO staff may read security alerts")
        events = uow.audit.search(record_type="user", since=since, limit=MAX_ALERTS)
    return [event for event in events if event.action == ALERT]


def password_matches(user: domain.User | None, password: str) -> bool:
    """Whether ``password`` is the user's; as slow for no user (None) as for a wrong password."""
    if user is None:
        _verify(_DUMMY_HASH, password)
        return False
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    uow: UnitOfWork,
    username: str,
    *,
    expires_days: int = DEFAULT_TOKEN_DAYS,
    now: Clock = utcnow,
    actor: str = audit.SYSTEM,
) -> str:
    """A new bearer token for an active user; returned once, stored only as its digest."""
    if not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InputError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days, not {expires_days}")
    return _issue(uow, username, timedelta(days=expires_days), now, actor=actor, kind="api")


def issue_session_token(
    uow: UnitOfWork, username: str, *, lifetime: timedelta = SESSION_LIFETIME, now: Clock = utcnow
) -> str:
    """A short-lived token for a browser session, sent back in an HttpOnly cookie; signing out revokes it.

    It is an API token like any other (stored only as its digest, revoked with the user's other tokens on a
    deactivation or a password reset), with an expiry of hours instead of days.
    """
    if not timedelta(minutes=1) <= lifetime <= MAX_SESSION_LIFETIME:
        raise InputError(f"a browser session lasts 1 minute to {MAX_SESSION_LIFETIME.days} days, not {lifetime}")
    return _issue(uow, username, lifetime, now, actor=username, kind="session")


def _issue(uow: UnitOfWork, username: str, lifetime: timedelta, now: Clock, *, actor: str, kind: str) -> str:
    secret = secrets.token_urlsafe(32)
    moment = now()
    with uow:
        user = _user(uow, username)
        if not user.active:
            raise Conflict(f"user {username!r} is deactivated")
        uow.tokens.add(
            domain.ApiToken(
                user=user,
                token_hash=token_digest(secret),
                created_at=moment,
                expires_at=moment + lifetime,
            )
        )
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.ISSUE_TOKEN,
            record_type="user",
            record_id=user.username,
            new={"kind": kind, "expires_at": moment + lifetime},
            now=now,
        )
        uow.commit()
    return secret


def resolve_token(uow: UnitOfWork, token: str, *, now: Clock = utcnow) -> Identity:
    """The identity behind a bearer token; refuses an unknown, expired or revoked one, or an inactive user."""
    moment = now()
    with uow:
        found = uow.tokens.find(token_digest(token))
        if found is None or not found.is_valid(moment):
            raise Unauthorized(BEARER_REFUSED)
        return _identity(found.user, moment)


def account(uow: UnitOfWork, username: str, *, now: Clock = utcnow) -> Account:
    """A user's own account: their printed name and where their password stands."""
    moment = now()
    max_age = password_max_age()
    with uow:
        user = _user(uow, username)
        started = user.password_changed_at or user.created_at
        return Account(
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            must_change_password=user.must_change_password,
            password_changed_at=user.password_changed_at,
            password_expires_at=None if max_age is None else started + max_age,
            password_expired=user.password_expired(moment, max_age),
        )


def revoke_token(uow: UnitOfWork, token: str, *, actor: str | None = None) -> None:
    """Revoke one token at once (a no-op for an unknown one, which is as unusable as a revoked one).

    ``actor`` defaults to the token's own user (signing out revokes one's own session token)."""
    with uow:
        found = uow.tokens.find(token_digest(token))
        if found is not None and not found.revoked:
            found.revoke()
            audit.record(
                uow,
                actor=actor or found.user.username,
                action=AuditAction.REVOKE_TOKEN,
                record_type="user",
                record_id=found.user.username,
                new={"created_at": found.created_at, "expires_at": found.expires_at},
            )
            uow.commit()


def deactivate(uow: UnitOfWork, username: str, *, actor: str = audit.SYSTEM) -> None:
    """Deactivate a user and revoke all their tokens. The user stays, so records can still name them."""
    with uow:
        user = _user(uow, username)
        was_active = user.active
        user.deactivate()
        revoked = _revoke_all(uow, user)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.DEACTIVATE,
            record_type="user",
            record_id=user.username,
            old={"active": was_active},
            new={"active": user.active, "tokens_revoked": revoked},
        )
        uow.commit()


def _revoke_all(uow: UnitOfWork, user: domain.User) -> int:
    """Revoke every token of the user that is not revoked yet; how many."""
    revoked = 0
    for token in uow.tokens.of_user(user):
        if not token.revoked:
            token.revoke()
            revoked += 1
    return revoked


def reset_password(
    uow: UnitOfWork, username: str, *, password: str | None = None, actor: str = audit.SYSTEM
) -> str | None:
    """Set a new password (generated and returned when none is given), lift a lockout, revoke every token.

    The administrator knows the new password, so the user must choose their own (:func:`change_password`)
    before they may sign again (P11-19)."""
    chosen = generate_password() if password is None else _check_password(password)
    with uow:
        user = _user(uow, username)
        user.reset_password_hash(_hasher.hash(chosen))
        # A reset follows a suspected compromise: tokens issued before it must stop working too.
        revoked = _revoke_all(uow, user)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.RESET_PASSWORD,
            record_type="user",
            record_id=user.username,
            new={"password_generated": password is None, "tokens_revoked": revoked, "must_change_password": True},
        )
        uow.commit()
    return chosen if password is None else None


def change_password(
    uow: UnitOfWork,
    username: str,
    current_password: str,
    new_password: str,
    *,
    now: Clock = utcnow,
    actor: str | None = None,
) -> None:
    """A user chooses a new password of their own, giving the current one; lifts "must change" and restarts the
    password's age. A wrong current password counts as a failed sign-in (and is audited) like any other."""
    moment = now()
    _check_password(new_password)
    with uow:
        user = uow.users.get(username)
        if user is None or not user.active or user.is_locked(moment):
            _verify(_DUMMY_HASH, current_password)
            raise Unauthorized(WRONG_CURRENT_PASSWORD)
        if not _verify(user.password_hash, current_password):
            refuse_sign_in(uow, username, user, "wrong current password when changing it", moment, count=True)
            raise Unauthorized(WRONG_CURRENT_PASSWORD)
        if _verify(user.password_hash, new_password):
            raise InputError("the new password must differ from the current one")
        was_forced = user.must_change_password
        user.choose_password_hash(_hasher.hash(new_password), moment)
        audit.record(
            uow,
            actor=actor or user.username,
            action=CHANGE_PASSWORD,
            record_type="user",
            record_id=user.username,
            old={"must_change_password": was_forced},
            new={"must_change_password": False, "password_changed_at": moment},
            now=lambda: moment,
        )
        uow.commit()
