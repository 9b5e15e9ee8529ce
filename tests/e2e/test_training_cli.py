"""opencdmo training grant | list, the checked import's output, and opencdmo backup | restore, on each database."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from opencdmo.domain.training import add_months
from opencdmo.services import scenarios
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run

PASSWORD = "correct horse battery staple\n"


@pytest.fixture
def run(run: Run) -> Run:
    assert run("init").exit_code == 0
    imported = run("import", str(SAMPLE_SCENARIO))
    assert imported.exit_code == 0, imported.stderr
    for username, role in (("op.jones", "operator"), ("qc.kim", "qc-analyst")):
        assert run("user", "add", username, "--role", role, "--password-stdin", stdin=PASSWORD).exit_code == 0
    return run


def _today() -> date:
    return datetime.now(UTC).date()


def test_grant_and_list(run: Run) -> None:
    granted = run("training", "grant", "op.jones", "MBR-MAB-DS", "--on", "2026-01-10", "--until", "2026-07-10")
    assert granted.exit_code == 0, granted.stderr
    assert "op.jones trained on MBR-MAB-DS on 2026-01-10, valid until 2026-07-10" in granted.stdout
    default = run("training", "grant", "op.jones", "QCM-HPLC-ASSAY")
    assert default.exit_code == 0, default.stderr
    today = _today()
    assert f"on {today.isoformat()}, valid until {add_months(today, 12).isoformat()}" in default.stdout
    soon = (today - timedelta(days=20)).isoformat()
    assert run("training", "grant", "qc.kim", "QCM-HPLC-ASSAY", "--on", soon, "--months", "1").exit_code == 0

    listed = run("training", "list")
    assert listed.exit_code == 0, listed.stderr
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in listed.stdout.splitlines() if "│" in line]
    status = {(row[0], row[2]): row[5] for row in cells}
    assert status == {
        ("op.jones", "MBR-MAB-DS"): "expired",
        ("op.jones", "QCM-HPLC-ASSAY"): "current",
        ("qc.kim", "QCM-HPLC-ASSAY"): "expiring",
    }
    assert "3 user-procedure pair(s)" in listed.stdout
    history = run("training", "list", "--user", "op.jones")
    assert history.exit_code == 0
    assert "2 training record(s) of op.jones" in history.stdout
    assert "qc.kim" not in history.stdout

    shown = json.loads(run("audit", "show", "--record-type", "training", "--json").stdout)
    assert [(event["action"], event["record_id"], event["username"]) for event in shown] == [
        ("create", "op.jones/MBR-MAB-DS", "system"),
        ("create", "op.jones/QCM-HPLC-ASSAY", "system"),
        ("create", "qc.kim/QCM-HPLC-ASSAY", "system"),
    ]


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("op.jones", "mbr-mab-ds"), EXIT_REFUSED, "procedure: must be 2 to 60 upper-case letters"),
        (("nobody", "MBR-MAB-DS"), EXIT_REFUSED, "no user 'nobody'"),
        (("op.jones", "MBR-MAB-DS", "--on", "yesterday"), EXIT_BAD_INPUT, "--on: 'yesterday' is not a date"),
        (("op.jones", "MBR-MAB-DS", "--until", "2027-01-01", "--months", "3"), EXIT_BAD_INPUT, "not both"),
        (("op.jones", "MBR-MAB-DS", "--on", "2026-01-01", "--until", "2025-01-01"), EXIT_REFUSED, "valid_until"),
        (("op.jones", "MBR-MAB-DS", "--months", "0"), EXIT_BAD_INPUT, ""),
        (("op.jones", "MBR-MAB-DS", "--on", "2999-01-01"), EXIT_REFUSED, "must not be after today"),
    ],
)
def test_grant_refuses_bad_input(run: Run, arguments: tuple[str, ...], code: int, message: str) -> None:
    result = run("training", "grant", *arguments)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "0 user-procedure pair(s)" in run("training", "list").stdout


def test_list_of_an_unknown_user_is_refused(run: Run) -> None:
    result = run("training", "list", "--user", "nobody")
    assert result.exit_code == EXIT_REFUSED
    assert "no user 'nobody'" in result.stderr


# The checked import ----------------------------------------------------------------------------------------------


def test_import_prints_its_check_and_audits_it(run: Run) -> None:
    replaced = run("import", "--replace", str(SAMPLE_SCENARIO))
    assert replaced.exit_code == 0, replaced.stderr
    assert "Import check" in replaced.stdout
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in replaced.stdout.splitlines() if "│" in line]
    checks = {row[0]: row[1:] for row in cells}
    assert list(checks) == list(scenarios.KINDS)
    assert all(row[3] == "match" and row[0] == row[1] for row in checks.values())
    assert checks["batches"][:2] == ["7", "7"]
    events = json.loads(run("audit", "show", "--record-type", "scenario", "--json").stdout)
    assert [(event["action"], event["record_id"]) for event in events] == [
        ("import", "small-network.yaml"),
        ("import", "small-network.yaml"),
    ]
    evidence = json.loads(events[1]["new_value"])
    assert evidence["replace"] is True
    assert evidence["kinds"]["suites"]["count"] == 6
    assert len(evidence["kinds"]["suites"]["sha256"]) == 64


# Backup and restore ------------------------------------------------------------------------------------------------


def test_backup_and_restore_round_trip(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("training", "grant", "op.jones", "MBR-MAB-DS").exit_code == 0
    file = tmp_path / "nightly.jsonl.gz"
    backed_up = run("backup", str(file))
    assert backed_up.exit_code == 0, backed_up.stderr
    assert f"to {file}" in backed_up.stdout
    assert "training_records" in backed_up.stdout
    header = json.loads(gzip.decompress(file.read_bytes()).splitlines()[0])
    assert header["format"] == "opencdmo-backup"
    assert {table["name"]: table["rows"] for table in header["tables"]}["users"] == 2

    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    restored = run("restore", str(file), "--into", target)
    assert restored.exit_code == 0, restored.stderr
    assert "counts and SHA-256 of every table match the backup" in restored.stdout
    assert "audit trail intact: 4 event(s) verified" in restored.stdout  # import, two users, one training

    monkeypatch.setenv("OPENCDMO_DATABASE_URL", target)
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.stderr
    assert "audit trail intact: 5 event(s) verified" in verified.stdout  # and the restore
    assert "MBR-MAB-DS" in run("training", "list").stdout
    assert "Site B Leiden" in run("status").stdout

    again = run("restore", str(file), "--into", target)
    assert again.exit_code == EXIT_REFUSED
    assert "is not empty" in again.stderr


def test_restore_refuses_a_tampered_file(run: Run, tmp_path: Path) -> None:
    file = tmp_path / "b.jsonl.gz"
    assert run("backup", str(file)).exit_code == 0
    text = gzip.decompress(file.read_bytes()).decode("utf-8").replace('"op.jones"', '"mallory"', 1)
    tampered = tmp_path / "tampered.jsonl.gz"
    tampered.write_bytes(gzip.compress(text.encode("utf-8")))
    result = run("restore", str(tampered), "--into", f"sqlite:///{tmp_path / 'r.sqlite3'}")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "do not match their SHA-256 in the header: the file was altered or damaged" in result.stderr
    missing = run("restore", str(tmp_path / "absent.gz"), "--into", f"sqlite:///{tmp_path / 'r.sqlite3'}")
    assert missing.exit_code == EXIT_BAD_INPUT
    assert "no such file" in missing.stderr
