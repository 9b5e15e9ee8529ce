"""opencdmo audit export and opencdmo batch-record export, on each database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from opencdmo.adapters import scenario_file
from opencdmo.bootstrap import App
from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from opencdmo.services import scenarios
from tests import gmp_batches
from tests.e2e.conftest import Run
from tests.gmp_batches import LOT


@pytest.fixture
def released(app: App, sample_text: str, run: Run) -> Run:
    """A released batch (the app and the command line share the database)."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    gmp_batches.add_staff(app)
    gmp_batches.ready_for_release(app)
    gmp_batches.release(app)
    return run


def test_audit_export_writes_a_batchs_trail_as_csv_and_json(released: Run, tmp_path: Path) -> None:
    target = tmp_path / "trail.csv"
    result = released("audit", "export", "--record-id", LOT, "--tree", "--output", str(target))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["sequence", "occurred_at", "username", "action"]
    assert {row[5].split("/")[0] for row in rows[1:]} == {LOT}
    assert f"wrote {len(rows) - 1} event(s)" in result.stdout

    printed = released("audit", "export", "--record-id", LOT, "--tree", "--format", "json", "--output", "-")
    document = json.loads(printed.stdout)
    assert [event["sequence"] for event in document["events"]] == [int(row[0]) for row in rows[1:]]
    assert "release" in {event["action"] for event in document["events"]}


def test_audit_export_refuses_bad_input(released: Run, tmp_path: Path) -> None:
    assert released("audit", "export", "--output", str(tmp_path)).exit_code == EXIT_BAD_INPUT
    missing = released("audit", "export", "--output", str(tmp_path / "no" / "such.csv"))
    assert missing.exit_code == EXIT_BAD_INPUT
    assert "does not exist" in missing.output
    bad = released("audit", "export", "--since", "yesterday", "--output", "-")
    assert bad.exit_code == EXIT_BAD_INPUT


def test_batch_record_export_in_each_format(released: Run, tmp_path: Path) -> None:
    for record_format in ("html", "pdf", "json"):
        target = tmp_path / f"record.{record_format}"
        result = released("batch-record", "export", LOT, "--format", record_format, "--output", str(target))
        assert result.exit_code == 0, result.output
        assert f"wrote the batch record of {LOT} (released" in result.stdout
    assert (tmp_path / "record.pdf").read_bytes().startswith(b"%PDF")
    assert LOT in (tmp_path / "record.html").read_text(encoding="utf-8")
    document = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert (document["lot_number"], document["broken_signatures"]) == (LOT, 0)


def test_batch_record_export_of_an_unknown_lot_is_refused(released: Run, tmp_path: Path) -> None:
    result = released("batch-record", "export", "NO-SUCH-LOT", "--output", str(tmp_path / "x.pdf"))
    assert result.exit_code == EXIT_REFUSED
    assert "no batch" in result.output
