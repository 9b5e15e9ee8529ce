"""opencdmo master-records list | draft | show, on each database."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run
from tests.integration.test_execution import PROCEDURE, PROCESS, STEPS_YAML


@pytest.fixture
def run(run: Run) -> Run:
    assert run("init").exit_code == 0
    imported = run("import", str(SAMPLE_SCENARIO))
    assert imported.exit_code == 0, imported.stderr
    return run


@pytest.fixture
def steps_file(tmp_path: Path) -> Path:
    path = tmp_path / "steps.yaml"
    path.write_text(STEPS_YAML, encoding="utf-8")
    return path


def test_a_draft_is_written_from_a_yaml_file_listed_and_shown(run: Run, steps_file: Path, tmp_path: Path) -> None:
    drafted = run("master-records", "draft", PROCESS, str(steps_file), "--procedure", PROCEDURE, "--title", "mAb FB")
    assert drafted.exit_code == 0, drafted.stderr
    assert "draft written: mAb fed-batch 2000 L v1 (mAb FB, procedure MBR-MAB-2000), 3 step(s)" in drafted.stdout
    listed = run("master-records", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "mAb fed-batch 2000 L" in listed.stdout
    assert "draft" in listed.stdout
    assert "1 version(s)" in listed.stdout
    shown = run("master-records", "show", PROCESS)
    assert shown.exit_code == 0, shown.stderr
    assert "Inoculate" in shown.stdout
    assert "6.8 - 7.2 pH, critical" in shown.stdout
    assert "signatures  none" in shown.stdout
    as_yaml = run("master-records", "show", PROCESS, "--version", "1", "--yaml")
    copy = tmp_path / "copy.yaml"
    copy.write_text(as_yaml.stdout, encoding="utf-8")
    again = run("master-records", "draft", PROCESS, str(copy), "--procedure", PROCEDURE, "--title", "t")
    assert again.exit_code == EXIT_REFUSED  # one draft at a time
    assert "already has a draft, v1" in again.stderr


def test_bad_files_and_names_are_refused_with_the_place(run: Run, steps_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(STEPS_YAML.replace("high: 7.2", "high: 6"), encoding="utf-8")
    refused = run("master-records", "draft", PROCESS, str(broken), "--procedure", PROCEDURE, "--title", "t")
    assert refused.exit_code == EXIT_BAD_INPUT
    assert "broken.yaml: step 2, parameter 'pH'" in refused.stderr
    missing = run("master-records", "draft", PROCESS, str(tmp_path / "nope.yaml"), "--procedure", "X1", "--title", "t")
    assert missing.exit_code == EXIT_BAD_INPUT
    unknown = run("master-records", "draft", "No such process", str(steps_file), "--procedure", "X1", "--title", "t")
    assert unknown.exit_code == EXIT_REFUSED
    assert "no process 'No such process'" in unknown.stderr
    assert run("master-records", "show", PROCESS).exit_code == EXIT_REFUSED  # no version yet
    assert "Traceback" not in refused.stderr + unknown.stderr
