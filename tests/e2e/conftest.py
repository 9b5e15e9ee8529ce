"""The command line driven in-process, on each database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from opencdmo.cli import app, ui

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`run("status", "--json", stdin=...)` runs `opencdmo` against the test database."""
    monkeypatch.setenv("OPENCDMO_DATABASE_URL", database_url)
    # Wide consoles, so that tables are not squeezed to the 80 columns rich assumes without a terminal.
    monkeypatch.setattr(ui, "out", ui.console(width=200))
    monkeypatch.setattr(ui, "err", ui.console(width=200, stderr=True))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)

    return invoke
