"""What the command line shows: the two consoles and the progress displays for long steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from opencdmo.scheduling import Progress as SolveProgress

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def steps(title: str) -> Iterator[Callable[[str], None]]:
    """A progress display for multi-step work; yields a callback that announces the current step."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=None, step="")

        def announce(step: str) -> None:
            progress.update(task, step=step)

        yield announce


@contextmanager
def solving(title: str, time_limit: float) -> Iterator[tuple[Callable[[str], None], Callable[[SolveProgress], None]]]:
    """A progress bar over the solver's time limit, with the current step and the best plan found so far."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(title, total=time_limit, step="")
        started = time.perf_counter()
        done = threading.Event()

        def tick() -> None:
            while not done.wait(0.25):
                progress.update(task, completed=min(time_limit, time.perf_counter() - started))

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()

        def announce(step: str) -> None:
            progress.update(task, step=step)

        def improved(found: SolveProgress) -> None:
            progress.update(task, step=f"best objective {found.objective:,} at {found.seconds:.1f} s")

        try:
            yield announce, improved
        finally:
            done.set()
            ticker.join()
