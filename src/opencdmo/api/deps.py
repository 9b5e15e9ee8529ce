"""Dependencies every route shares: the application, the caller's identity from a bearer token, and the
role check that turns it into a :class:`Caller` whose unit of work is scoped to what the caller may see.

A route states its action once: ``caller: Annotated[Caller, Depends(require(Action.VIEW_ORDERS))]``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from opencdmo import domain
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Forbidden, Unauthorized
from opencdmo.services import accounts
from opencdmo.services.jobs import PlanJobs
from opencdmo.services.read_cache import ReadCache
from opencdmo.services.unit_of_work import UnitOfWork

bearer = HTTPBearer(auto_error=False, description="An API token made by `opencdmo user token USERNAME`.")


def get_application(request: Request) -> App:
    application = request.app.state.opencdmo
    if not isinstance(application, App):
        raise TypeError("the API was not built by create_app()")
    return application


ApplicationDep = Annotated[App, Depends(get_application)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def current_identity(application: ApplicationDep, credentials: Credentials) -> accounts.Identity:
    if credentials is None:
        raise Unauthorized(accounts.BEARER_REFUSED)
    return accounts.resolve_token(application.unit_of_work(), credentials.credentials)


CurrentIdentity = Annotated[accounts.Identity, Depends(current_identity)]


def scope_of(identity: accounts.Identity) -> Scope:
    """Staff see every sponsor; a sponsor user only its own. A sponsor user without a sponsor sees nothing."""
    if identity.role is domain.Role.SPONSOR:
        if identity.sponsor_id is None:
            raise Forbidden("this sponsor user is not bound to a sponsor")
        return Scope(sponsor_id=identity.sponsor_id)
    return Scope.staff()


@dataclass(frozen=True)
class Caller:
    """An authenticated caller allowed the route's action."""

    identity: accounts.Identity
    application: App

    def unit_of_work(self) -> UnitOfWork:
        return self.application.unit_of_work(scope_of(self.identity))

    @property
    def sponsor_id(self) -> int | None:
        """Whose records this caller sees: a sponsor's id, or None for CDMO staff (part of every memo key)."""
        return scope_of(self.identity).sponsor_id


def require(action: domain.Action) -> Callable[[accounts.Identity, App], Caller]:
    """A dependency that admits only callers whose role may perform ``action``."""

    def dependency(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
        if not identity.can(action):
            raise Forbidden(f"the role {identity.role.value!r} may not {action.value.replace('-', ' ')}")
        return Caller(identity=identity, application=application)

    return dependency


_plan_jobs_lock = threading.Lock()


def get_plan_jobs(request: Request) -> PlanJobs:
    """The application's registry of background solves, made on first use (the API and the web pages share it)."""
    state = request.app.state
    with _plan_jobs_lock:
        registry = getattr(state, "plan_jobs", None)
        if registry is None:
            registry = PlanJobs()
            state.plan_jobs = registry
    if not isinstance(registry, PlanJobs):
        raise TypeError("app.state.plan_jobs is not a PlanJobs registry")
    return registry


PlanJobsDep = Annotated[PlanJobs, Depends(get_plan_jobs)]


def get_read_cache(request: Request) -> ReadCache:
    """The application's memo of much-polled read models (the newest plan, the KPIs), made on first use."""
    state = request.app.state
    with _plan_jobs_lock:
        cache = getattr(state, "read_cache", None)
        if cache is None:
            cache = ReadCache()
            state.read_cache = cache
    if not isinstance(cache, ReadCache):
        raise TypeError("app.state.read_cache is not a ReadCache")
    return cache


ReadCacheDep = Annotated[ReadCache, Depends(get_read_cache)]


def location(*segments: str) -> str:
    """The path of a record under the API, for a Location header: ``location("sites", name)``."""
    from opencdmo.api.app import API_PREFIX  # here, not above: the app imports the routes, which import this

    return API_PREFIX + "".join(f"/{quote(segment, safe='')}" for segment in segments)
