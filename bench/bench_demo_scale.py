"""Measure building, loading and exporting the large demo network through the real command line.

Targets (issue 2): build and load the 20-site / 5,000-batch demo in under 30 s, export it in under 10 s,
on a 2-core machine. Each step runs `opencdmo` in a fresh process, as a user would, against a fresh SQLite
file and, with --postgres URL, a fresh schema on a PostgreSQL server.

    .venv/bin/python bench/bench_demo_scale.py [--sites 20] [--batches 5000] [--postgres URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

OPENCDMO = [sys.executable, "-m", "opencdmo"]
TARGETS = {"demo (build + load)": 30.0, "export": 10.0}


def timed(arguments: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run([*OPENCDMO, *arguments], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"opencdmo {' '.join(arguments)} failed:\n{completed.stderr}")
    return elapsed


def run_once(database_url: str, sites: int, batches: int, workdir: Path) -> dict[str, float]:
    env = {**os.environ, "OPENCDMO_DATABASE_URL": database_url}
    export_file = workdir / f"export-{uuid.uuid4().hex[:6]}.yaml"
    result = {
        "init": timed(["init"], env),
        "demo (build + load)": timed(["demo", "--sites", str(sites), "--batches", str(batches), "--replace"], env),
        "export": timed(["export", "-o", str(export_file)], env),
    }
    result["export size (MB)"] = export_file.stat().st_size / 1e6
    return result


def postgres_schema(base_url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base_url).begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    return schema, f"{base_url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(base_url: str, schema: str) -> None:
    with create_engine(base_url).begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--batches", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a fresh schema each run)")
    args = parser.parse_args()

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"
    )
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for backend in backends:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                workdir = Path(folder)
                if backend == "sqlite":
                    runs.append(run_once(f"sqlite:///{workdir / 'bench.sqlite3'}", args.sites, args.batches, workdir))
                else:
                    schema, url = postgres_schema(args.postgres)
                    try:
                        runs.append(run_once(url, args.sites, args.batches, workdir))
                    finally:
                        drop_schema(args.postgres, schema)
        summary = {step: round(statistics.median(run[step] for run in runs), 2) for step in runs[0]}
        verdict = {step: summary[step] < limit for step, limit in TARGETS.items()}
        print(
            json.dumps(
                {
                    "backend": backend,
                    "sites": args.sites,
                    "batches": args.batches,
                    "median_of": args.repeat,
                    "seconds": summary,
                    "within_target": verdict,
                }
            )
        )


if __name__ == "__main__":
    main()
