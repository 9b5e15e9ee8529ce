"""opencdmo instruments add | list | calibrate, opencdmo qc spec, opencdmo deviations list, on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opencdmo.bootstrap import bootstrap
from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from opencdmo.domain import Role
from opencdmo.services import accounts, deviations
from opencdmo.services.signatures import Credentials
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run

TODAY = datetime.now(UTC).date()


@pytest.fixture
def run(run: Run) -> Run:
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    return run


def test_instruments_are_added_listed_with_their_status_and_calibrated(run: Run) -> None:
    start, due = str(TODAY - timedelta(days=30)), str(TODAY + timedelta(days=10))
    added = run(
        "instruments",
        "add",
        "HPLC-01",
        "--name",
        "Agilent 1260",
        "--kind",
        "HPLC",
        "--calibrated-on",
        start,
        "--due",
        due,
    )
    assert added.exit_code == 0, added.output
    assert "registered: HPLC-01" in added.stdout
    again = run(
        "instruments", "add", "HPLC-01", "--name", "X", "--kind", "HPLC", "--calibrated-on", start, "--due", due
    )
    assert again.exit_code == EXIT_REFUSED
    assert "already registered" in again.stderr
    bad = run(
        "instruments", "add", "PH-01", "--name", "X", "--kind", "pH", "--calibrated-on", "yesterday", "--due", due
    )
    assert bad.exit_code == EXIT_BAD_INPUT
    assert "--calibrated-on" in bad.stderr
    listed = run("instruments", "list")
    assert "HPLC-01" in listed.stdout
    assert "due within 30 days" in listed.stdout
    later = str(TODAY + timedelta(days=365))
    calibrated = run("instruments", "calibrate", "HPLC-01", "--calibrated-on", str(TODAY), "--due", later)
    assert calibrated.exit_code == 0, calibrated.output
    assert "valid" in run("instruments", "list").stdout
    assert "due within" not in run("instruments", "list").stdout
    assert run("instruments", "calibrate", "NOPE-1", "--calibrated-on", str(TODAY), "--due", later).exit_code == (
        EXIT_REFUSED
    )


def test_a_release_specification_is_set_from_a_yaml_file_and_shown(run: Run, tmp_path: Path) -> None:
    spec = tmp_path / "fill.yaml"
    spec.write_text(
        "- {name: Assay, method: QCM-HPLC-ASSAY, unit: '%', low: 95, high: 105}\n"
        "- {name: Endotoxin, method: QCM-LAL, unit: EU/mL, high: 0.5}\n",
        encoding="utf-8",
    )
    result = run("qc", "spec", "Vial fill 10 mL", str(spec))
    assert result.exit_code == 0, result.output
    assert "set: 2 test(s)" in result.stdout
    shown = run("qc", "spec", "Vial fill 10 mL")
    assert "95 - 105 %" in shown.stdout
    assert "<= 0.5 EU/mL" in shown.stdout
    assert run("qc", "spec", "mAb fed-batch 2000 L").exit_code == EXIT_REFUSED  # none set


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: Assay, method: QCM-HPLC-ASSAY, low: high}\n", "tests[0].Assay.limits: limits must be numbers"),
        ("- {name: Assay, method: QCM-HPLC-ASSAY}\n", "tests[0].Assay: a release test has at least one limit"),
        ("- {name: Assay, low: 1}\n", "tests[0].method: required"),
        ("- {name: Assay, method: qcm, low: 1}\n", "tests[0].method:"),
        ("- {name: Assay, method: QCM-A, low: 1, colour: red}\n", "tests[0]: unknown key(s) colour"),
        ("tests: 3\n", "expected a list of tests"),
        ("[unclosed\n", "is not valid YAML"),
    ],
)
def test_a_bad_specification_file_names_the_place(run: Run, tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, encoding="utf-8")
    result = run("qc", "spec", "Vial fill 10 mL", str(spec))
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr
    assert str(spec) in result.stderr


def test_deviations_are_listed_all_or_open_only(run: Run) -> None:
    empty = run("deviations", "list")
    assert empty.exit_code == 0
    assert "0 deviation(s)" in empty.stdout
    with bootstrap() as application:
        for lot in ("NWB220-27-002", None):
            deviations.open(
                application.unit_of_work(),
                lot=lot,
                severity="minor",
                title="Label misprint",
                description="Wrong expiry date on the label.",
                actor="system",
            )
        site = deviations.list(application.unit_of_work())[0].number  # newest first
        deviations.record_investigation(application.unit_of_work(), site, "Printer template.", "Template", actor="qa")
        accounts.add_user(application.unit_of_work(), "qa", Role.QA, password="correct horse battery staple")
        credentials = Credentials(password="correct horse battery staple", username="qa")
        deviations.close(application.unit_of_work(), site, signer="qa", credentials=credentials)
    listed = run("deviations", "list")
    assert "2 deviation(s)" in listed.stdout
    assert "NWB220-27-002" in listed.stdout
    assert "(site)" in listed.stdout
    assert "1 deviation(s)" in run("deviations", "list", "--lot", "NWB220-27-002").stdout
    still_open = run("deviations", "list", "--open").stdout
    assert "1 deviation(s)" in still_open
    assert "(site)" not in still_open
