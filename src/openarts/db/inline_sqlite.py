"""SQLite for the async engine without a thread per connection.

aiosqlite runs every call on a thread of its own and hands the answer back to the event
loop: about half a millisecond a statement here, where SQLite itself takes microseconds,
so a create of a dozen statements spent most of its time handing over. These connections
have aiosqlite's shape (what SQLAlchemy's aiosqlite dialect calls) and run each call
right on the event loop instead, as the loops' own transactions already do
(``Database.run_in_transaction``). Statements read a bounded number of rows, so none
holds the loop for long.

A connection never waits inside SQLite for another's write lock (that would hold the
loop, and with it the lock's holder): a statement that finds the lock taken is tried
again after a short asynchronous pause, until ``lock_wait_s`` has passed, then fails
"database is locked" (answered as busy, never as a fault). Only a statement that takes
the lock can find it taken (the driver begins a transaction at its first write, and
reads before that hold no snapshot), so trying it again is safe.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
FIRST_PAUSE_S = 0.001
LONGEST_PAUSE_S = 0.05


def _locked(error: sqlite3.OperationalError) -> bool:
    return "database is locked" in str(error)


async def _patiently(lock_wait_s: float, call: Callable[[], T]) -> T:
    """``call()``, tried again after pauses while the write lock is another's."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lock_wait_s
    pause = FIRST_PAUSE_S
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _locked(error) or loop.time() > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_S)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, lock_wait_s: float) -> None:
        self._cursor = cursor
        self._lock_wait_s = lock_wait_s

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await _patiently(self._lock_wait_s, lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> InlineCursor:
        await _patiently(self._lock_wait_s, lambda: self._cursor.executemany(sql, parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue of calls (SQLAlchemy sets the isolation level
    through it): each call runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection, lock_wait_s: float) -> None:
        # Both names aiosqlite gives its sqlite3 connection (SQLAlchemy reads each).
        self._conn: sqlite3.Connection | None = connection
        self._connection = connection
        self._tx = _RunNow()
        self._lock_wait_s = lock_wait_s

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("the connection is closed")
        return self._conn

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor(), self._lock_wait_s)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        connection = self._open()
        await _patiently(self._lock_wait_s, connection.commit)

    async def rollback(self) -> None:
        self._open().rollback()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._connection = None  # type: ignore[assignment]

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._open().in_transaction


def inline_connector(path: str, lock_wait_s: float) -> Callable[[], Any]:
    """The ``async_creator`` of an engine whose connections run on the event loop."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from another thread
        # (at interpreter exit); every statement runs on the loop's own thread.
        # (The engine's connect listener sets its pragmas, busy_timeout=0 among them.)
        connection = sqlite3.connect(path, check_same_thread=False)
        return InlineConnection(connection, lock_wait_s)

    return connect
