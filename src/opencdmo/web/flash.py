"""Flash messages: one line said on the page a form redirects to ("Suite B-USP-3 added.").

Post/redirect/get needs the message to outlive the redirect. It travels in a short-lived HttpOnly cookie,
signed with the session's secret (``HMAC(session token, label + text)``): a cookie planted by anyone else, or
left by another session, is ignored. :func:`take` reads it once; the page that shows it clears it.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request, Response

from opencdmo.web import security
from opencdmo.web.sessions import clear_cookie, session_token, set_cookie

FLASH_COOKIE = "opencdmo_flash"
FLASH_LABEL = b"opencdmo/web/flash/v1:"
FLASH_SECONDS = 120
MAX_LENGTH = 300
MAX_COOKIE = 4000


def _signature(secret: str, text: str) -> str:
    return security.derive_token(secret, FLASH_LABEL + text.encode("utf-8"))


def flash(request: Request, response: Response, text: str) -> None:
    """Say ``text`` on the next page this session shows (nothing without a session)."""
    secret = session_token(request)
    if secret is None:
        return
    text = text[:MAX_LENGTH]
    encoded = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")
    set_cookie(request, response, FLASH_COOKIE, f"{encoded}.{_signature(secret, text)}", FLASH_SECONDS)


def pending(request: Request) -> bool:
    """Whether the request carries a flash cookie (to clear, whether or not it is valid)."""
    return FLASH_COOKIE in request.cookies


def take(request: Request) -> str | None:
    """The message of the flash cookie when it is this session's, else None."""
    secret, value = session_token(request), request.cookies.get(FLASH_COOKIE, "")
    if secret is None or "." not in value or len(value) > MAX_COOKIE:
        return None
    encoded, signature = value.rsplit(".", 1)
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text if security.same_token(_signature(secret, text), signature) else None


def clear(request: Request, response: Response) -> None:
    clear_cookie(request, response, FLASH_COOKIE)
