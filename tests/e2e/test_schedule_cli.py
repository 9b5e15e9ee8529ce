"""`opencdmo schedule` and `opencdmo reschedule` end to end: JSON, Gantt files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run

KEYS = {
    "status",
    "objective",
    "lower_bound",
    "on_time_rate",
    "total_tardiness_hours",
    "weighted_tardiness",
    "changeovers",
    "cleaning_hours",
    "mean_utilization",
    "seconds",
}


@pytest.fixture
def run(run: Run) -> Run:
    """The command line on a database holding the sample network."""
    assert run("init").exit_code == 0
    assert run("import", str(SAMPLE_SCENARIO)).exit_code == 0
    return run


def test_schedule_prints_json_and_writes_a_self_contained_html_gantt(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "plan.html"
    result = run("schedule", "--json", "--time-limit", "2", "--workers", "1", "--gantt", str(page))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) >= KEYS
    assert summary["status"] in ("optimal", "feasible")
    assert summary["lower_bound"] is not None
    assert summary["lower_bound"] <= summary["objective"]
    assert 0 <= summary["on_time_rate"] <= 1
    html = page.read_text(encoding="utf-8")
    assert len(html) > 1_000_000  # plotly.js is inside the page, not fetched from a CDN
    assert "<script src=" not in html
    assert "By suite" in html
    assert "By order" in html
    assert "NWB101-27-003" in html


def test_schedule_prints_kpis_and_writes_a_png(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "plan.png"
    result = run("schedule", "--time-limit", "2", "--gantt", str(image), "--by", "order", "--colour", "product")
    assert result.exit_code == 0, result.stderr
    assert "on time" in result.stdout
    assert "changeovers" in result.stdout
    assert f"Gantt chart written to {image}" in result.stdout.replace("\n", "")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_gantt_file_is_refused_before_solving(run) -> None:  # type: ignore[no-untyped-def]
    result = run("schedule", "--gantt", "plan.pdf")
    assert result.exit_code == 2
    assert "--gantt" in result.stderr
    assert ".html" in result.stderr


def test_reschedule_reports_moves_and_due_dates(run) -> None:  # type: ignore[no-untyped-def]
    assert run("reschedule", "--batch-failed", "NWB101-27-002").exit_code == 1  # no plan yet
    assert run("schedule", "--time-limit", "2").exit_code == 0
    result = run(
        "reschedule",
        "--suite-down",
        "B-USP-2",
        "--from",
        "2027-01-05T00:00Z",
        "--to",
        "2027-02-20",
        "--json",
        "--time-limit",
        "2",
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) >= KEYS
    assert summary["based_on"] == 1
    assert summary["version"] == 2
    assert summary["moved_operations"] == len(summary["moved"])
    assert "due_dates_at_risk" in summary
    failed = run("reschedule", "--batch-failed", "NWB101-27-003", "--time-limit", "2")
    assert failed.exit_code == 0, failed.stderr
    assert "replacement batch NWB101-27-003-R1 planned" in failed.stdout
    outside = run("reschedule", "--batch-failed", "HXV7-27-002", "--at", "2030-01-01T00:00Z", "--time-limit", "2")
    assert outside.exit_code == 2
    assert "can only fail within that time" in outside.stderr
    again = run("reschedule", "--batch-failed", "NWB101-27-003", "--time-limit", "2")
    assert again.exit_code == 1


def test_reschedule_needs_one_disruption(run) -> None:  # type: ignore[no-untyped-def]
    result = run("reschedule")
    assert result.exit_code == 2
    assert "--suite-down" in result.stderr
    bad = run("reschedule", "--suite-down", "B-USP-2", "--from", "yesterday", "--to", "2027-02-20")
    assert bad.exit_code == 2
    assert "--from" in bad.stderr
