"""Counting what SQLite does, not how long it takes: a deterministic measure of how many
rows a loop's pass reads, for tests that hold a pass to a bounded cost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from openarts.db.engine import Database

# SQLite calls the handler every this many steps of its virtual machine, counted within
# each statement.
STEPS_PER_CALL = 10


@contextmanager
def sqlite_steps(db: Database) -> Iterator[list[int]]:
    """Count (in tens) the steps of the loops' transactions (``run_in_transaction``)
    while the block runs."""
    engine = db._sqlite_sync_engine()
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    def on_connect(connection: sqlite3.Connection, _record: Any) -> None:
        connection.set_progress_handler(count, STEPS_PER_CALL)

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections made from here on count
    try:
        yield counted
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()
