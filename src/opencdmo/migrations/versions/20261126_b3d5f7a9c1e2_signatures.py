"""electronic signatures and signing accounts

Revision ID: b3d5f7a9c1e2
Revises: a7c3d91e5b20
Create Date: 2026-11-26 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "b3d5f7a9c1e2"
down_revision: str | None = "a7c3d91e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
