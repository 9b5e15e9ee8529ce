"""Electronic signatures: the one way anything in the application signs a record (21 CFR Part 11 §11.50-§11.300).

Signing takes two steps, each a use case's business:

1. :func:`authenticate` checks the signer's credentials in a transaction of its own, committed before the
   signing use case opens its own, so that a refused attempt is counted and audited even though the signing
   fails. A signature needs two components, user id and password (§11.200(a)(1)): the first signing of a
   session needs both, later ones in the same session within :data:`SIGNING_TIMEOUT` of the previous one only
   the password; after the timeout, or in a new session (after signing out), both again. Nobody can sign for
   another user, and an account whose password an administrator reset, or whose password is older than
   :func:`accounts.password_max_age`, must change its password first (§11.300).
2. :func:`seal` stores the :class:`~opencdmo.domain.signatures.Signature`, bound to the signed content by its
   hash, and its audit event inside the use case's open unit of work: the signature exists exactly when the
   signed change was committed.

Usage, in a use case::

    signatures.authenticate(uow, signer, credentials, now=now)
    with uow:
        record = ...
        record.approve()
        signatures.seal(uow, signer=signer, meaning=Meaning.APPROVED, record_type="master-batch-record",
                        record_id=record.key, content=record.content(), now=now)
        uow.commit()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opencdmo import domain
from opencdmo.domain.signatures import Meaning, Signature, content_hash
from opencdmo.errors import ConfigurationError, Forbidden, Unauthorized
from opencdmo.services import accounts, audit
from opencdmo.services.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]

SIGNING_TIMEOUT_VARIABLE = "OPENCDMO_SIGNING_TIMEOUT_MINUTES"
DEFAULT_SIGNING_TIMEOUT_MINUTES = 15
MAX_SIGNING_TIMEOUT_MINUTES = 24 * 60
SIGN = "sign"
"""The audit action of a signature."""

SIGN_FOR_ANOTHER = "nobody can sign for another user"
USER_ID_NEEDED = "enter your user id and password to sign"
SIGNING_REFUSED = "the signature was refused: wrong password, or the account is locked or inactive"
CHANGE_PASSWORD_FIRST = "change your password before signing"  # noqa: S105 (a message, not a secret)
NOT_A_SIGNER = "only active CDMO staff may sign records"


def utcnow() -> datetime:
    return datetime.now(UTC)


def signing_timeout(environ: Mapping[str, str] | None = None) -> timedelta:
    """How long after a signing the next one in the same session needs only the password:
    ``OPENCDMO_SIGNING_TIMEOUT_MINUTES``, 15 minutes by default."""
    env = os.environ if environ is None else environ
    text = env.get(SIGNING_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return timedelta(minutes=DEFAULT_SIGNING_TIMEOUT_MINUTES)
    if not text.isdigit() or not 1 <= int(text) <= MAX_SIGNING_TIMEOUT_MINUTES:
        raise ConfigurationError(
            f"{SIGNING_TIMEOUT_VARIABLE}: expected a whole number of minutes from 1 to "
            f"{MAX_SIGNING_TIMEOUT_MINUTES}, not {text[:40]!r}"
        )
    return timedelta(minutes=int(text))


try:
    SIGNING_TIMEOUT: timedelta = signing_timeout()
    """Read once, when the module is imported."""
    _TIMEOUT_PROBLEM: str | None = None
except ConfigurationError as problem:  # refuse to sign, rather than stop every command at import
    SIGNING_TIMEOUT = timedelta(minutes=DEFAULT_SIGNING_TIMEOUT_MINUTES)
    _TIMEOUT_PROBLEM = str(problem)


def _timeout() -> timedelta:
    """:data:`SIGNING_TIMEOUT`; a bad ``OPENCDMO_SIGNING_TIMEOUT_MINUTES`` refuses every signing."""
    if _TIMEOUT_PROBLEM is not None:
        raise ConfigurationError(_TIMEOUT_PROBLEM)
    return SIGNING_TIMEOUT


@dataclass(frozen=True)
class Credentials:
    """What a signer gave to sign, and the session they gave it in."""

    password: str
    username: str | None = None
    """The user id component; needed on a session's first signing (see :func:`needs_user_id`)."""
    session_token: str | None = None
    """The raw session cookie or bearer token of the caller; None if unknown (then the user id is always needed)."""

    def __repr__(self) -> str:  # never the password, not even in a traceback
        return f"Credentials(username={self.username!r}, password=***, session={'yes' if self.session_token else 'no'})"


def _session(uow: UnitOfWork, session_token: str | None, moment: datetime) -> domain.ApiToken | None:
    """The caller's valid session (token), if known."""
    if not session_token:
        return None
    token = uow.tokens.find(accounts.token_digest(session_token))
    return token if token is not None and token.is_valid(moment) else None


def _needs_user_id(token: domain.ApiToken | None, moment: datetime) -> bool:
    if token is None or token.last_signed_at is None:
        return True
    return moment - token.last_signed_at > _timeout()


def needs_user_id(uow: UnitOfWork, session_token: str | None, now: Clock = utcnow) -> bool:
    """Whether the next signing in this session needs the user id as well as the password: True when the session
    is unknown, has not signed yet, or last signed more than :data:`SIGNING_TIMEOUT` ago."""
    moment = now()
    with uow:
        return _needs_user_id(_session(uow, session_token, moment), moment)


def _normalised(username: str | None) -> str | None:
    if username is None:
        return None
    cleaned = username.strip().lower()
    return cleaned or None


def authenticate(uow: UnitOfWork, signer: str, credentials: Credentials, *, now: Clock = utcnow) -> None:
    """Check that ``signer`` may sign now with ``credentials``, in a transaction of its own (committed).

    Refuses with :class:`Forbidden` a user id other than the signer's, a session of another user, a sponsor user,
    and an account that must change its password first; with :class:`Unauthorized` a missing user id where one is
    needed, a wrong password (counted toward the lockout and audited like a failed sign-in), and a locked,
    inactive or unknown account. On success the session remembers the signing (``last_signed_at``)."""
    moment = now()
    _timeout()
    given = _normalised(credentials.username)
    if given is not None and given != signer:
        raise Forbidden(SIGN_FOR_ANOTHER)
    with uow:
        token = _session(uow, credentials.session_token, moment)
        if token is not None and token.user.username != signer:
            raise Forbidden(SIGN_FOR_ANOTHER)
        if given is None and _needs_user_id(token, moment):
            raise Unauthorized(USER_ID_NEEDED)
        user = uow.users.get(signer)
        if user is None or not user.active:
            accounts.password_matches(None, credentials.password)
            raise Unauthorized(SIGNING_REFUSED)
        if user.role is domain.Role.SPONSOR:
            raise Forbidden(NOT_A_SIGNER)
        if user.is_locked(moment):
            accounts.password_matches(None, credentials.password)
            accounts.refuse_sign_in(uow, signer, user, "account locked, when signing", moment)
            raise Unauthorized(SIGNING_REFUSED)
        if not accounts.password_matches(user, credentials.password):
            accounts.refuse_sign_in(uow, signer, user, "wrong password when signing", moment, count=True)
            raise Unauthorized(SIGNING_REFUSED)
        if user.must_change_password or accounts.password_expired(user, moment):
            raise Forbidden(CHANGE_PASSWORD_FIRST)
        user.record_successful_login()
        if token is not None:
            token.record_signing(moment)
        uow.commit()


def seal(
    uow: UnitOfWork,
    *,
    signer: str,
    meaning: Meaning,
    record_type: str,
    record_id: str,
    content: Mapping[str, Any],
    comment: str | None = None,
    now: Clock = utcnow,
) -> Signature:
    """Sign ``content`` of a record as ``signer`` inside the caller's open unit of work (which commits).

    Stores the signature, with the signer's printed name and the content's hash, and its audit event (action
    ``sign``, field ``meaning``, the comment as the reason). Call :func:`authenticate` first."""
    moment = now()
    user = uow.users.get(signer)
    if user is None or not user.active or user.role is domain.Role.SPONSOR:
        raise Forbidden(NOT_A_SIGNER)
    signature = Signature(
        record_type=record_type,
        record_id=record_id,
        username=user.username,
        printed_name=user.full_name,
        meaning=Meaning(meaning),
        signed_at=moment,
        content_hash=content_hash(record_type, record_id, content),
        comment=comment,
    )
    uow.signatures.add(signature)
    audit.record(
        uow,
        actor=user.username,
        action=SIGN,
        record_type=signature.record_type,
        record_id=signature.record_id,
        field="meaning",
        new=signature.meaning.value,
        reason=signature.comment,
        now=lambda: moment,
    )
    return signature


@dataclass(frozen=True)
class SignatureView:
    """A signature as a page, an export or the API shows it, with whether the record still matches it."""

    printed_name: str
    username: str
    meaning: Meaning
    signed_at: datetime
    comment: str | None
    intact: bool
    manifestation: str


def view(signature: Signature, current_hash: str) -> SignatureView:
    return SignatureView(
        printed_name=signature.printed_name,
        username=signature.username,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
        comment=signature.comment,
        intact=signature.is_intact(current_hash),
        manifestation=signature.manifestation(),
    )


def views(signatures: list[Signature], current_hash: str) -> list[SignatureView]:
    """The signatures of one record, each checked against the hash of the record's current content."""
    return [view(signature, current_hash) for signature in signatures]
