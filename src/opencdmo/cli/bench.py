"""The bench command: solve public scheduling instances and compare with best-known bounds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opencdmo.cli.app import app, handle_errors
from opencdmo.errors import InputError


@app.command()
@handle_errors
def bench(
    files: Annotated[
        list[Path], typer.Argument(help="Instance files (FJSPLIB .fjs/.txt, JSSP text, PyJobShop .json).")
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="fjsp, jssp or pyjobshop; by default from each file's content.")
    ] = None,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per instance.")] = 60.0,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Solver threads.")] = 2,
    strategy: Annotated[str, typer.Option(help="auto, cpsat or greedy.")] = "auto",
    bks: Annotated[Path | None, typer.Option(help="bks.json with best-known bounds, to report RPD.")] = None,
) -> None:
    """Solve public scheduling instances: one JSON line per instance, then a table."""
    from opencdmo.bench_command import run_bench
    from opencdmo.scheduling import SchedulingError

    try:
        code = run_bench(files, fmt, time_limit, workers, strategy, bks, sys.stdout)
    except SchedulingError as error:
        raise InputError(str(error)) from None
    if code:
        raise typer.Exit(code)
