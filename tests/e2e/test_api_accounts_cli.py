"""The account commands of the CLI (opencdmo user ...) and `opencdmo serve`, end to end on each database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opencdmo.bootstrap import bootstrap
from opencdmo.cli import EXIT_BAD_INPUT, EXIT_REFUSED
from opencdmo.config import Settings
from opencdmo.errors import Unauthorized
from opencdmo.services import accounts
from tests.conftest import SAMPLE_SCENARIO
from tests.e2e.conftest import Run

PASSWORD = "correct horse battery staple"


@pytest.fixture
def run(run: Run) -> Run:
    """The command line on a database holding the sample network."""
    run("init")
    run("import", str(SAMPLE_SCENARIO))
    return run


def _authenticate(database_url: str, username: str, password: str) -> accounts.Identity:
    with bootstrap(Settings(database_url=database_url)) as application:
        return accounts.authenticate(application.unit_of_work(), username, password)


def test_user_add_prints_a_generated_password_once(run: Run, database_url: str) -> None:
    result = run("user", "add", "ana", "--role", "planner")
    assert result.exit_code == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("password")]
    password = line.split()[-1]
    assert _authenticate(database_url, "ana", password).username == "ana"


def test_user_add_reads_the_password_from_stdin_and_prints_none(run: Run, database_url: str) -> None:
    result = run(
        "user", "add", "hx", "--role", "sponsor", "--sponsor", "Helix Vaccines", "--password-stdin", stdin=PASSWORD
    )
    assert result.exit_code == 0, result.stderr
    assert "password" not in result.stdout
    assert _authenticate(database_url, "hx", PASSWORD).sponsor_id is not None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--role", "sponsor"), EXIT_REFUSED, "must be bound to a sponsor"),
        (("--role", "planner", "--sponsor", "Helix Vaccines"), EXIT_REFUSED, "only sponsor users"),
        (("--role", "sponsor", "--sponsor", "Nobody Inc"), EXIT_REFUSED, "no sponsor 'Nobody Inc'"),
        (("--role", "root"), EXIT_BAD_INPUT, "'root' is not one of"),
    ],
)
def test_user_add_refusals(run: Run, args: tuple[str, ...], code: int, message: str) -> None:
    result = run("user", "add", "bob", *args)
    assert result.exit_code == code
    assert message in " ".join(result.stderr.split())


def test_a_short_password_on_stdin_is_bad_input(run: Run) -> None:
    result = run("user", "add", "bob", "--role", "qa", "--password-stdin", stdin="short\n")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "at least 12" in result.stderr


def test_user_token_prints_the_token_and_nothing_else(run: Run, database_url: str) -> None:
    run("user", "add", "ana", "--role", "planner", "--password-stdin", stdin=PASSWORD)
    result = run("user", "token", "ana", "--expires-days", "7")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    with bootstrap(Settings(database_url=database_url)) as application:
        assert accounts.resolve_token(application.unit_of_work(), token).username == "ana"
    assert run("user", "token", "nobody").exit_code == EXIT_REFUSED


def test_deactivate_and_reset_password(run: Run, database_url: str) -> None:
    run("user", "add", "ana", "--role", "planner", "--password-stdin", stdin=PASSWORD)
    reset = run("user", "reset-password", "ana")
    assert reset.exit_code == 0, reset.stderr
    new_password = next(line for line in reset.stdout.splitlines() if line.startswith("password")).split()[-1]
    assert _authenticate(database_url, "ana", new_password).username == "ana"
    assert run("user", "deactivate", "ana").exit_code == 0
    assert run("user", "token", "ana").exit_code == EXIT_REFUSED


def test_a_replace_keeps_sponsor_users_bound_and_refuses_to_drop_their_sponsor(
    run: Run, database_url: str, tmp_path: Path
) -> None:
    run("user", "add", "hx", "--role", "sponsor", "--sponsor", "Helix Vaccines", "--password-stdin", stdin=PASSWORD)
    sponsor_id = _authenticate(database_url, "hx", PASSWORD).sponsor_id

    kept = run("import", "--replace", str(SAMPLE_SCENARIO))
    assert kept.exit_code == 0, kept.stderr
    assert _authenticate(database_url, "hx", PASSWORD).sponsor_id == sponsor_id

    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(
        SAMPLE_SCENARIO.read_text(encoding="utf-8").replace("Helix Vaccines", "Helix Biologics"), encoding="utf-8"
    )
    refused = run("import", "--replace", str(renamed))
    assert refused.exit_code == EXIT_REFUSED
    message = " ".join(refused.stderr.split())
    assert "without the sponsor(s) Helix Vaccines: sponsor users exist (hx)" in message
    assert "keep these sponsors in the new scenario" in message


def test_serve_is_a_command(run: Run) -> None:
    result = run("serve", "--help")
    assert result.exit_code == 0
    assert "--port" in result.stdout


def _demo_logins(output: str) -> dict[str, tuple[str, str, str]]:
    """username -> (role, password, sponsor) from the table `opencdmo demo-users` prints."""
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:3] == ["username", "role", "password"])
    rows = {}
    for line in lines[header + 1 :]:
        if not line.startswith("  "):
            break
        username, role, password, *sponsor = line.split()
        rows[username] = (role, password, " ".join(sponsor))
    return rows


def test_demo_users_prints_each_password_once_and_new_ones_when_run_again(run: Run, database_url: str) -> None:
    first = run("demo-users")
    assert first.exit_code == 0, first.stderr
    logins = _demo_logins(first.stdout)
    assert logins["planner"][0] == "planner"
    assert logins["qualified-person"][0] == "qualified-person"
    assert logins["helix-vaccines"] == ("sponsor", logins["helix-vaccines"][1], "Helix Vaccines")
    assert logins["northwind-biologics"][2] == "Northwind Biologics"
    assert len(logins) == 11
    assert logins["operator-2"][0] == logins["operator"][0] == "operator"
    for username, (_, password, _) in logins.items():
        assert _authenticate(database_url, username, password).username == username
        assert first.stdout.count(password) == 1

    run("user", "deactivate", "viewer")
    again = run("demo-users")
    assert again.exit_code == 0, again.stderr
    assert re.search(r"^  viewer +viewer +- \(deactivated: unchanged\)$", again.stdout, re.MULTILINE)
    renewed = _demo_logins(again.stdout)
    assert renewed["planner"][1] != logins["planner"][1]
    assert _authenticate(database_url, "planner", renewed["planner"][1]).username == "planner"
    with pytest.raises(Unauthorized):
        _authenticate(database_url, "planner", logins["planner"][1])
