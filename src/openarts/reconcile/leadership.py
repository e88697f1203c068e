"""One reconciler at a time per database, however many server processes share it.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own:
if its process dies, the connection closes and another server takes over at its next
pass. On SQLite (one machine) the leader holds an exclusive ``flock`` on a file beside
the database. Either way two servers never start, stop or settle the same task twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from openarts.db.engine import Database

# An arbitrary 64-bit key naming "the OpenArts reconciler" among advisory locks.
ADVISORY_KEY = 0x6F70656E61727473
# How long letting go of the lock waits for a check in flight.
RELEASE_WAIT_S = 5.0


class Leadership:
    def __init__(self, db: Database, lock_file: Path) -> None:
        self.db = db
        self.lock_file = lock_file
        self._connection: AsyncConnection | None = None
        self._fd: int | None = None
        # The workload and training reconcilers both ask; their checks must not share
        # the lock's connection at the same moment.
        self._asking = asyncio.Lock()

    async def held(self) -> bool:
        """Whether this process leads now; tries to become the leader if nobody does."""
        if self.db.is_sqlite:
            return self._file_lock()
        async with self._asking:
            return await self._advisory_lock()

    def _file_lock(self) -> bool:
        if self._fd is not None:
            return True
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def _advisory_lock(self) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                # The connection broke, and the lock with it: start over.
                await self._drop_connection()
        connection = await self.db.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            )
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        # Never on the lock's connection while a check uses it (two operations at once on
        # one connection break it, and leave the check waiting for an answer that never
        # comes): a check cut short by the server's stop lets go of the lock first. One
        # that does not, within RELEASE_WAIT_S, has its connection closed under it: that
        # ends the session, and a session's advisory locks with it.
        try:
            async with asyncio.timeout(RELEASE_WAIT_S), self._asking:
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        await self._connection.execute(
                            text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                        )
                        await self._connection.commit()
        except TimeoutError:
            pass
        await self._drop_connection()
