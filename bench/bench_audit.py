"""The audit trail's cost: audited writes per second with one writer, and verifying a long chain.

(a) ``--writes`` site edits, each its own transaction through the real edit use case (one audit event each),
    against the same edits with the audit event switched off: the difference is the audit's overhead. Then as
    many bare transactions that only record one event: what the trail itself sustains.
(b) ``--events`` chained events stored in one transaction with executemany (bypassing the service), then the
    service's :func:`opencdmo.services.audit.verify` timed over all of them.

Runs on a fresh SQLite file, and on a fresh PostgreSQL schema too when ``--postgres URL`` is given. Prints one
JSON line per measurement.

    .venv/bin/python bench/bench_audit.py
    .venv/bin/python bench/bench_audit.py --writes 2000 --events 1000000 --postgres postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from opencdmo.adapters import db, orm, scenario_file
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.domain.audit import GENESIS, seal
from opencdmo.services import audit, editing, scenarios

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "small-network.yaml"
SITE = "Site B Leiden"
INSERT_CHUNK = 20_000


@contextmanager
def fresh_app(backend: str, postgres: str | None, folder: Path) -> Iterator[App]:
    if backend == "sqlite":
        app = bootstrap(Settings(database_url=f"sqlite:///{folder / f'audit-{uuid.uuid4().hex[:8]}.sqlite3'}"))
        db.upgrade(app.engine)
        try:
            yield app
        finally:
            app.engine.dispose()
        return
    assert postgres is not None
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(db.parse_url(postgres))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres else "?"
    app = bootstrap(Settings(database_url=f"{postgres}{separator}options=-csearch_path%3D{schema}"))
    try:
        db.upgrade(app.engine)
        yield app
    finally:
        app.engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _edits(app: App, count: int) -> float:
    """Seconds for ``count`` region edits of one site, each in its own transaction."""
    started = time.perf_counter()
    for number in range(count):
        editing.update_site(app.unit_of_work(), SITE, editing.SiteChanges(region=f"R{number}"), actor="bench")
    return time.perf_counter() - started


def _no_event(*args: object, **kwargs: object) -> None:
    """Stands in for :func:`audit.record` to time the same edits without their audit event."""


def bench_writes(app: App, writes: int, rounds: int) -> dict[str, Any]:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(SAMPLE.read_text(encoding="utf-8")))
    _edits(app, 50)  # warm up: imports, statement caches, the file's first pages
    real_record = audit.record
    with_audit: list[float] = []
    without_audit: list[float] = []
    # Alternate the two, so that drift on a shared machine hits both alike; keep the best round of each.
    for _ in range(rounds):
        with_audit.append(_edits(app, writes))
        audit.record = _no_event  # type: ignore[assignment]
        try:
            without_audit.append(_edits(app, writes))
        finally:
            audit.record = real_record
    best_with, best_without = min(with_audit), min(without_audit)
    started = time.perf_counter()
    for number in range(writes):
        with app.unit_of_work() as uow:
            audit.record(uow, actor="bench", action="change", record_type="site", record_id=SITE, new=number)
            uow.commit()
    bare = time.perf_counter() - started
    verdict = audit.verify(app.unit_of_work())
    assert verdict.intact, verdict.first_break
    return {
        "measure": "audited writes",
        "writes": writes,
        "rounds": rounds,
        "audited_writes_per_s": round(writes / best_with),
        "unaudited_writes_per_s": round(writes / best_without),
        "overhead_pct": round(100 * (best_with - best_without) / best_without, 1),
        "bare_audited_transactions_per_s": round(writes / bare),
        "events": verdict.checked,
    }


def _chain_rows(count: int) -> Iterator[list[dict[str, Any]]]:
    previous = GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chunk: list[dict[str, Any]] = []
    for sequence in range(1, count + 1):
        event = seal(
            sequence=sequence,
            previous_hash=previous,
            occurred_at=start + timedelta(seconds=sequence),
            username=f"user{sequence % 50}",
            action="change",
            record_type="order",
            record_id=f"PO-{sequence % 5000:05d}",
            field="due_date",
            old_value='"2027-06-30"',
            new_value='"2027-07-31"',
            reason="customer request" if sequence % 3 == 0 else None,
        )
        previous = event.hash
        chunk.append({column.name: getattr(event, column.name) for column in orm.audit_events.columns})
        if len(chunk) == INSERT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bench_verify(app: App, events: int) -> dict[str, Any]:
    started = time.perf_counter()
    with app.engine.begin() as connection:
        for chunk in _chain_rows(events):
            connection.execute(insert(orm.audit_events), chunk)
    stored = time.perf_counter()
    verdict = audit.verify(app.unit_of_work())
    verified = time.perf_counter()
    assert verdict.intact, verdict.first_break
    assert verdict.checked == events, verdict.checked
    return {
        "measure": "verify",
        "events": events,
        "build_and_insert_s": round(stored - started, 1),
        "verify_s": round(verified - stored, 1),
        "verified_per_s": round(events / (verified - stored)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=1000, help="edits per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind; the best counts (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to verify (default 1,000,000)")
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (a schema is created and dropped)")
    options = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if options.postgres else [])
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            with fresh_app(backend, options.postgres, Path(folder)) as app:
                row = bench_writes(app, options.writes, options.rounds)
                print(json.dumps({"backend": backend, **row}), flush=True)
            with fresh_app(backend, options.postgres, Path(folder)) as app:
                row = bench_verify(app, options.events)
                print(json.dumps({"backend": backend, **row}), flush=True)


if __name__ == "__main__":
    main()
