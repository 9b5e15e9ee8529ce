"""GMP records: master and executed batch records, deviations, QC

Revision ID: d5f7b9c1e3a5
Revises: c4e6a8b0d2f3
Create Date: 2026-11-26 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "d5f7b9c1e3a5"
down_revision: str | None = "c4e6a8b0d2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
