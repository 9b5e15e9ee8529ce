"""Scale: a generated network-year (5,000 batches of 3-5 stages, 200 suites with family changeovers, hold
times, a QC analyst pool, due dates), greedy versus ``auto`` (LNS) within the time limit.

    .venv/bin/python bench/bench_network_year.py --jobs 5000 --machines 200 --time-limit 120 --workers 2

Prints the time to the first feasible plan, the weighted tardiness of greedy (the one-pass baseline), of the
optimiser's warm start (the best of several dispatch rules) and of ``auto``, the reduction, the checker's verdict
and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from opencdmo.scheduling import check, evaluate, greedy, solve
from opencdmo.scheduling.generate import network_year
from opencdmo.scheduling.heuristics import construct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    problem = network_year(args.jobs, args.machines, seed=args.seed)
    built = time.perf_counter() - started
    started = time.perf_counter()
    baseline = greedy(problem)
    greedy_seconds = time.perf_counter() - started
    greedy_terms = evaluate(problem, baseline).terms
    started = time.perf_counter()
    warm = construct(problem)
    construct_seconds = time.perf_counter() - started
    assert warm is not None
    first_feasible: list[float] = []
    result = solve(
        problem,
        time_limit=args.time_limit,
        workers=args.workers,
        seed=args.seed,
        on_progress=lambda progress: first_feasible.append(progress.seconds),
    )
    assert result.schedule is not None, result
    terms = evaluate(problem, result.schedule).terms
    before, after = greedy_terms["weighted_tardiness"], terms["weighted_tardiness"]
    report = {
        "instance": problem.name,
        "tasks": len(problem.tasks),
        "machines": len(problem.machine_indices),
        "build_seconds": round(built, 2),
        "greedy_seconds": round(greedy_seconds, 2),
        "construct_seconds": round(construct_seconds, 2),
        "construct_weighted_tardiness": evaluate(problem, warm).terms["weighted_tardiness"],
        "first_feasible_seconds": round(first_feasible[0], 2) if first_feasible else None,
        "strategy": result.strategy,
        "status": result.status.value,
        "seconds": round(result.runtime, 1),
        "greedy_weighted_tardiness": before,
        "weighted_tardiness": after,
        "reduction_percent": round(100 * (before - after) / before, 1) if before else 0.0,
        "greedy_tardy_jobs": greedy_terms["tardy_jobs"],
        "tardy_jobs": terms["tardy_jobs"],
        "violations": len(check(problem, result.schedule)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
