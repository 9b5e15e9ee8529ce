"""Demo sign-ins (``opencdmo demo-users``): one user per staff role and one for each of two demo sponsors.

Passwords are always generated (there is no default password anywhere) and returned once. Run again, the use
case resets the demo users' passwords instead of adding them, so a second ``make run`` prints fresh ones. It
never reactivates a deactivated user and never changes a user whose role or sponsor is not the demo's: such
a user is listed with a note and no password.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from opencdmo import domain
from opencdmo.domain.accounts import USERNAME_PATTERN
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
"""Every role but sponsor; each demo staff user is named after its role (``planner``, ``qc-analyst``...)."""

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
    wanted = [DemoUser(role.value, role) for role in STAFF_ROLES]
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


def ensure_demo_users(uow: UnitOfWork) -> list[DemoLogin]:
    """Add the demo users with generated passwords, or reset the passwords of those that exist already."""
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
            added = accounts.add_user(uow, user.username, user.role, sponsor_name=user.sponsor)
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
