"""flat costs: workloads say whether their owner has taken in their status; training jobs
are listed through an index and counted per project

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("noticed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index("ix_workloads_unnoticed", ["kind", "noticed", "id"], unique=False)
    # What moved before this revision is looked at once more by its owner (in bounded
    # passes): a job whose workload ended while the server was down is concluded.
    op.execute(
        "UPDATE workloads SET noticed = false WHERE kind = 'training' AND status <> 'Pending'"
    )
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_jobs_listing", ["project_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_training_jobs_wish", ["desired", "phase"], unique=False)
    op.create_table(
        "resource_counts",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_resource_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", name=op.f("pk_resource_counts")),
    )
    op.execute(
        "INSERT INTO resource_counts (project_id, kind, count) "
        "SELECT project_id, 'training_job', count(*) FROM training_jobs GROUP BY project_id"
    )


def downgrade() -> None:
    op.drop_table("resource_counts")
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_training_jobs_wish")
        batch_op.drop_index("ix_training_jobs_listing")
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.drop_index("ix_workloads_unnoticed")
        batch_op.drop_column("noticed")
