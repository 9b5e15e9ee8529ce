"""The `opencdmo` command line. Thin over the services: parse, call a use case, print.

Each module registers its commands on the one Typer application in :mod:`opencdmo.cli.app`.
"""

from __future__ import annotations

# Commands appear in --help in the order their modules register them: keep this order.
# isort: off
from opencdmo.cli import (
    network,
    demo_quality,
    planning,
    users,
    training,
    master_records,
    quality,
    audit,
    records,
    backup,
    serve,
    bench,
)

# isort: on
from opencdmo.cli.app import EXIT_BAD_INPUT, EXIT_BUG, EXIT_REFUSED, app

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_REFUSED",
    "app",
    "audit",
    "backup",
    "bench",
    "demo_quality",
    "main",
    "master_records",
    "network",
    "planning",
    "quality",
    "records",
    "serve",
    "training",
    "users",
]


def main() -> None:
    app(prog_name="opencdmo")
