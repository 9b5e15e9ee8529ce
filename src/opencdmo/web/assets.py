"""Static assets, all from installed packages (no CDN, plants are often offline): our own CSS and scripts,
plotly.js from the ``plotly`` package, Swagger UI from ``swagger-ui-bundle-v2``; and the API docs page."""

from __future__ import annotations

from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

from opencdmo.errors import NotFound
from opencdmo.web import security
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import resolve

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Vendored files never change under one URL (the page adds ?v=<package version>): cache them for a year.
FOREVER = "public, max-age=31536000, immutable"
SWAGGER_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}


def _package_file(package: str, *parts: str) -> Path:
    resource = files(package).joinpath(*parts)
    with as_file(resource) as path:  # installed packages are plain directories: the path stays valid
        return Path(path)


@cache
def plotly_js() -> Path:
    """plotly.min.js as shipped inside the ``plotly`` Python package."""
    return _package_file("plotly", "package_data", "plotly.min.js")


@cache
def swagger_ui_dir() -> Path:
    """Swagger UI's distribution inside the ``swagger_ui_bundle`` package (one vendor/swagger-ui-X folder)."""
    vendor = _package_file("swagger_ui_bundle", "vendor")
    found = sorted(path for path in vendor.iterdir() if path.is_dir() and path.name.startswith("swagger-ui-"))
    if not found:
        raise FileNotFoundError(f"no Swagger UI distribution in {vendor}")
    return found[-1]


def static_files() -> StaticFiles:
    return StaticFiles(directory=_package_file("opencdmo.web", "static"))


@router.get("/static/vendor/plotly.min.js")
def plotly() -> FileResponse:
    return FileResponse(plotly_js(), media_type="text/javascript", headers={"Cache-Control": FOREVER})


@router.get("/static/vendor/swagger-ui/{name}")
def swagger_asset(name: str) -> FileResponse:
    media_type = SWAGGER_FILES.get(name)
    if media_type is None:  # a fixed list: no path from the request ever reaches the file system
        raise NotFound("file", name)
    return FileResponse(swagger_ui_dir() / name, media_type=media_type, headers={"Cache-Control": FOREVER})


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over /api/v1/openapi.json; open to all, like the document it shows (calls need a token)."""
    resolve(request)  # a signed-in user gets the navigation
    return render(request, "docs.html", headers={"Content-Security-Policy": security.INLINE_STYLE_CSP})
