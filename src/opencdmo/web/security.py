"""Browser-facing protections: security headers, CSRF tokens and the check of a ``next`` redirect target.

CSRF tokens are derived, not stored: ``HMAC-SHA256(secret, label)`` of the session's secret (the token in the
HttpOnly session cookie) or, on the sign-in form, of a random pre-session cookie. A page from another site can
neither read those cookies nor compute the token, and the check is in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_CSRF_LABEL = b"opencdmo/web/csrf/session/v1"
LOGIN_CSRF_LABEL = b"opencdmo/web/csrf/login/v1"

# Pages: scripts and styles only from this server, no inline script, no framing, no plugins.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The Gantt chart (plotly.js adds its own style rules in a <style> element, draws heat maps as data: images)
# and Swagger UI (style attributes in its markup, data: icons) need inline styles, on their pages only.
# Scripts stay 'self' only: no inline script, no eval.
INLINE_STYLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COMMON_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def derive_token(secret: str, label: bytes) -> str:
    """The CSRF token that goes with ``secret`` (a session token or a pre-session cookie)."""
    return hmac.new(secret.encode("utf-8"), label, hashlib.sha256).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether ``given`` is the ``expected`` CSRF token, compared in constant time; False when either is missing."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def token_matches(secret: str | None, label: bytes, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of ``secret`` (see :func:`derive_token`)."""
    return bool(secret) and same_token(derive_token(secret or "", label), given)


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``: never an open redirect.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host`` as ``//host``),
    control characters, and anything under the API or the sign-in page itself.
    """
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in ("/login", "/logout") or parts.path.startswith("/api/"):
        return default
    return target


class SecurityHeaders:
    """ASGI middleware adding the browser security headers to every answer outside the JSON API.

    A route may set its own Content-Security-Policy or Cache-Control; otherwise pages get :data:`PAGE_CSP`
    and ``Cache-Control: no-store``.
    """

    def __init__(self, app: ASGIApp, api_prefix: str = "/api/") -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(self.api_prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = PAGE_CSP
                if "cache-control" not in headers:
                    # Pages show a signed-in user's data: never stored. Our own static files: revalidated.
                    headers["Cache-Control"] = "no-cache" if path.startswith("/static/") else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
