"""GMP records: master and executed batch records, deviations, QC

Revision ID: d5f7b9c1e3a5
Revises: c4e6a8b0d2f3
Create Date: 2026-11-26 17:00:00.000000

Master batch records and release specifications keep their steps and tests as JSON documents; executed records,
deviations and QC results are rows. GMP records are never deleted by the application (void with a reason).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5f7b9c1e3a5"
down_revision: str | None = "c4e6a8b0d2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("calibrated_on", sa.Date(), nullable=False),
        sa.Column("calibration_due", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("code", name=op.f("uq_instruments_code")),
    )
    op.create_table(
        "master_batch_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"], ["process_templates.id"], name=op.f("fk_master_batch_records_process_id_process_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master_batch_records")),
        sa.UniqueConstraint("process_id", "version", name=op.f("uq_master_batch_records_process_id_version")),
    )
    with op.batch_alter_table("master_batch_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_master_batch_records_process_id"), ["process_id"], unique=False)

    op.create_table(
        "qc_specifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("tests", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["process_templates.id"], name=op.f("fk_qc_specifications_process_id_process_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qc_specifications")),
        sa.UniqueConstraint("process_id", name=op.f("uq_qc_specifications_process_id")),
    )
    op.create_table(
        "batch_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("master_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=60), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_batch_records_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["master_id"], ["master_batch_records.id"], name=op.f("fk_batch_records_master_id_master_batch_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_records")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_batch_records_batch_id")),
    )
    with op.batch_alter_table("batch_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_records_master_id"), ["master_id"], unique=False)

    op.create_table(
        "deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("opened_by", sa.String(length=60), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("investigation", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_deviations_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviations")),
        sa.UniqueConstraint("number", name=op.f("uq_deviations_number")),
    )
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deviations_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deviations_status"), ["status"], unique=False)

    op.create_table(
        "qc_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.String(length=80), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("analyst", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("verified_by", sa.String(length=60), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("voided_reason", sa.Text(), nullable=True),
        sa.Column("voided_by", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_qc_results_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_qc_results_instrument_id_instruments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qc_results")),
    )
    with op.batch_alter_table("qc_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qc_results_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qc_results_instrument_id"), ["instrument_id"], unique=False)

    op.create_table(
        "capa_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deviation_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("effectiveness", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deviation_id"], ["deviations.id"], name=op.f("fk_capa_actions_deviation_id_deviations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capa_actions")),
    )
    with op.batch_alter_table("capa_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capa_actions_deviation_id"), ["deviation_id"], unique=False)

    op.create_table(
        "step_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_record_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("parameter", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("in_spec", sa.Boolean(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("verified_by", sa.String(length=60), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_record_id"], ["batch_records.id"], name=op.f("fk_step_entries_batch_record_id_batch_records")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["step_entries.id"], name=op.f("fk_step_entries_corrects_id_step_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_entries")),
    )
    with op.batch_alter_table("step_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_entries_batch_record_id"), ["batch_record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_entries_corrects_id"), ["corrects_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_entries_corrects_id"))
        batch_op.drop_index(batch_op.f("ix_step_entries_batch_record_id"))

    op.drop_table("step_entries")
    with op.batch_alter_table("capa_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capa_actions_deviation_id"))

    op.drop_table("capa_actions")
    with op.batch_alter_table("qc_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qc_results_instrument_id"))
        batch_op.drop_index(batch_op.f("ix_qc_results_batch_id"))

    op.drop_table("qc_results")
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deviations_status"))
        batch_op.drop_index(batch_op.f("ix_deviations_batch_id"))

    op.drop_table("deviations")
    with op.batch_alter_table("batch_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_records_master_id"))

    op.drop_table("batch_records")
    op.drop_table("qc_specifications")
    with op.batch_alter_table("master_batch_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_master_batch_records_process_id"))

    op.drop_table("master_batch_records")
    op.drop_table("instruments")
