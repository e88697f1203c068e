"""The compare-and-set every status switch makes: a row moves only from the status it
was read in, so two servers (or a request and a reconciler) never both move it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


def compare_and_set(
    session: Session, row: Any, current: str, values: dict[str, Any], *, field: str = "status"
) -> bool:
    """Write ``values`` to ``row`` if its ``field`` is still ``current``; False if it
    moved meanwhile. The loaded object follows without being marked dirty."""
    table = type(row)
    session.flush()
    moved = session.scalar(
        update(table)
        .where(table.id == row.id, getattr(table, field) == current)
        .values(**values)
        .returning(table.id)
        .execution_options(synchronize_session=False)
    )
    if moved is None:
        return False
    for key, value in values.items():
        set_committed_value(row, key, value)
    return True
