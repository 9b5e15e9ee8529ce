"""The server-rendered web application: pages for planners, QA and sponsors over the same services as the API.

:func:`install` adds to the API application: sign-in and sign-out (``/login``, ``/logout``), the pages
(``/``, ``/network``, ``/network/suites/{name}``, ``/orders``, ``/orders/{number}``, ``/batches/{lot}``,
``/schedule``, ``/schedule/versions``, ``/schedule/compare``, ``/schedule/jobs/{id}``), their forms (POSTs to
add a site or a suite, change a suite, add or remove downtime, create or change an order, start a solve), the
JSON of the Gantt chart (``/schedule/data.json``) and of a solve's progress (``/schedule/jobs/{id}.json``), the
API docs (``/docs``) and the static assets (``/static``), with browser security headers on everything outside
``/api/``. Sessions, CSRF and role checks: :mod:`.sessions`; forms: :mod:`.forms`; the plan cache and how it is
kept fresh after edits: :mod:`.plans`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from opencdmo.bootstrap import App
from opencdmo.web import (
    account,
    assets,
    audit_trail,
    auth,
    batch_records,
    deviations,
    disposition,
    master_records,
    network,
    orders,
    pages,
    plan_jobs,
    qc,
    schedule,
    training,
    versions,
)
from opencdmo.web.plans import ForgetPlansOnWrites, PlanCache
from opencdmo.web.rendering import error_page
from opencdmo.web.security import SecurityHeaders
from opencdmo.web.sessions import WebSettings, resolve

__all__ = ["ROUTERS", "WebSettings", "install"]

API_PREFIX = "/api/"
ROUTERS = tuple(
    module.router
    for module in (
        auth,
        pages,
        account,
        network,
        orders,
        schedule,
        plan_jobs,
        versions,
        training,
        master_records,
        batch_records,
        disposition,
        audit_trail,
        deviations,
        qc,
        assets,
    )
)
"""Every router of the web pages, in the order they are matched."""


def install(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the web pages and their static assets to ``app`` (the API application)."""
    settings = settings or WebSettings.from_environment()
    app.state.opencdmo_web = settings
    plans = PlanCache(settings.plan_cache_seconds)
    app.state.opencdmo_plans = plans
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", assets.static_files(), name="static")
    app.add_middleware(SecurityHeaders, api_prefix=API_PREFIX)
    app.add_middleware(ForgetPlansOnWrites, plans=plans, prefix=API_PREFIX)
    _answer_unknown_pages_in_html(app)
    _read_the_plan_at_start(app, plans)


def _read_the_plan_at_start(app: FastAPI, plans: PlanCache) -> None:
    """When the server starts (the ASGI lifespan), read the newest plan in the background, so the first page
    that shows it does not wait for it (the 5,000-batch demo takes seconds). Runs around any other lifespan."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi: Any) -> AsyncIterator[Any]:
        async with inner(asgi) as state:
            application = getattr(asgi.state, "opencdmo", None)
            if isinstance(application, App):
                threading.Thread(
                    target=plans.warm, args=(application.unit_of_work,), name="opencdmo-plan-warm", daemon=True
                ).start()
            yield state

    app.router.lifespan_context = lifespan


def _answer_unknown_pages_in_html(app: FastAPI) -> None:
    """An unknown page (404) or a wrong method (405) outside the API answers an HTML page; the API keeps its
    own JSON answer, through the handler it installed."""
    api_handler = app.exception_handlers.get(HTTPException)

    async def handler(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if request.url.path.startswith(API_PREFIX) and api_handler is not None:
            answer = api_handler(request, error)
            return await answer if not isinstance(answer, Response) else answer
        message = "there is no such page" if error.status_code == 404 else str(error.detail)
        return await run_in_threadpool(_error_page, request, error.status_code, message)

    app.add_exception_handler(HTTPException, handler)


def _error_page(request: Request, status: int, message: str) -> Response:
    resolve(request)  # a signed-in user gets the navigation
    return error_page(request, status, message)
