"""Use cases on accounts: add users, sign in, issue and resolve API tokens, deactivate, reset passwords.

Passwords are hashed with argon2; tokens are opaque random strings of which only a SHA-256 digest is
stored, so a copy of the database holds no usable credential. Every sign-in failure (unknown user, wrong
password, locked or inactive account) raises the same :class:`Unauthorized`, so usernames cannot be probed.
The clock is a parameter, so lockout and expiry are tested without waiting.

Every change to an account writes the audit trail in its own transaction (P11-11, A11-10): who (``actor``, the
command line's :data:`audit.SYSTEM` by default) added, deactivated or reset which user, and issued or revoked a
token for whom. Passwords and tokens never reach the trail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.errors import Conflict, InputError, NotFound, Unauthorized
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

    def can(self, action: domain.Action) -> bool:
        return domain.can(self.role, action)


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


def _identity(user: domain.User) -> Identity:
    return Identity(
        username=user.username, role=user.role, sponsor_id=None if user.sponsor is None else user.sponsor.id
    )


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
    now: Clock = utcnow,
    actor: str = audit.SYSTEM,
) -> NewUser:
    """Add a user; without ``password`` one is generated and returned once (it is stored only hashed)."""
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
        )
        uow.users.add(user)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type="user",
            record_id=user.username,
            new={"role": user.role, "sponsor": sponsor_name, "active": user.active},
            now=now,
        )
        uow.commit()
        return NewUser(username=user.username, role=user.role, generated_password=chosen if password is None else None)


def authenticate(uow: UnitOfWork, username: str, password: str, *, now: Clock = utcnow) -> Identity:
    """The identity of a user who gave the right password; counts failures and locks after five."""
    moment = now()
    with uow:
        user = uow.users.get(username)
        if user is None:
            _verify(_DUMMY_HASH, password)
            raise Unauthorized(SIGN_IN_REFUSED)
        if not user.active or user.is_locked(moment):
            _verify(_DUMMY_HASH, password)  # as slow as a wrong password, so the lock cannot be timed
            raise Unauthorized(SIGN_IN_REFUSED)
        if not _verify(user.password_hash, password):
            user.record_failed_login(moment)
            uow.commit()
            raise Unauthorized(SIGN_IN_REFUSED)
        user.record_successful_login()
        if _hasher.check_needs_rehash(user.password_hash):
            user.change_password_hash(_hasher.hash(password))
        uow.commit()
        return _identity(user)


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
    with uow:
        found = uow.tokens.find(token_digest(token))
        if found is None or not found.is_valid(now()):
            raise Unauthorized(BEARER_REFUSED)
        return _identity(found.user)


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
    """Set a new password (generated and returned when none is given), lift a lockout, revoke every token."""
    chosen = generate_password() if password is None else _check_password(password)
    with uow:
        user = _user(uow, username)
        user.change_password_hash(_hasher.hash(chosen))
        # A reset follows a suspected compromise: tokens issued before it must stop working too.
        revoked = _revoke_all(uow, user)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.RESET_PASSWORD,
            record_type="user",
            record_id=user.username,
            new={"password_generated": password is None, "tokens_revoked": revoked},
        )
        uow.commit()
    return chosen if password is None else None
