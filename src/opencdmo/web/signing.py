"""Electronic signatures on the web pages: the signing fields of a form, and the signatures of a record.

A page that signs includes ``_signature_form.html`` inside its ``<form>`` with a :class:`SigningPrompt` named
``signing`` in its context (made by :func:`signing_prompt`): the meaning of the signature in words, the user id
field only when the session's next signing needs it (:func:`signatures.needs_user_id`), and the password field.
Its POST handler turns the form into the service's credentials with :func:`credentials_from` (the session
cookie is the signing session) and calls its use case through :func:`signed`, which turns a refused signature
into a message beside the signing fields instead of the sign-in page the pages answer to an ``Unauthorized``::

    outcome = submit(values, (*FIELDS, *SIGNATURE_FIELDS), read,
                     lambda wanted: signed(request, values, lambda credentials: quality.approve(...,
                                           signer=viewer.identity.username, credentials=credentials)))

``_signatures.html`` shows a record's signatures (``signature_views``, a list of
:class:`~opencdmo.services.signatures.SignatureView`): printed name, user id, date and time (UTC), meaning and
comment, and a red "BROKEN" badge on a signature whose record changed after it was signed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import Request

from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Forbidden, InputError, Unauthorized
from opencdmo.services import accounts, signatures
from opencdmo.services.signatures import Credentials
from opencdmo.web.forms import FormInvalid, FormState
from opencdmo.web.sessions import Viewer, session_token

T = TypeVar("T")

USERNAME_FIELD = "signature_username"
PASSWORD_FIELD = "signature_password"  # noqa: S105 (a field's name, not a secret)
SIGNATURE_FIELDS = (USERNAME_FIELD, PASSWORD_FIELD)
"""Add to the fields of a form that signs, so that a refusal shows beside the signing fields."""

STATEMENTS = {
    Meaning.AUTHORED: "I am the author of this record",
    Meaning.REVIEWED: "I have reviewed this record",
    Meaning.APPROVED: "I approve this record",
    Meaning.VERIFIED: "I have verified this record",
    Meaning.RELEASED: "I release this record",
    Meaning.REJECTED: "I reject this record",
}
"""What each meaning of a signature says, in the words the signer reads before signing."""


@dataclass(frozen=True)
class SigningPrompt:
    """What ``_signature_form.html`` shows: the meaning, and whether the user id is asked for."""

    meaning: Meaning
    needs_user_id: bool
    form: FormState = field(default_factory=FormState)
    """The form as shown again after a refusal: its messages beside the signing fields (never the password)."""
    prefix: str = "sign"
    """Keeps the fields' ids unique when a page holds several signing forms."""

    @property
    def statement(self) -> str:
        return STATEMENTS[self.meaning]

    @property
    def username(self) -> str:
        return self.form.value(USERNAME_FIELD)

    def error(self, name: str) -> str:
        return self.form.error(name)

    @property
    def password_change_due(self) -> bool:
        """The signature was refused because the signer must change their password first."""
        return self.form.error(PASSWORD_FIELD) == signatures.CHANGE_PASSWORD_FIRST


def signing_prompt(
    request: Request, viewer: Viewer, meaning: Meaning, *, form: FormState | None = None, prefix: str = "sign"
) -> SigningPrompt:
    """The signing fields for the viewer's session, asking for the user id when the session's next signing
    needs it."""
    needs = signatures.needs_user_id(viewer.application.unit_of_work(), session_token(request))
    return SigningPrompt(meaning=Meaning(meaning), needs_user_id=needs, form=form or FormState(), prefix=prefix)


def credentials_from(request: Request, values: Mapping[str, str]) -> Credentials:
    """The signer's credentials from a submitted form and the session cookie; a missing password is refused
    here, before it could count as a failed attempt."""
    password = values.get(PASSWORD_FIELD, "")
    if not password:
        raise FormInvalid({PASSWORD_FIELD: "enter your password to sign"})
    if len(password) > accounts.MAX_PASSWORD_LENGTH:
        raise FormInvalid({PASSWORD_FIELD: f"at most {accounts.MAX_PASSWORD_LENGTH} characters"})
    username = values.get(USERNAME_FIELD, "").strip().lower()[:200] or None
    return Credentials(password=password, username=username, session_token=session_token(request))


class SigningRefused(InputError):
    """The signature was refused (wrong credentials, someone else's user id, a password to change first): shown
    beside the signing field at fault, or above the form."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


_FIELD_OF = {
    signatures.USER_ID_NEEDED: USERNAME_FIELD,
    signatures.SIGN_FOR_ANOTHER: USERNAME_FIELD,
    signatures.SIGNING_REFUSED: PASSWORD_FIELD,
    signatures.CHANGE_PASSWORD_FIRST: PASSWORD_FIELD,
}


def signed(request: Request, values: Mapping[str, str], act: Callable[[Credentials], T]) -> T:
    """Call ``act`` (a use case that signs) with the form's credentials; a refused signature becomes a
    :class:`SigningRefused` (an input error, which :func:`forms.submit` shows in the form)."""
    credentials = credentials_from(request, values)
    try:
        return act(credentials)
    except (Unauthorized, Forbidden) as error:
        message = str(error)
        raise SigningRefused(message, _FIELD_OF.get(message)) from error
