"""Standard JSSP text (OR-Library / Taillard-as-OR-Library): ``jobs machines`` then per job ``(machine time)*m``.

Machines are numbered from 0. Lines starting with ``#`` and a leading ``instance`` title block are skipped.
"""

from __future__ import annotations

from pathlib import Path

from opencdmo.scheduling.errors import ReaderError
from opencdmo.scheduling.problem import Mode, Precedence, Problem, Task
from opencdmo.scheduling.readers._shop import shop_problem


def parse_jssp(text: str, *, name: str = "", path: str = "<text>") -> Problem:
    rows: list[tuple[int, list[int]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            rows.append((number, [int(v) for v in stripped.split()]))
        except ValueError:
            if rows:
                raise ReaderError(f"expected numbers, got {stripped[:40]!r}", path=path, line=number) from None
    if not rows or len(rows[0][1]) != 2:
        raise ReaderError("first data line must give the number of jobs and machines", path=path)
    num_jobs, num_machines = rows[0][1]
    if len(rows) - 1 < num_jobs:
        raise ReaderError(f"header announces {num_jobs} jobs, found {len(rows) - 1} job lines", path=path)
    tasks: list[Task] = []
    precedences: list[Precedence] = []
    for job in range(num_jobs):
        line_number, values = rows[1 + job]
        if len(values) % 2:
            raise ReaderError("a job line holds pairs of machine and duration", path=path, line=line_number)
        for operation in range(len(values) // 2):
            machine, duration = values[2 * operation], values[2 * operation + 1]
            if not 0 <= machine < num_machines:
                raise ReaderError(f"machine {machine} is not in 0..{num_machines - 1}", path=path, line=line_number)
            if operation > 0:
                precedences.append(Precedence(len(tasks) - 1, len(tasks)))
            tasks.append(Task((Mode((machine,), duration),), job=job, name=f"J{job}.O{operation}"))
    return shop_problem(
        tasks,
        precedences,
        job_names=[f"J{j}" for j in range(num_jobs)],
        machine_names=[f"M{m}" for m in range(num_machines)],
        name=name,
        path=path,
    )


def read_jssp(path: Path) -> Problem:
    return parse_jssp(path.read_text(), name=path.stem, path=str(path))
