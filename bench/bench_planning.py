"""Planning the network end to end: build the demo, load it, plan it (strategy vs greedy), store the checked plan,
and optionally re-plan after a suite goes down for a week.

Each measurement runs in a fresh process on a fresh SQLite file, so its peak memory (ru_maxrss) is its own.
Prints one JSON line per run, then a table.

    .venv/bin/python bench/bench_planning.py                                   # default demo, 6 s
    .venv/bin/python bench/bench_planning.py --sites 20 --batches 5000 --time-limit 100 --reschedule
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any


def _run(
    database: str, sites: int, batches: int, strategy: str, time_limit: float, workers: int, down: bool
) -> dict[str, Any]:
    from opencdmo.adapters import db
    from opencdmo.bootstrap import bootstrap
    from opencdmo.config import Settings
    from opencdmo.demo import build_demo
    from opencdmo.services import planning, scenarios

    started = time.perf_counter()
    app = bootstrap(Settings(database_url=database))
    db.upgrade(app.engine)
    scenarios.import_scenario(app.unit_of_work(), build_demo(sites=sites, batches=batches, seed=2027), replace=True)
    loaded = time.perf_counter()
    options = planning.PlanOptions(time_limit=time_limit, workers=workers, strategy=strategy, created_by="bench")
    report = planning.plan_network(app.unit_of_work(), options)
    planned = time.perf_counter()
    row: dict[str, Any] = {
        "sites": sites,
        "batches": batches,
        "strategy": strategy,
        "engine_strategy": report.strategy,
        "time_limit": time_limit,
        "workers": workers,
        "load_s": round(loaded - started, 2),
        "plan_s": round(planned - loaded, 2),
        **{key: value for key, value in report.summary().items() if key not in ("version", "strategy", "seconds")},
        "operations": len(report.operations),
    }
    if down:
        # The busiest suite goes down for a week, starting a quarter into the plan.
        busiest = max(report.suites, key=lambda line: line.utilization)
        start = report.origin + timedelta(days=90)
        result = planning.reschedule(
            app.unit_of_work(), planning.SuiteDown(busiest.suite, start, start + timedelta(days=7)), options
        )
        replanned = time.perf_counter()
        # Planning from scratch on the same disrupted network (the downtime is now recorded): how much moves?
        scratch = planning.plan_network(app.unit_of_work(), options)
        row.update(
            {
                "reschedule_s": round(replanned - planned, 2),
                "scratch_moves": _moves(report, scratch),
                "reschedule_suite": busiest.suite,
                "moved_operations": len(result.moved),
                "newly_at_risk": sum(risk.newly for risk in result.at_risk),
                "reschedule_weighted_tardiness": result.plan.summary()["weighted_tardiness"],
            }
        )
    row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    app.close()
    return row


def _moves(before: Any, after: Any) -> int:
    """Operations of ``before`` that run in another suite or at another time in ``after``."""
    placed = {(line.lot, line.step): (line.suite, line.start) for line in before.operations if line.lot}
    return sum(
        1
        for line in after.operations
        if line.lot and (line.lot, line.step) in placed and placed[line.lot, line.step] != (line.suite, line.start)
    )


def _child(queue: Any, *args: Any) -> None:
    queue.put(_run(*args))


def measure(*args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, *args))
    clock = time.perf_counter()
    process.start()
    row: dict[str, Any] = queue.get()
    process.join()
    row["end_to_end_s"] = round(time.perf_counter() - clock, 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strategies", default="auto,lns,greedy")
    parser.add_argument("--reschedule", action="store_true", help="Also re-plan after a week of downtime.")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for number, strategy in enumerate(args.strategies.split(",")):
            database = f"sqlite:///{Path(folder) / f'bench-{number}.sqlite3'}"
            row = measure(
                database,
                args.sites,
                args.batches,
                strategy,
                args.time_limit,
                args.workers,
                args.reschedule and strategy != "greedy",
            )
            print(json.dumps(row), flush=True)
            rows.append(row)
    greedy = next((row for row in rows if row["strategy"] == "greedy"), None)
    print()
    print(
        "| strategy | end to end | plan | on time | weighted tardiness | vs greedy | lower bound | changeovers "
        "| cleaning h | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        versus = ""
        if greedy is not None and greedy["weighted_tardiness"]:
            versus = f"{row['weighted_tardiness'] / greedy['weighted_tardiness'] - 1:+.0%}"
        print(
            f"| {row['strategy']} ({row['engine_strategy']}) | {row['end_to_end_s']} s | {row['plan_s']} s | "
            f"{row['on_time_rate']:.1%} | {row['weighted_tardiness']:,.0f} | {versus} | {row['lower_bound']} | "
            f"{row['changeovers']} | {row['cleaning_hours']:,.0f} | {row['peak_mb']} |"
        )


if __name__ == "__main__":
    main()
