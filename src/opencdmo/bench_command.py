"""``opencdmo bench``: solve instance files and report one JSON line per instance, then a table.

Kept out of ``cli.py`` so the CLI only parses arguments; errors are the scheduling library's
(:class:`~opencdmo.scheduling.errors.ReaderError`, :class:`~opencdmo.scheduling.errors.ProblemDataError`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from opencdmo.scheduling import ProblemDataError, ReaderError, solve
from opencdmo.scheduling.readers import FORMATS, read_problem


def load_best_known(path: Path) -> dict[str, int]:
    """Best-known upper bounds by instance name from a ``bks.json`` list (as in the shared benchmarks)."""
    try:
        rows = json.loads(path.read_text())
    except OSError as exc:
        raise ReaderError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ReaderError(f"not valid JSON: {exc.msg}", path=str(path), line=exc.lineno) from exc
    if not isinstance(rows, list):
        raise ReaderError("expected a list of {instance, upper_bound} objects", path=str(path))
    bounds = {}
    for row in rows:
        if isinstance(row, dict) and "instance" in row and row.get("upper_bound") is not None:
            bounds[str(row["instance"])] = int(row["upper_bound"])
    return bounds


def instance_name(path: Path) -> str:
    """The name bks.json uses: the file stem (``mk01.txt`` → ``mk01``)."""
    return path.stem


def rpd(objective: int | None, best: int | None) -> float | None:
    """Relative percentage deviation to the best-known upper bound."""
    if objective is None or not best:
        return None
    return 100.0 * (objective - best) / best


def run_bench(
    files: list[Path],
    fmt: str | None,
    time_limit: float,
    workers: int,
    strategy: str,
    bks: Path | None,
    out: TextIO,
) -> int:
    """Solve each file, print a JSON line per instance and then a table. Returns 0 (errors raise)."""
    if fmt is not None and fmt not in FORMATS:
        raise ProblemDataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", field="format")
    best = load_best_known(bks) if bks is not None else {}
    rows = []
    for path in files:
        problem = read_problem(path, fmt)
        result = solve(problem, time_limit=time_limit, workers=workers, strategy=strategy)
        row = {
            "instance": instance_name(path),
            "status": result.status.value,
            "objective": result.objective,
            "lower_bound": result.lower_bound,
            "seconds": round(result.runtime, 2),
        }
        out.write(json.dumps(row) + "\n")
        out.flush()
        rows.append(row)
    table = Table(title=f"{strategy}, {time_limit:g} s, {workers} worker(s)")
    for column in ("instance", "status", "objective", "lower bound", "seconds"):
        table.add_column(column, justify="left" if column in ("instance", "status") else "right")
    if bks is not None:
        table.add_column("best known", justify="right")
        table.add_column("RPD %", justify="right")
    deviations = []
    for row in rows:
        cells = [str(row["instance"]), str(row["status"]), _text(row["objective"]), _text(row["lower_bound"])]
        cells.append(f"{row['seconds']:.1f}")
        if bks is not None:
            known = best.get(str(row["instance"]))
            deviation = rpd(row["objective"], known)  # type: ignore[arg-type]
            if deviation is not None:
                deviations.append(deviation)
            cells += [_text(known), "-" if deviation is None else f"{deviation:.2f}"]
        table.add_row(*cells)
    if deviations:
        table.caption = f"mean RPD {sum(deviations) / len(deviations):.2f} % over {len(deviations)} instance(s)"
    Console(file=out, width=110).print(table)
    return 0


def _text(value: object) -> str:
    return "-" if value is None else str(value)
