"""Electronic signatures in the API: the signing part of a request body, and signatures as the API shows them.

A route that signs takes a :class:`SignatureIn` (usually as the ``signature`` field of its body) and turns it
into the service's :class:`~opencdmo.services.signatures.Credentials` with :func:`credentials_from`, which adds
the caller's bearer token: the token is the signing session, so the first signing with a token needs the user
id and the password, later ones within the signing timeout only the password (21 CFR Part 11 §11.200)::

    @router.post("/master-records/{process}/{version}/approve")
    def approve(..., body: ApproveIn, caller: Approver, request: Request) -> MasterRecordPublic:
        record = quality.approve_master_record(..., signer=caller.identity.username,
                                               credentials=credentials_from(request, body.signature))
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from opencdmo.api.schemas import Printable, Public
from opencdmo.services.accounts import MAX_PASSWORD_LENGTH
from opencdmo.services.signatures import Credentials, SignatureView

BEARER_PREFIX = "bearer "
MAX_TOKEN_LENGTH = 200


class SignatureIn(BaseModel):
    """The signer's credentials: the password always, the user id on the first signing of a session (a bearer
    token) and after the signing timeout."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, repr=False)]
    username: Annotated[str, Field(min_length=1, max_length=60), Printable] | None = None


class SignaturePublic(Public):
    """A signature with its manifestation; ``intact`` is False when the record changed after it was signed."""

    printed_name: str
    username: str
    meaning: str
    signed_at: datetime
    comment: str | None
    intact: bool
    manifestation: str

    @classmethod
    def from_view(cls, view: SignatureView) -> SignaturePublic:
        return cls(
            printed_name=view.printed_name,
            username=view.username,
            meaning=view.meaning.value,
            signed_at=view.signed_at,
            comment=view.comment,
            intact=view.intact,
            manifestation=view.manifestation,
        )


def bearer_token(request: Request) -> str | None:
    """The caller's bearer token (the API's signing session), if the request carries one."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER_PREFIX):
        return None
    token = header[len(BEARER_PREFIX) :].strip()
    return token if token and len(token) <= MAX_TOKEN_LENGTH else None


def credentials_from(request: Request, body: SignatureIn) -> Credentials:
    """The service's credentials from a signing body and the request's bearer token."""
    return Credentials(password=body.password, username=body.username, session_token=bearer_token(request))
