"""task credentials: a temporary AK/SK per workload, scoped to its project's buckets

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_credentials",
        sa.Column("access_key", sa.String(length=64), nullable=False),
        sa.Column("workload_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workload_id"],
            ["workloads.id"],
            name=op.f("fk_task_credentials_workload_id_workloads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_task_credentials_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("access_key", name=op.f("pk_task_credentials")),
    )
    with op.batch_alter_table("task_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_credentials_workload_id"), ["workload_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("task_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_credentials_workload_id"))
    op.drop_table("task_credentials")
