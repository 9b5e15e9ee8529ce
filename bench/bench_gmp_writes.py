"""Audited GMP writes per second with one writer, and what the audit trail adds to each (issue 6 targets).

The write is the operator's: recording one value of a batch record step through the real use case
(:func:`opencdmo.services.batch_records.record`), each in its own transaction: load the batch record, check the
operator's training and the step order, append the entry and its audit event, commit. The master record has
10 steps of 10 in-specification numbers, so a batch record holds 100 values; writes move on to the next batch
when one is full, as on a shop floor recording many batches.

Rounds alternate between the real use case and the same use case with the audit event switched off; the best
round of each counts (shared machines are noisy). Runs on a fresh SQLite file, and on PostgreSQL too with
``--postgres URL``. Prints one JSON line per backend.

    .venv/bin/python bench/bench_gmp_writes.py --writes 2000
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_audit import fresh_app  # type: ignore[import-not-found]
from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.bootstrap import App
from opencdmo.services import accounts, audit, batch_records, editing, scenarios, training

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "small-network.yaml"
PROCESS = "mAb fed-batch 2000 L"
PROCEDURE = "MBR-BENCH"
STEPS, PARAMETERS = 10, 10
OPERATOR = "operator-bench"


def _master(process: domain.ProcessTemplate, at: datetime) -> domain.MasterBatchRecord:
    steps = [
        domain.MasterStep(
            step,
            f"Step {step}",
            "Record the readings.",
            tuple(domain.Parameter(f"reading {number}", unit="g", low=0.0, high=1000.0) for number in range(1, 11)),
        )
        for step in range(1, STEPS + 1)
    ]
    master = domain.MasterBatchRecord(
        process=process, version=1, procedure=PROCEDURE, title="Bench", created_by="bench", created_at=at, steps=steps
    )
    master.approve(at)
    return master


def prepare(app: App, writes: int, rounds: int) -> list[str]:
    """The sample network, an approved master record, a trained operator and enough started batch records."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(SAMPLE.read_text(encoding="utf-8")))
    at = datetime.now(UTC) - timedelta(days=1)
    with app.unit_of_work() as uow:
        [process] = [item for item in uow.processes.list() if item.name == PROCESS]
        uow.master_records.add(_master(process, at))
        uow.commit()
    accounts.add_user(app.unit_of_work(), OPERATOR, domain.Role.OPERATOR)
    training.grant(
        app.unit_of_work(),
        OPERATOR,
        PROCEDURE,
        trained_on=date.today() - timedelta(days=30),
        valid_until=date.today() + timedelta(days=365),
        actor="bench",
    )
    per_batch = STEPS * PARAMETERS
    batches = (writes * rounds * 2 + 100) // per_batch + 1
    editing.create_order(
        app.unit_of_work(),
        editing.OrderDraft(
            number="PO-BENCH",
            sponsor="Northwind Biologics",
            program="NWB-101",
            batch_count=batches,
            release_date=date(2027, 1, 4),
            due_date=date(2027, 12, 31),
        ),
    )
    with app.unit_of_work() as uow:
        lots = [batch.lot_number for batch in uow.batches.list(order="PO-BENCH")]
    for lot in lots:
        batch_records.start(app.unit_of_work(), lot, actor=OPERATOR)
    return lots


def _values(lots: list[str]) -> Iterator[tuple[str, int, str]]:
    for lot in lots:
        for step in range(1, STEPS + 1):
            for number in range(1, PARAMETERS + 1):
                yield lot, step, f"reading {number}"


def _record(app: App, values: Iterator[tuple[str, int, str]], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        lot, step, parameter = next(values)
        batch_records.record(app.unit_of_work(), lot, step, parameter, "500", actor=OPERATOR)
    return time.perf_counter() - started


def _no_event(*args: object, **kwargs: object) -> None:
    """Stands in for :func:`audit.record` to time the same writes without their audit event."""


def bench(app: App, writes: int, rounds: int) -> dict[str, Any]:
    values = _values(prepare(app, writes, rounds))
    _record(app, values, 100)  # warm up: imports, statement caches, the file's first pages
    real_record = audit.record
    with_audit: list[float] = []
    without_audit: list[float] = []
    for _ in range(rounds):
        with_audit.append(_record(app, values, writes))
        audit.record = _no_event  # type: ignore[assignment]
        try:
            without_audit.append(_record(app, values, writes))
        finally:
            audit.record = real_record
    best_with, best_without = min(with_audit), min(without_audit)
    verdict = audit.verify(app.unit_of_work())
    assert verdict.intact, verdict.first_break
    return {
        "measure": "audited GMP writes (batch record values)",
        "writes": writes,
        "rounds": rounds,
        "audited_writes_per_s": round(writes / best_with),
        "unaudited_writes_per_s": round(writes / best_without),
        "overhead_pct": round(100 * (best_with - best_without) / best_without, 1),
        "median_round_per_s": round(writes / sorted(with_audit)[len(with_audit) // 2]),
        "events": verdict.checked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=2000, help="writes per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind; the best counts (default 3)")
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (a schema is created and dropped)")
    arguments = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if arguments.postgres else [])
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            with fresh_app(backend, arguments.postgres, Path(folder)) as app:
                result = bench(app, arguments.writes, arguments.rounds)
            print(json.dumps({"backend": backend, "machine": platform.node(), **result}), flush=True)


if __name__ == "__main__":
    main()
