"""The caller's own account: where their password stands, whether their next signature needs the user id, and
changing their password (which an administrator's reset, or an aged password, requires before signing).

Any signed-in user may use these routes, about their own account only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import Field

from opencdmo.api.deps import ApplicationDep, CurrentIdentity, scope_of
from opencdmo.api.schemas import Body, Public, error_responses
from opencdmo.api.signing import bearer_token
from opencdmo.services import accounts, signatures

router = APIRouter(tags=["account"], responses=error_responses(401))

Password = Annotated[str, Field(min_length=1, max_length=accounts.MAX_PASSWORD_LENGTH, repr=False)]


class AccountPublic(Public):
    username: str
    full_name: str
    role: str
    must_change_password: bool
    password_changed_at: datetime | None
    password_expires_at: datetime | None
    password_expired: bool
    needs_user_id_to_sign: bool
    """Whether the next signature with this bearer token needs the user id as well as the password."""


class PasswordChange(Body):
    current_password: Password
    new_password: Password


@router.get("/account")
def get_account(request: Request, identity: CurrentIdentity, application: ApplicationDep) -> AccountPublic:
    uow = application.unit_of_work(scope_of(identity))
    found = accounts.account(uow, identity.username)
    return AccountPublic(
        username=found.username,
        full_name=found.full_name,
        role=found.role.value,
        must_change_password=found.must_change_password,
        password_changed_at=found.password_changed_at,
        password_expires_at=found.password_expires_at,
        password_expired=found.password_expired,
        needs_user_id_to_sign=signatures.needs_user_id(application.unit_of_work(), bearer_token(request)),
    )


@router.post("/account/password", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(422))
def change_password(body: PasswordChange, identity: CurrentIdentity, application: ApplicationDep) -> Response:
    """Choose a new password, giving the current one. A wrong current password counts as a failed sign-in."""
    accounts.change_password(
        application.unit_of_work(scope_of(identity)), identity.username, body.current_password, body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
