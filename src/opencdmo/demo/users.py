"""Demo sign-ins (``opencdmo demo-users``): one user per staff role, a second operator and a second QC analyst (so
second-person verification can be shown), and one user for each of two demo sponsors. Staff users carry an
invented full name, the printed name of their electronic signatures.

Passwords are always generated (there is no default password anywhere) and returned once. Run again, the use
case resets the demo users' passwords instead of adding them, so a second ``make run`` prints fresh ones. It
never reactivates a deactivated user and never changes a user whose role or sponsor is not the demo's: such
a user is listed with a note and no password.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from opencdmo import domain
from opencdmo.domain.accounts import USERNAME_PATTERN
from opencdmo.errors import Conflict
from opencdmo.services import accounts
from opencdmo.services.unit_of_work import UnitOfWork

STAFF_ROLES: tuple[domain.Role, ...] = (
    domain.Role.ADMIN,
    domain.Role.PLANNER,
    domain.Role.OPERATOR,
    domain.Role.QC_ANALYST,
    domain.Role.QA,
    domain.Role.QUALIFIED_PERSON,
    domain.Role.VIEWER,
)
"""Every role but sponsor; each has a demo staff user named after it (``planner``, ``qc-analyst``...)."""

SECOND_OPERATOR = "operator-2"
SECOND_QC_ANALYST = "qc-analyst-2"

FULL_NAMES: dict[str, str] = {
    "admin": "Alex Marsh",
    "planner": "Priya Nandakumar",
    "operator": "Olivia Ortega",
    SECOND_OPERATOR: "Owen Hartley",
    "qc-analyst": "Chloe Brennan",
    SECOND_QC_ANALYST: "Carlos Mendes",
    "qa": "Quentin Hale",
    "qualified-person": "Petra Lindqvist",
    "viewer": "Victor Chen",
}
"""The printed names of the demo staff (invented)."""

DEMO_SPONSORS = 2
"""How many sponsors get a demo user: the first ones stored (the demo stores its largest sponsors first)."""


class Outcome(StrEnum):
    CREATED = "new"
    RESET = "new password"
    DEACTIVATED = "deactivated: unchanged"
    DIFFERENT = "not the demo's role or sponsor: unchanged"


@dataclass(frozen=True)
class DemoUser:
    """Who a demo user should be."""

    username: str
    role: domain.Role
    sponsor: str | None = None
    full_name: str | None = None


def staff_users() -> list[DemoUser]:
    """The demo staff: one user per role in :data:`STAFF_ROLES`, then a second operator and a second QC analyst."""
    wanted = [DemoUser(role.value, role) for role in STAFF_ROLES]
    wanted += [DemoUser(SECOND_OPERATOR, domain.Role.OPERATOR), DemoUser(SECOND_QC_ANALYST, domain.Role.QC_ANALYST)]
    return [DemoUser(user.username, user.role, None, FULL_NAMES.get(user.username)) for user in wanted]


@dataclass(frozen=True)
class DemoLogin:
    """A demo sign-in as it now stands: ``password`` is set (shown once) only when one was generated now."""

    username: str
    role: domain.Role
    sponsor: str | None
    password: str | None
    outcome: Outcome


def sponsor_username(sponsor_name: str) -> str:
    """A login name from a sponsor's name: 'Helix Vaccines' -> 'helix-vaccines'."""
    ascii_name = unicodedata.normalize("NFKD", sponsor_name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].rstrip("-")
    return slug if USERNAME_PATTERN.fullmatch(slug) else "sponsor-user"


def demo_users(sponsor_names: Sequence[str]) -> list[DemoUser]:
    """The demo users for a network whose sponsors are ``sponsor_names`` (in the order they were stored)."""
    wanted = staff_users()
    taken = {user.username for user in wanted}
    for name in sponsor_names[:DEMO_SPONSORS]:
        base = username = sponsor_username(name)
        suffix = 0
        while username in taken:
            suffix += 1
            username = f"{base[: 59 - len(str(suffix))]}-{suffix}"
        taken.add(username)
        wanted.append(DemoUser(username, domain.Role.SPONSOR, name))
    return wanted


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_demo_users(uow: UnitOfWork, *, now: Callable[[], datetime] = _utcnow) -> list[DemoLogin]:
    """Add the demo users with generated passwords, or reset the passwords of those that exist already.

    ``now`` is when a new user is created (the quality demo creates its staff at the start of its history)."""
    with uow:
        sponsor_names = [sponsor.name for sponsor in uow.sponsors.list()]
        wanted = demo_users(sponsor_names)
        stored = {user.username: uow.users.get(user.username) for user in wanted}
        found = {
            username: (user.role, None if user.sponsor is None else user.sponsor.name, user.active)
            for username, user in stored.items()
            if user is not None
        }
    logins = []
    for user in wanted:
        if user.username not in found:
            added = accounts.add_user(
                uow, user.username, user.role, sponsor_name=user.sponsor, full_name=user.full_name, now=now
            )
            logins.append(DemoLogin(user.username, user.role, user.sponsor, added.generated_password, Outcome.CREATED))
            continue
        role, sponsor, active = found[user.username]
        if (role, sponsor) != (user.role, user.sponsor):
            logins.append(DemoLogin(user.username, role, sponsor, None, Outcome.DIFFERENT))
        elif not active:
            logins.append(DemoLogin(user.username, role, sponsor, None, Outcome.DEACTIVATED))
        else:
            password = accounts.reset_password(uow, user.username)
            logins.append(DemoLogin(user.username, role, sponsor, password, Outcome.RESET))
    return logins


def signing_passwords(
    uow: UnitOfWork, usernames: Sequence[str], *, now: Callable[[], datetime] = _utcnow
) -> dict[str, str]:
    """Passwords the demo staff ``usernames`` can sign with now, for a program that signs as them (the quality demo).

    A missing demo staff user is added (created at ``now``) with a generated password; an existing one gets a
    reset password, changed at once to another generated one, since a reset password cannot sign (P11-19). The
    passwords are returned and never printed or stored; ``opencdmo demo-users`` hands out new ones afterwards.
    Refuses (:class:`Conflict`) a user of that name whose role is not the demo's, or who is deactivated.
    """
    wanted = {user.username: user for user in staff_users()}
    unknown = [username for username in usernames if username not in wanted]
    if unknown:
        raise ValueError(f"not demo staff: {', '.join(unknown)}")
    with uow:
        found = {username: uow.users.get(username) for username in usernames}
        standing = {
            username: (user.role, user.sponsor is None, user.active)
            for username, user in found.items()
            if user is not None
        }
    passwords: dict[str, str] = {}
    for username in usernames:
        user = wanted[username]
        if username not in standing:
            added = accounts.add_user(uow, username, user.role, full_name=user.full_name, now=now)
            assert added.generated_password is not None
            passwords[username] = added.generated_password
            continue
        role, staff, active = standing[username]
        if role is not user.role or not staff or not active:
            raise Conflict(
                f"the user {username} exists but is not the demo's {user.role.value} (or is deactivated): "
                "the quality demo signs as the demo staff; use a new database"
            )
        reset = accounts.reset_password(uow, username)
        assert reset is not None
        chosen = accounts.generate_password()
        accounts.change_password(uow, username, reset, chosen, now=now)
        passwords[username] = chosen
    return passwords
