"""opencdmo serve: the web application and the REST API on uvicorn."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.errors import InputError


def _origin(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address needs brackets in a URL
    return f"http://{shown}:{port}"


def _check_free(host: str, port: int) -> None:
    """Refuse with a plain message, before anything starts, when the address is taken or cannot be used."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as error:
        raise InputError(
            f"cannot serve on {host} port {port}: {error.strerror or error}; stop what uses it or choose another --port"
        ) from None


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Run the web application and the REST API (/api/v1, schema at /api/v1/openapi.json). Stop with Ctrl-C."""
    import uvicorn

    from opencdmo.api import create_app

    origin = _origin(host, port)
    with ready_app() as application:
        _check_free(host, port)
        ui.out.print(f"serving OpenCDMO on {origin} (Ctrl-C stops it)")
        ui.say("  web app ", f"{origin}/  (demo sign-ins: opencdmo demo-users)")
        ui.say("  API docs", f"{origin}/docs")
        ui.say("  REST API", f"{origin}/api/v1  (OpenAPI document: {origin}/api/v1/openapi.json)")
        uvicorn.run(create_app(application), host=host, port=port, log_level="info")
