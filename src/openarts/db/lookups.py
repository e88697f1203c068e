"""Keeping the planner on the primary key where a statement names its rows.

Without statistics SQLite guesses that an equality on any indexed column selects about
ten rows, fewer than an IN list of a few dozen primary keys: a statement such as
``id IN (...) AND status = 'Pending'`` then reads every pending row through the status
index instead of looking up the ids it names. A condition on ``not_for_lookup(column)``
is the same condition on a value no index holds, so the ids are looked up (on
PostgreSQL too, which would choose them anyway).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func


def not_for_lookup(column: Any) -> ColumnElement[Any]:
    """``column``'s value, kept out of index choice (coalesce of a value with itself)."""
    return func.coalesce(column, column)
