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
    # Plain ALTER and CREATE INDEX, not a batch: a batch rebuilds the table on SQLite and
    # loses the DESC of ix_workloads_line on the way.
    op.add_column(
        "workloads", sa.Column("noticed", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.create_index("ix_workloads_unnoticed", "workloads", ["kind", "noticed", "id"])
    # Stop requests not yet acted on: every pass of the workload loop looks for them.
    op.create_index("ix_workloads_wish", "workloads", ["desired", "status"])
    # ix_workloads_line (status, pool, priority DESC, queued_at, id) serves everything this
    # older one did, and reads a pool's line in order.
    op.drop_index("ix_workloads_status", "workloads")
    # What moved before this revision is looked at once more by its owner (in bounded
    # passes): a job whose workload ended while the server was down is concluded.
    op.execute(
        "UPDATE workloads SET noticed = false WHERE kind = 'training' AND status <> 'Pending'"
    )
    op.create_index("ix_training_jobs_listing", "training_jobs", ["project_id", "created_at", "id"])
    op.create_index("ix_training_jobs_wish", "training_jobs", ["desired", "phase"])
    op.create_index("ix_training_jobs_project_phase", "training_jobs", ["project_id", "phase"])
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
    op.drop_index("ix_training_jobs_project_phase", "training_jobs")
    op.drop_index("ix_training_jobs_wish", "training_jobs")
    op.drop_index("ix_training_jobs_listing", "training_jobs")
    op.create_index("ix_workloads_status", "workloads", ["status", "pool", "priority", "queued_at"])
    op.drop_index("ix_workloads_wish", "workloads")
    op.drop_index("ix_workloads_unnoticed", "workloads")
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        batch_op.drop_column("noticed")
