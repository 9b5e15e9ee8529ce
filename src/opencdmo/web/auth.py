"""Signing in and out.

The sign-in form is protected against login CSRF by a random pre-session cookie (``opencdmo_login``) whose
HMAC is the form's hidden token. Every refusal (unknown user, wrong password, locked or inactive account)
shows the same message, so the page tells nothing about which it was. Signing in issues a fresh session
token (so a planted cookie is useless); signing out revokes it at once.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencdmo.api.deps import get_application
from opencdmo.errors import Conflict, Unauthorized
from opencdmo.services import accounts
from opencdmo.web import security
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    FormViewer,
    clear_cookie,
    resolve,
    session_token,
    set_cookie,
    settings_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_COOKIE_SECONDS = 60 * 60
SIGN_IN_REFUSED = "Sign-in refused: unknown username or wrong password, or the account is locked or inactive."
MISSING_FIELDS = "Enter your username and your password."


def _login_secret(request: Request) -> str:
    value = request.cookies.get(LOGIN_COOKIE, "")
    return value if 20 <= len(value) <= 100 else ""


def _login_form(
    request: Request, next_path: str, *, username: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    secret = _login_secret(request) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "next_path": security.safe_next(next_path),
            "username": username,
            "error": error,
            "login_token": security.derive_token(secret, security.LOGIN_CSRF_LABEL),
        },
        status=status,
    )
    set_cookie(request, response, LOGIN_COOKIE, secret, LOGIN_COOKIE_SECONDS)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if resolve(request) is not None:
        return RedirectResponse(security.safe_next(next), status_code=303)
    return _login_form(request, next)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_LENGTH)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not security.token_matches(_login_secret(request), security.LOGIN_CSRF_LABEL, csrf_token):
        raise CsrfRefused()
    username = username.strip().lower()
    if not username or not password:
        return _login_form(request, next, username=username, error=MISSING_FIELDS, status=422)
    application = get_application(request)
    try:
        identity = accounts.authenticate(application.unit_of_work(), username, password)
        token = accounts.issue_session_token(
            application.unit_of_work(), identity.username, lifetime=settings_of(request).session_lifetime
        )
    except (Unauthorized, Conflict):
        return _login_form(request, next, username=username, error=SIGN_IN_REFUSED, status=401)
    response = RedirectResponse(security.safe_next(next), status_code=303)
    lifetime = int(settings_of(request).session_lifetime.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, token, lifetime)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, viewer: FormViewer) -> Response:
    token = session_token(request)
    if token is not None:
        accounts.revoke_token(viewer.application.unit_of_work(), token, actor=viewer.identity.username)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
