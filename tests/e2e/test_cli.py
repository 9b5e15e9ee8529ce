"""The `opencdmo` command line, end to end on each database: exit codes, messages, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opencdmo import cli
from opencdmo.adapters import scenario_file
from opencdmo.cli import app
from opencdmo.services import scenarios
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run


def test_init_import_status_export(run: Run, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    empty = run("status")
    assert empty.exit_code == 0
    assert "the database is empty" in empty.stdout

    imported = run("import", str(SAMPLE_SCENARIO))
    assert imported.exit_code == 0, imported.stderr
    assert "2 sites, 6 suites, 2 sponsors, 3 programs, 3 orders, 7 batches" in imported.stdout

    status = run("status")
    assert "Northwind Biologics" in status.stdout
    assert "Site D Rockville" in status.stdout
    assert "2 planned" in status.stdout

    output = tmp_path / "export.yaml"
    exported = run("export", "-o", str(output))
    assert exported.exit_code == 0, exported.stderr
    canonical = scenario_file.dump_scenario(scenario_file.read_scenario(SAMPLE_SCENARIO))
    assert output.read_text(encoding="utf-8") == canonical


def test_status_as_json(run: Run) -> None:
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    result = run("status", "--json")
    document = json.loads(result.stdout)
    assert document["row_counts"]["batches"] == 7
    assert document["batches_by_status"]["in-qc"] == 1
    assert document["sponsors"][1]["name"] == "Helix Vaccines"


def test_a_bad_file_exits_2_names_the_place_and_changes_nothing(run: Run, tmp_path: Path) -> None:
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    before = tmp_path / "before.yaml"
    run("export", "-o", str(before))

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SAMPLE_SCENARIO.read_text(encoding="utf-8").replace("program: HXV-7", "program: HXV-8"), encoding="utf-8"
    )
    result = run("import", "--replace", str(broken))
    assert result.exit_code == 2
    assert f"{broken}: orders[2].program: unknown program of 'Helix Vaccines' 'HXV-8'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    after = tmp_path / "after.yaml"
    run("export", "-o", str(after))
    assert after.read_text(encoding="utf-8") == before.read_text(encoding="utf-8")


def test_malformed_yaml_and_missing_files_exit_2(run: Run, tmp_path: Path) -> None:
    run("init")
    broken = tmp_path / "broken.yaml"
    broken.write_text("opencdmo_scenario: 1\nsites: [\n", encoding="utf-8")
    result = run("import", str(broken))
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr
    missing = run("import", str(tmp_path / "absent.yaml"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert "the database is empty" in run("status").stdout


def test_importing_over_a_network_needs_replace(run: Run) -> None:
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    again = run("import", str(SAMPLE_SCENARIO))
    assert again.exit_code == 1
    assert "--replace" in again.stderr
    assert run("import", "--replace", str(SAMPLE_SCENARIO)).exit_code == 0


def test_commands_before_init_say_what_to_do(run: Run) -> None:
    result = run("status")
    assert result.exit_code == 1
    assert "run 'opencdmo init' first" in result.stderr


def test_export_to_an_unwritable_place_is_an_input_error(run: Run, tmp_path: Path) -> None:
    run("init")
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = run("export", "-o", str(blocker / "inside.yaml"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_an_unsupported_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCDMO_DATABASE_URL", "mysql://root@localhost/test")
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 1
    assert "unsupported database 'mysql'" in result.stderr


def test_an_internal_error_is_a_message_not_a_traceback(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    run("init")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scenarios, "summarise", broken)
    result = run("status")
    assert result.exit_code == cli.EXIT_BUG
    assert "internal error (RuntimeError: disk on fire)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_installed_command_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "OPENCDMO_DATA_DIR": str(tmp_path)}
    env.pop("OPENCDMO_DATABASE_URL", None)
    completed = subprocess.run(
        [sys.executable, "-m", "opencdmo", "init"], env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "opencdmo.sqlite3").exists()


def test_demo_loads_a_small_network_and_refuses_a_second_without_replace(run: Run) -> None:
    run("init")
    loaded = run("demo", "--sites", "2", "--batches", "40", "--seed", "7")
    assert loaded.exit_code == 0, loaded.stderr
    assert "40 batches" in loaded.stdout
    status = json.loads(run("status", "--json").stdout)
    assert status["row_counts"]["batches"] == 40
    assert len(status["sites"]) == 2
    assert run("demo").exit_code == 1
    assert run("demo", "--replace", "--batches", "10").exit_code == 0
    assert json.loads(run("status", "--json").stdout)["row_counts"]["batches"] == 10


def test_demo_write_gives_a_file_that_imports(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "demo.yaml"
    written = run("demo", "--write", str(target), "--sites", "3", "--batches", "60")
    assert written.exit_code == 0, written.stderr
    run("init")
    imported = run("import", str(target))
    assert imported.exit_code == 0, imported.stderr
    assert "60 batches" in imported.stdout
    again = tmp_path / "again.yaml"
    run("export", "-o", str(again))
    assert again.read_text(encoding="utf-8") == target.read_text(encoding="utf-8")


@pytest.mark.parametrize("arguments", [["--sites", "0"], ["--sites", "101"], ["--batches", "-1"], ["--seed", "x"]])
def test_demo_refuses_bad_flags(run: Run, arguments: list[str]) -> None:
    result = run("demo", *arguments)
    assert result.exit_code == 2


def test_names_with_brackets_are_shown_as_written(run: Run, tmp_path: Path) -> None:
    """Rich would read '[/x]' as markup: names from files must never be interpreted."""
    text = SAMPLE_SCENARIO.read_text(encoding="utf-8").replace("Helix Vaccines", "Helix [/x] [red]Vaccines")
    scenario = tmp_path / "brackets[/x].yaml".replace("/", "-")
    scenario.write_text(text, encoding="utf-8")
    run("init")
    assert run("import", str(scenario)).exit_code == 0
    status = run("status")
    assert status.exit_code == 0
    assert "Helix [/x] [red]Vaccines" in status.stdout
    missing = run("import", str(tmp_path / "no[/such].yaml"))
    assert missing.exit_code == 2
    assert "no[/such].yaml: no such file" in missing.stderr
    broken = tmp_path / "broken[bold].yaml"
    broken.write_text(text.replace("program: HXV-7", "program: HXV-8"), encoding="utf-8")
    refused = run("import", "--replace", str(broken))
    assert refused.exit_code == 2
    assert "broken[bold].yaml: orders[2].program: unknown program of 'Helix [/x] [red]Vaccines'" in refused.stderr


def test_the_make_run_sequence_runs_twice(run: Run, database_url: str) -> None:
    """`make run` twice: the second keeps the demo and its GMP records, plans again and renews the passwords of the
    demo users (the sponsor users stay bound)."""
    steps = (
        ("init",),
        ("demo", "--if-empty", "--sites", "2", "--batches", "12"),
        ("status", "--json"),
        ("demo-quality",),
        ("schedule", "--strategy", "greedy"),
        ("demo-users",),
    )
    outputs: list[dict[str, str]] = []
    for _ in range(2):
        outputs.append({})
        for step in steps:
            result = run(*step)
            assert result.exit_code == 0, f"{' '.join(step)}: {result.stderr}"
            outputs[-1][step[0]] = result.stdout
    first, second = outputs
    assert "loaded the demo CDMO" in first["demo"]
    assert "the existing demo is kept" in second["demo"]
    assert "to start afresh" in second["demo"]
    if database_url.startswith("sqlite"):  # the file to remove is named
        assert "opencdmo.sqlite3 and run it again" in second["demo"]
    assert "wrote the quality demo" in first["demo-quality"]
    for stage in ("released", "rejected", "in QC", "in progress"):
        assert stage in first["demo-quality"]
    assert "already holds GMP records" in second["demo-quality"]
    kept = ("sites", "suites", "sponsors", "programs", "orders", "batches")
    counts_before, counts_after = (json.loads(output["status"])["row_counts"] for output in outputs)
    assert {name: counts_before[name] for name in kept} == {name: counts_after[name] for name in kept}
    counts = json.loads(run("status", "--json").stdout)["batches_by_status"]
    assert counts["released"] >= 2
    assert counts["rejected"] >= 1
    logins = [[line.split() for line in output["demo-users"].splitlines() if " sponsor " in line] for output in outputs]
    assert len(logins[0]) == len(logins[1]) == 2
    assert [row[0] for row in logins[0]] == [row[0] for row in logins[1]]  # the same sponsor users ...
    assert [row[2] for row in logins[0]] != [row[2] for row in logins[1]]  # ... with new passwords

    replaced = run("demo", "--replace", "--sites", "2", "--batches", "12")
    assert replaced.exit_code == 1
    assert "GMP records" in replaced.stderr
    assert run("demo", "--if-empty", "--replace").exit_code == 2
