"""The FastAPI application factory. Nothing connects at import: the caller passes the bootstrapped App."""

from __future__ import annotations

from fastapi import FastAPI

from opencdmo import web
from opencdmo.api import errors
from opencdmo.api.routes import ROUTERS
from opencdmo.bootstrap import App

API_PREFIX = "/api/v1"


def create_app(application: App) -> FastAPI:
    api = FastAPI(
        title="OpenCDMO",
        summary="The network, sponsors' work and schedules of a contract manufacturing organization.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # FastAPI's interactive docs load their scripts from a CDN, and plants are offline: the schema is
        # served, the docs page comes back once its assets are served by the app itself.
        docs_url=None,
        redoc_url=None,
    )
    api.state.opencdmo = application
    errors.install(api)
    for router in ROUTERS:
        api.include_router(router, prefix=API_PREFIX)
    web.install(api)
    return api
