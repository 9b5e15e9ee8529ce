"""FJSPLIB text: ``jobs machines [flexibility]``, then per job ``n`` operations, each ``k (machine time)*k``.

Machines are numbered from 1. Operations of a job run in order; the objective is the makespan.
"""

from __future__ import annotations

from pathlib import Path

from opencdmo.scheduling.errors import ReaderError
from opencdmo.scheduling.problem import Mode, Precedence, Problem, Task
from opencdmo.scheduling.readers._shop import shop_problem


def _numbers(text: str, path: str) -> list[tuple[int, list[int]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, [int(float(v)) for v in line.split()]))
        except ValueError as exc:
            raise ReaderError(f"expected numbers, got {line.strip()[:40]!r}", path=path, line=number) from exc
    return rows


def parse_fjsp(text: str, *, name: str = "", path: str = "<text>") -> Problem:
    rows = _numbers(text, path)
    if not rows or len(rows[0][1]) < 2:
        raise ReaderError("first line must give the number of jobs and machines", path=path, line=1)
    num_jobs, num_machines = rows[0][1][0], rows[0][1][1]
    if len(rows) - 1 < num_jobs:
        raise ReaderError(f"header announces {num_jobs} jobs, found {len(rows) - 1} job lines", path=path)
    tasks: list[Task] = []
    precedences: list[Precedence] = []
    for job in range(num_jobs):
        line, values = rows[1 + job]
        position = 0

        def take(what: str, *, line: int = line, values: list[int] = values) -> int:
            nonlocal position
            if position >= len(values):
                raise ReaderError(f"line ends early: expected {what}", path=path, line=line)
            position += 1
            return values[position - 1]

        for operation in range(take("the number of operations")):
            modes = []
            for _ in range(take("the number of machines")):
                machine, duration = take("a machine"), take("a duration")
                if not 1 <= machine <= num_machines:
                    raise ReaderError(f"machine {machine} is not in 1..{num_machines}", path=path, line=line)
                modes.append(Mode((machine - 1,), duration))
            if not modes:
                raise ReaderError(f"operation {operation + 1} of job {job + 1} has no machine", path=path, line=line)
            if operation > 0:
                precedences.append(Precedence(len(tasks) - 1, len(tasks)))
            tasks.append(Task(tuple(modes), job=job, name=f"J{job + 1}.O{operation + 1}"))
        if position != len(values):
            raise ReaderError("extra numbers at the end of the line", path=path, line=line)
    return shop_problem(
        tasks,
        precedences,
        job_names=[f"J{j + 1}" for j in range(num_jobs)],
        machine_names=[f"M{m + 1}" for m in range(num_machines)],
        name=name,
        path=path,
    )


def read_fjsp(path: Path) -> Problem:
    return parse_fjsp(path.read_text(), name=path.stem, path=str(path))
