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
from rich.text import Text

if TYPE_CHECKING:
    from opencdmo.scheduling import Progress as SolveProgress


def console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console that never reads text as Rich markup: names from files may contain '[' and ']'."""
    return Console(stderr=stderr, width=width, markup=False, highlight=False)


out = console()
err = console(stderr=True)


def say(label: str, text: str = "") -> None:
    """One line on stdout: a bold label, then plain text."""
    out.print(Text.assemble((label, "bold"), "  " if text else "", text), soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    err.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def steps(title: str) -> Iterator[Callable[[str], None]]:
    """A progress display for multi-step work; yields a callback that announces the current step."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold", markup=False),
        TextColumn("{task.fields[step]}", markup=False),
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
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}", markup=False),
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
