"""Templates and the one mapping of errors to HTML pages.

Every template extends ``base.html`` (navigation for what the role may do, the user, the sign-out form).
Jinja2 escapes every value; :data:`STATUS_TITLES` names each error page.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException

from opencdmo import domain, errors
from opencdmo.api.errors import status_of
from opencdmo.services import catalogue
from opencdmo.web import flash
from opencdmo.web.sessions import Viewer

logger = logging.getLogger("opencdmo.web")

try:
    ASSET_VERSION = version("opencdmo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    ASSET_VERSION = "dev"

# (label, path, the action needed to see it: None for every signed-in user)
NAVIGATION: tuple[tuple[str, str, domain.Action | None], ...] = (
    ("Dashboard", "/", None),
    ("Network", "/network", domain.Action.VIEW_NETWORK),
    ("Orders", "/orders", domain.Action.VIEW_ORDERS),
    ("Schedule", "/schedule", domain.Action.VIEW_SCHEDULE),
    ("API docs", "/docs", None),
)

STATUS_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Cannot accept this",
    500: "Something went wrong",
    503: "Unavailable",
}


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _day(value: date | datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("opencdmo.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=_when, day=_day, percent=_percent, number=_number)
    environment.globals.update(asset_version=ASSET_VERSION, Action=domain.Action)
    return environment


templates = Jinja2Templates(env=_environment())


def _viewer_of(request: Request) -> Viewer | None:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else None


def _sponsor_name(viewer: Viewer) -> str | None:
    if not viewer.is_sponsor:
        return None
    own = catalogue.list_sponsors(viewer.unit_of_work())
    return own[0].name if own else None


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page: ``template`` with ``context``, plus the viewer, the navigation they may use, the CSRF token and
    the flash message left by the form that redirected here."""
    viewer = _viewer_of(request)
    navigation = [
        {"label": label, "path": path, "active": _active(request.url.path, path)}
        for label, path, action in NAVIGATION
        if viewer is not None and (action is None or viewer.can(action))
    ]
    full = {
        "viewer": viewer,
        "sponsor_name": _sponsor_name(viewer) if viewer is not None else None,
        "navigation": navigation,
        "csrf_token": viewer.csrf_token if viewer is not None else "",
        "flash": flash.take(request) if viewer is not None else None,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, full, status_code=status, headers=headers)
    assert isinstance(response, HTMLResponse)
    if flash.pending(request):
        flash.clear(request, response)  # said once (or not this session's: dropped)
    return response


def _active(current: str, path: str) -> bool:
    return current == path if path == "/" else current == path or current.startswith(f"{path}/")


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = STATUS_TITLES.get(status, "Error")
    return render(request, "error.html", {"title": title, "status": status, "message": message}, status=status)


def error_answer(request: Request, error: Exception, *, as_json: bool) -> Response:
    """The one mapping of an error raised by a page (or its data endpoint) to its answer."""
    if isinstance(error, errors.OpenCDMOError):
        status, name = status_of(error)
        message = str(error)
    elif isinstance(error, RequestValidationError):
        status, name = 422, "invalid-input"
        message = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'] if part not in ('query', 'body', 'path'))}: "
            f"{problem['msg']}"
            for problem in error.errors()
        )
    elif isinstance(error, HTTPException):
        status, name, message = error.status_code, "http-error", str(error.detail)
    else:
        logger.error("a page failed: %s %s", request.method, request.url.path, exc_info=error)
        status, name = 500, "internal-error"
        message = "the server failed to handle the request; it has been logged"
    if status == 500 and isinstance(error, errors.OpenCDMOError):
        logger.error("a page failed: %s %s", request.method, request.url.path, exc_info=error)
        message = "the server failed to handle the request; it has been logged"
    if as_json:
        return JSONResponse({"error": name, "detail": message}, status_code=status)
    return error_page(request, status, message)
