"""opencdmo serve: the web API on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Run the REST API (its OpenAPI schema at /api/v1/openapi.json). Stop with Ctrl-C."""
    import uvicorn

    from opencdmo.api import create_app

    with ready_app() as application:
        ui.err.print(f"serving OpenCDMO on http://{host}:{port}/api/v1 (schema: /api/v1/openapi.json)")
        uvicorn.run(create_app(application), host=host, port=port, log_level="info")
