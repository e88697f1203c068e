"""image models: a model of type Image may be a container image; the reference its
replicas run (a copy pinned by digest, or the source tag) and whether it was copied

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "models",
        sa.Column("image", sa.String(length=1024), nullable=False, server_default=""),
    )
    op.add_column(
        "models",
        sa.Column("source_copy", sa.String(length=8), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("source_copy")
        batch.drop_column("image")
