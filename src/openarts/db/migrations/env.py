"""Alembic environment: always handed a live connection by openarts.db.engine."""

from __future__ import annotations

from alembic import context

from openarts.db import tables  # noqa: F401  (registers the tables on Base.metadata)
from openarts.db.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("OpenArts migrations run through openarts.db.engine.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
