"""Our engine and PyJobShop 0.0.9 side by side: same files, OR-Tools, time limit and workers, one run.

    .venv/bin/python bench/bench_pyjobshop.py /work/shared/benchmarks/fjsp/mk0{1..9}.txt --time-limit 60 --workers 2

Prints one JSON line per instance and engine, then a table with both makespans, the ratio ours / theirs and
the RPD of each to the best-known upper bound in bks.json. Runs the two engines one after the other, never
at the same time, so they do not compete for the cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pyjobshop
from rich.console import Console
from rich.table import Table

from opencdmo.bench_command import load_best_known, rpd
from opencdmo.scheduling import check, solve
from opencdmo.scheduling.readers import read_problem

DEFAULT_BKS = Path("/work/shared/benchmarks/fjsp/bks.json")


def run_theirs(path: Path, time_limit: float, workers: int) -> dict[str, object]:
    started = time.perf_counter()
    data = pyjobshop.read(path, instance_format="fjsplib")
    result = pyjobshop.solve(data, time_limit=time_limit, num_workers=workers, display=False)
    feasible = result.status.value in ("Optimal", "Feasible")
    return {
        "status": result.status.value.lower(),
        "objective": round(result.objective) if feasible else None,
        "lower_bound": round(result.lower_bound) if feasible else None,
        "seconds": round(time.perf_counter() - started, 2),
    }


def run_ours(path: Path, time_limit: float, workers: int, strategy: str) -> dict[str, object]:
    started = time.perf_counter()
    problem = read_problem(path)
    result = solve(problem, time_limit=time_limit, workers=workers, strategy=strategy)
    if result.schedule is not None and check(problem, result.schedule):
        raise SystemExit(f"{path}: our schedule breaks constraints: {check(problem, result.schedule)[:3]}")
    return {
        "status": result.status.value,
        "objective": result.objective,
        "lower_bound": result.lower_bound,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--bks", type=Path, default=DEFAULT_BKS)
    args = parser.parse_args()
    best = load_best_known(args.bks) if args.bks.exists() else {}
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {platform.processor() or ''},"
        f" ortools {version('ortools')}, pyjobshop {version('pyjobshop')},"
        f" {args.time_limit:g} s, {args.workers} workers"
    )
    rows = []
    for path in args.files:
        ours = run_ours(path, args.time_limit, args.workers, args.strategy)
        theirs = run_theirs(path, args.time_limit, args.workers)
        for engine, row in (("opencdmo", ours), ("pyjobshop", theirs)):
            print(json.dumps({"instance": path.stem, "engine": engine, **row}), flush=True)
        rows.append((path.stem, ours, theirs))
    table = Table(title=f"OpenCDMO vs PyJobShop, {args.time_limit:g} s, {args.workers} workers")
    for column in ("instance", "best known", "ours", "ours LB", "PyJobShop", "PyJobShop LB", "ratio", "RPD ours %"):
        table.add_column(column, justify="left" if column == "instance" else "right")
    table.add_column("RPD PyJobShop %", justify="right")
    ours_rpd, theirs_rpd = [], []
    for name, ours, theirs in rows:
        known = best.get(name)
        mine, other = ours["objective"], theirs["objective"]
        ratio = f"{mine / other:.3f}" if isinstance(mine, int) and isinstance(other, int) and other else "-"
        deviation_ours = rpd(mine if isinstance(mine, int) else None, known)
        deviation_theirs = rpd(other if isinstance(other, int) else None, known)
        if deviation_ours is not None:
            ours_rpd.append(deviation_ours)
        if deviation_theirs is not None:
            theirs_rpd.append(deviation_theirs)
        table.add_row(
            name,
            *(
                str(v) if v is not None else "-"
                for v in (known, mine, ours["lower_bound"], other, theirs["lower_bound"])
            ),
            ratio,
            "-" if deviation_ours is None else f"{deviation_ours:.2f}",
            "-" if deviation_theirs is None else f"{deviation_theirs:.2f}",
        )
    if ours_rpd and theirs_rpd:
        table.caption = (
            f"mean RPD: ours {sum(ours_rpd) / len(ours_rpd):.2f} %, PyJobShop {sum(theirs_rpd) / len(theirs_rpd):.2f} %"
        )
    Console(file=sys.stdout, width=140).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
