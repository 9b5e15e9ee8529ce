"""What the text readers share: turning parsed job chains into a validated problem."""

from __future__ import annotations

from collections.abc import Sequence

from opencdmo.scheduling.errors import ProblemDataError, ReaderError
from opencdmo.scheduling.problem import Job, Machine, Precedence, Problem, Task


def shop_problem(
    tasks: Sequence[Task],
    precedences: Sequence[Precedence],
    *,
    job_names: Sequence[str],
    machine_names: Sequence[str],
    name: str,
    path: str,
) -> Problem:
    """The problem of a (flexible) job shop; invalid data is reported as a fault of the file."""
    try:
        return Problem(
            jobs=tuple(Job(name=job) for job in job_names),
            resources=tuple(Machine(name=machine) for machine in machine_names),
            tasks=tuple(tasks),
            precedences=tuple(precedences),
            name=name,
        )
    except ProblemDataError as exc:
        raise ReaderError(str(exc), path=path) from exc
