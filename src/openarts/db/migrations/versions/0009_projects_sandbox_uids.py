"""each project's own uid for its tasks' sandboxes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# domain/sandbox_view.py's SANDBOX_UID_BASE when this was written (a migration keeps
# its own copy: it must do the same thing whenever it runs).
BASE = 2_000_000


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.add_column(sa.Column("sandbox_uid", sa.Integer(), nullable=True))
    projects = sa.table("projects", sa.column("id", sa.String), sa.column("created_at"))
    bind = op.get_bind()
    ids = bind.execute(
        sa.select(projects.c.id).order_by(projects.c.created_at, projects.c.id)
    ).scalars()
    for sequence, project_id in enumerate(list(ids)):
        bind.execute(
            sa.text("UPDATE projects SET sandbox_uid = :uid WHERE id = :id"),
            {"uid": BASE + sequence, "id": project_id},
        )
    with op.batch_alter_table("projects") as batch_op:
        batch_op.alter_column("sandbox_uid", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_projects_sandbox_uid", ["sandbox_uid"])


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_constraint("uq_projects_sandbox_uid", type_="unique")
        batch_op.drop_column("sandbox_uid")
