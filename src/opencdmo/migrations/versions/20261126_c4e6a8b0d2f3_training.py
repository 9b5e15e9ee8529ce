"""training records and import checks

Revision ID: c4e6a8b0d2f3
Revises: b3d5f7a9c1e2
Create Date: 2026-11-26 17:00:00.000000

Training records are never changed (a retraining adds a record): triggers refuse UPDATE and DELETE of their rows on
both backends, and TRUNCATE on PostgreSQL, like the audit trail's. Import checks need no table: an import writes
its counts and hashes to the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e6a8b0d2f3"
down_revision: str | None = "b3d5f7a9c1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "training_records are never changed or deleted: record a new training instead"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER training_records_no_{operation.lower()} BEFORE {operation} ON training_records "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for operation in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION training_records_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSAL} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "CREATE TRIGGER training_records_no_update_or_delete BEFORE UPDATE OR DELETE ON training_records "
    "FOR EACH ROW EXECUTE FUNCTION training_records_refuse()",
    "CREATE TRIGGER training_records_no_truncate BEFORE TRUNCATE ON training_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION training_records_refuse()",
]


def upgrade() -> None:
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_training_records_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
    )
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_records_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_training_records_user_procedure", ["user_id", "procedure"], unique=False)

    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS training_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS training_records_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS training_records_no_truncate ON training_records")
        op.execute("DROP TRIGGER IF EXISTS training_records_no_update_or_delete ON training_records")
        op.execute("DROP FUNCTION IF EXISTS training_records_refuse()")
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.drop_index("ix_training_records_user_procedure")
        batch_op.drop_index(batch_op.f("ix_training_records_user_id"))

    op.drop_table("training_records")
