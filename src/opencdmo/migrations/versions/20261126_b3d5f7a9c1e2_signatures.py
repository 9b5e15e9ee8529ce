"""electronic signatures and signing accounts

Revision ID: b3d5f7a9c1e2
Revises: a7c3d91e5b20
Create Date: 2026-11-26 17:00:00.000000

Users gain a printed name (existing users get their username), "must change password" and the time they last
chose their password; API tokens remember when their session last signed. Signatures are append-only at the
database level, like the audit trail: triggers refuse UPDATE and DELETE on both backends, and TRUNCATE on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d5f7a9c1e2"
down_revision: str | None = "a7c3d91e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "signatures are append-only: a signature can never be changed or deleted"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER signatures_no_{operation.lower()} BEFORE {operation} ON signatures "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for operation in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION signatures_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSAL} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "CREATE TRIGGER signatures_no_update_or_delete BEFORE UPDATE OR DELETE ON signatures "
    "FOR EACH ROW EXECUTE FUNCTION signatures_refuse()",
    "CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures "
    "FOR EACH STATEMENT EXECUTE FUNCTION signatures_refuse()",
]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET full_name = username")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("full_name", existing_type=sa.String(length=120), nullable=False)

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_signed_at", sa.DateTime(), nullable=True))

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("printed_name", sa.String(length=120), nullable=False),
        sa.Column("meaning", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index("ix_signatures_record", ["record_type", "record_id"], unique=False)

    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS signatures_no_update")
        op.execute("DROP TRIGGER IF EXISTS signatures_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS signatures_no_truncate ON signatures")
        op.execute("DROP TRIGGER IF EXISTS signatures_no_update_or_delete ON signatures")
        op.execute("DROP FUNCTION IF EXISTS signatures_refuse()")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_record")
    op.drop_table("signatures")

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_signed_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("full_name")
