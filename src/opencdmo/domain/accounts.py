"""Accounts: users, their roles, what each role may do, and API tokens. Standard library only.

The role × action matrix is data (:data:`PERMISSIONS`); :func:`can` is the one question every entrypoint asks.
A sponsor user is bound to exactly one sponsor and sees only that sponsor's records (the repositories
filter by it); every other role is CDMO staff and has no sponsor. Users are deactivated, never deleted, so
the audit trail can always name who did what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from opencdmo.domain import _rules
from opencdmo.domain.sponsors import Sponsor
from opencdmo.errors import DomainError

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,59}")
MAX_FULL_NAME_LENGTH = 120


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    OPERATOR = "operator"
    QC_ANALYST = "qc-analyst"
    QA = "qa"
    QUALIFIED_PERSON = "qualified-person"
    SPONSOR = "sponsor"
    VIEWER = "viewer"


class Action(StrEnum):
    VIEW_NETWORK = "view-network"
    EDIT_NETWORK = "edit-network"
    VIEW_SPONSORS = "view-sponsors"
    EDIT_SPONSORS = "edit-sponsors"
    VIEW_ORDERS = "view-orders"
    EDIT_ORDERS = "edit-orders"
    VIEW_SCHEDULE = "view-schedule"
    PLAN = "plan"
    VIEW_KPIS = "view-kpis"
    EXECUTE_BATCHES = "execute-batches"
    RECORD_QC_RESULTS = "record-qc-results"
    REVIEW_QUALITY = "review-quality"
    DISPOSE_BATCHES = "dispose-batches"
    VIEW_BATCH_RECORDS = "view-batch-records"
    AUTHOR_MASTER_RECORDS = "author-master-records"
    OPEN_DEVIATIONS = "open-deviations"
    MANAGE_INSTRUMENTS = "manage-instruments"
    MANAGE_USERS = "manage-users"


_READ_ALL = frozenset(
    {Action.VIEW_NETWORK, Action.VIEW_SPONSORS, Action.VIEW_ORDERS, Action.VIEW_SCHEDULE, Action.VIEW_KPIS}
)
_SHOP_FLOOR = frozenset({Action.VIEW_NETWORK, Action.VIEW_ORDERS, Action.VIEW_SCHEDULE, Action.VIEW_BATCH_RECORDS})

# Segregation of duties (EU GMP Annex 11, 21 CFR Part 11): the administrator manages the system and its
# users but neither executes, tests nor releases batches; only a qualified person disposes of a batch.
# A sponsor sees its own sponsor, orders, schedule rows and KPIs, never the CDMO's network as a whole.
# GMP records: operators execute batch records, QC analysts record and verify results on instruments they
# keep registered, QA writes master records (and approves another author's), investigates and closes deviations,
# and reviews audit trails; anyone on the floor may open a deviation. A sponsor reads its own batch records, and
# only once released (the services add that rule).
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _READ_ALL
    | {Action.EDIT_NETWORK, Action.EDIT_SPONSORS, Action.EDIT_ORDERS, Action.PLAN, Action.MANAGE_USERS},
    Role.PLANNER: _READ_ALL
    | {Action.EDIT_NETWORK, Action.EDIT_SPONSORS, Action.EDIT_ORDERS, Action.PLAN, Action.AUTHOR_MASTER_RECORDS},
    Role.OPERATOR: _SHOP_FLOOR | {Action.EXECUTE_BATCHES, Action.OPEN_DEVIATIONS},
    Role.QC_ANALYST: _SHOP_FLOOR | {Action.RECORD_QC_RESULTS, Action.OPEN_DEVIATIONS, Action.MANAGE_INSTRUMENTS},
    Role.QA: _READ_ALL
    | {
        Action.VIEW_BATCH_RECORDS,
        Action.REVIEW_QUALITY,
        Action.AUTHOR_MASTER_RECORDS,
        Action.OPEN_DEVIATIONS,
        Action.MANAGE_INSTRUMENTS,
    },
    Role.QUALIFIED_PERSON: _READ_ALL
    | {Action.VIEW_BATCH_RECORDS, Action.REVIEW_QUALITY, Action.DISPOSE_BATCHES, Action.OPEN_DEVIATIONS},
    Role.SPONSOR: frozenset(
        {Action.VIEW_SPONSORS, Action.VIEW_ORDERS, Action.VIEW_SCHEDULE, Action.VIEW_KPIS, Action.VIEW_BATCH_RECORDS}
    ),
    Role.VIEWER: _READ_ALL | {Action.VIEW_BATCH_RECORDS},
}


def can(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action``."""
    return action in PERMISSIONS[role]


@dataclass(eq=False)
class User:
    """A person who signs in. ``password_hash`` is made by the accounts service; never the password."""

    username: str
    role: Role
    password_hash: str
    created_at: datetime
    sponsor: Sponsor | None = None
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    full_name: str = ""
    """The printed name on the user's signatures; the username when not given."""
    must_change_password: bool = False
    """Set by an administrator's reset: the user may sign again only after choosing a password of their own."""
    password_changed_at: datetime | None = None
    """When the user last chose their password (None: never, the password's age runs from ``created_at``)."""
    id: int | None = None

    def __post_init__(self) -> None:
        self.username = _rules.text(self.username, "username", max_length=60)
        if not USERNAME_PATTERN.fullmatch(self.username):
            raise DomainError(
                "must be 2 to 60 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                field="username",
            )
        self.full_name = _rules.text(self.full_name or self.username, "full_name", max_length=MAX_FULL_NAME_LENGTH)
        if self.password_changed_at is not None:
            self.password_changed_at = _rules.utc(self.password_changed_at, "password_changed_at")
        self.role = _rules.choice(Role, self.role, "role")
        if self.role is Role.SPONSOR and self.sponsor is None:
            raise DomainError("a sponsor user must be bound to a sponsor", field="sponsor")
        if self.role is not Role.SPONSOR and self.sponsor is not None:
            raise DomainError(f"only sponsor users belong to a sponsor, not a {self.role.value}", field="sponsor")
        self.password_hash = _rules.text(self.password_hash, "password_hash", max_length=200)
        self.created_at = _rules.utc(self.created_at, "created_at")

    def can(self, action: Action) -> bool:
        """An inactive user may do nothing at all."""
        return self.active and can(self.role, action)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failed_login(self, now: datetime) -> bool:
        """Count a failed login; the fifth in a row locks the account for :data:`LOCKOUT` (and returns True)."""
        self.failed_logins += 1
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self.locked_until = now + LOCKOUT
            self.failed_logins = 0
            return True
        return False

    def record_successful_login(self) -> None:
        self.failed_logins = 0
        self.locked_until = None

    def change_password_hash(self, password_hash: str) -> None:
        """A new password also lifts a lockout (an administrator's reset is how a locked user gets back in)."""
        self.password_hash = _rules.text(password_hash, "password_hash", max_length=200)
        self.record_successful_login()

    def reset_password_hash(self, password_hash: str) -> None:
        """An administrator set the password: someone else knows it, so the user must change it before signing."""
        self.change_password_hash(password_hash)
        self.must_change_password = True

    def choose_password_hash(self, password_hash: str, now: datetime) -> None:
        """The user chose a new password of their own: only they know it, and its age starts now."""
        self.change_password_hash(password_hash)
        self.must_change_password = False
        self.password_changed_at = _rules.utc(now, "password_changed_at")

    def password_expired(self, now: datetime, max_age: timedelta | None) -> bool:
        """Whether the password is older than ``max_age`` (None: passwords never age)."""
        if max_age is None:
            return False
        return now - (self.password_changed_at or self.created_at) >= max_age

    def deactivate(self) -> None:
        self.active = False

    def __repr__(self) -> str:
        return f"User({self.username!r}, {self.role.value})"


@dataclass(eq=False)
class ApiToken:
    """A bearer token. Only a digest of the secret is kept: the secret is shown once, when issued."""

    user: User
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False
    last_signed_at: datetime | None = None
    """When its holder last signed a record in this session (signing sessions, §11.200(a)(1))."""
    id: int | None = None

    def __post_init__(self) -> None:
        self.token_hash = _rules.text(self.token_hash, "token_hash", max_length=64)
        self.created_at = _rules.utc(self.created_at, "created_at")
        self.expires_at = _rules.utc(self.expires_at, "expires_at")
        if self.expires_at <= self.created_at:
            raise DomainError("must be after the time the token is issued", field="expires_at")

    def is_valid(self, now: datetime) -> bool:
        """Usable now: not revoked, not expired, and its user still active."""
        return not self.revoked and now < self.expires_at and self.user.active

    def revoke(self) -> None:
        self.revoked = True

    def record_signing(self, now: datetime) -> None:
        self.last_signed_at = _rules.utc(now, "last_signed_at")

    def __repr__(self) -> str:
        return f"ApiToken({self.user.username!r}, expires {self.expires_at:%Y-%m-%d})"
