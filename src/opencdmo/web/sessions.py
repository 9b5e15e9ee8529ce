"""Browser sessions: who is signed in, what they may do, and the CSRF token of their forms.

A session is an accounts token with a short expiry (:func:`accounts.issue_session_token`) held in the HttpOnly
cookie ``opencdmo_session``; only its SHA-256 digest is stored, and signing out revokes it at once. A page
states its action once: ``viewer: Annotated[Viewer, Depends(page(Action.VIEW_ORDERS))]``. Without a valid
session a page answers a redirect to the sign-in page; a role lacking the action answers 403.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Request, Response

from opencdmo import domain
from opencdmo.api.deps import get_application, scope_of
from opencdmo.bootstrap import App
from opencdmo.errors import ConfigurationError, Forbidden, Unauthorized
from opencdmo.services import accounts
from opencdmo.services.unit_of_work import UnitOfWork
from opencdmo.web import security

SESSION_COOKIE = "opencdmo_session"
LOGIN_COOKIE = "opencdmo_login"
CSRF_FIELD = "csrf_token"
SECURE_COOKIES_VARIABLE = "OPENCDMO_SECURE_COOKIES"


@dataclass(frozen=True)
class WebSettings:
    """How the web pages behave. ``secure_cookies=None`` marks cookies Secure when the request came over https
    (behind a TLS proxy, run uvicorn with its proxy headers on); True or False forces it."""

    secure_cookies: bool | None = None
    session_lifetime: timedelta = accounts.SESSION_LIFETIME
    plan_cache_seconds: float = 120.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        value = env.get(SECURE_COOKIES_VARIABLE, "").strip().lower()
        if value in ("", "auto"):
            return cls()
        if value in ("1", "true", "yes"):
            return cls(secure_cookies=True)
        if value in ("0", "false", "no"):
            return cls(secure_cookies=False)
        raise ConfigurationError(f"{SECURE_COOKIES_VARIABLE}: expected 1, 0 or auto, not {value!r}")


class LoginRequired(Exception):
    """No valid session: the page answers a redirect to the sign-in page, coming back to ``next`` after it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Forbidden):
    """A form came without the CSRF token of the session (or of the sign-in page)."""

    def __init__(self) -> None:
        super().__init__(
            "this form was not sent from an OpenCDMO page of your current session (it may have expired): "
            "go back, reload the page and try again"
        )


@dataclass(frozen=True)
class Viewer:
    """A signed-in user, as a page sees them: identity, what they may do, their scoped unit of work."""

    identity: accounts.Identity
    application: App
    csrf_token: str

    @property
    def is_sponsor(self) -> bool:
        return self.identity.role is domain.Role.SPONSOR

    def can(self, action: domain.Action | str) -> bool:
        return self.identity.can(domain.Action(action))

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work that sees only what this user may see (a sponsor user: its own sponsor's rows)."""
        return self.application.unit_of_work(scope_of(self.identity))


def settings_of(request: Request) -> WebSettings:
    settings = getattr(request.app.state, "opencdmo_web", None)
    return settings if isinstance(settings, WebSettings) else WebSettings()


def secure(request: Request) -> bool:
    forced = settings_of(request).secure_cookies
    return request.url.scheme == "https" if forced is None else forced


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure(request))


def login_url(next_path: str | None) -> str:
    target = security.safe_next(next_path)
    return "/login" if target == "/" else f"/login?{urlencode({'next': target})}"


def requested_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= 200 else None


def resolve(request: Request) -> Viewer | None:
    """The signed-in user of this request, or None (no cookie, or an unknown, expired or revoked session)."""
    token = session_token(request)
    if token is None:
        return None
    application = get_application(request)
    try:
        identity = accounts.resolve_token(application.unit_of_work(), token)
    except Unauthorized:
        return None
    viewer = Viewer(
        identity=identity,
        application=application,
        csrf_token=security.derive_token(token, security.SESSION_CSRF_LABEL),
    )
    request.state.viewer = viewer
    return viewer


def current_viewer(request: Request) -> Viewer:
    viewer = resolve(request)
    if viewer is None:
        raise LoginRequired(requested_path(request))
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


def _refused(viewer: Viewer, action: domain.Action) -> Forbidden:
    return Forbidden(f"the role {viewer.identity.role.value!r} may not {action.value.replace('-', ' ')}")


def page(action: domain.Action | None = None) -> Callable[[Viewer], Viewer]:
    """A dependency that admits signed-in users whose role may perform ``action`` (any signed-in user if None)."""

    def dependency(viewer: CurrentViewer) -> Viewer:
        if action is not None and not viewer.can(action):
            raise _refused(viewer, action)
        return viewer

    return dependency


def form_viewer(viewer: CurrentViewer, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Viewer:
    """The signed-in user of a form POST whose CSRF token matches their session; else 403."""
    if not security.same_token(viewer.csrf_token, csrf_token):
        raise CsrfRefused()
    return viewer


FormViewer = Annotated[Viewer, Depends(form_viewer)]


def form_page(action: domain.Action) -> Callable[[Viewer], Viewer]:
    """A dependency for a form POST: the CSRF token checked first (403), then the role's ``action`` (403)."""

    def dependency(viewer: FormViewer) -> Viewer:
        if not viewer.can(action):
            raise _refused(viewer, action)
        return viewer

    return dependency
