"""opencdmo audit verify | show, on each database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from opencdmo.adapters import db
from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run

PASSWORD = "correct horse battery staple\n"


@pytest.fixture
def run(run: Run) -> Run:
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    return run


def _audited_changes(run: Run) -> None:
    """Three events: a user added, a token issued, the user deactivated."""
    assert run("user", "add", "ana", "--role", "planner", "--password-stdin", stdin=PASSWORD).exit_code == 0
    assert run("user", "token", "ana").exit_code == 0
    assert run("user", "deactivate", "ana").exit_code == 0


def test_verify_a_trail_holding_only_the_import(run: Run) -> None:
    result = run("audit", "verify")
    assert result.exit_code == 0
    assert "audit trail intact: 1 event(s) verified" in result.stdout  # the checked import (A11-01)


def test_verify_counts_the_events_and_show_lists_them(run: Run) -> None:
    _audited_changes(run)
    result = run("audit", "verify", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 4 event(s) verified" in result.stdout
    shown = run("audit", "show", "--record-type", "user", "--record-id", "ana", "--json")
    assert shown.exit_code == 0
    events = json.loads(shown.stdout)
    assert [(event["sequence"], event["action"], event["username"]) for event in events] == [
        (2, "create", "system"),
        (3, "issue-token", "system"),
        (4, "deactivate", "system"),
    ]
    assert "correct horse" not in shown.stdout
    table = run("audit", "show", "--user", "system", "--since", "2020-01-01")
    assert table.exit_code == 0
    assert "4 event(s)" in table.stdout  # the import and the three account changes
    assert "deactivate" in table.stdout
    assert json.loads(run("audit", "show", "--until", "2020-01-01T00:00:00+00:00", "--json").stdout) == []


def test_verify_exits_1_naming_the_first_tampered_event(run: Run, database_url: str) -> None:
    _audited_changes(run)
    engine = create_engine(db.parse_url(database_url))
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update_or_delete ON audit_events"))
        connection.execute(text("UPDATE audit_events SET username = 'mallory' WHERE sequence = 2"))
    engine.dispose()
    result = run("audit", "verify")
    assert result.exit_code == EXIT_REFUSED
    assert "broken at event 2 (changed)" in result.stderr
    assert "the 1 event(s) before it are intact" in result.stderr


def test_show_refuses_a_bad_time(run: Run) -> None:
    result = run("audit", "show", "--since", "yesterday")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--since" in result.stderr
    reversed_window = run("audit", "show", "--since", "2027-01-02", "--until", "2027-01-01")
    assert reversed_window.exit_code == EXIT_BAD_INPUT
    assert "until must be after since" in reversed_window.stderr
