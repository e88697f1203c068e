"""Committed notes from every server process on one PostgreSQL database.

Each transaction that notes something (``after_commit``) sends it on a channel as it
commits (``db/engine.py``); this feed listens on one connection of its own and hands
each note to ``on_notes``, so the process that leads the loops is woken by a request
another process answered, as by its own. The connection is made again if it breaks; what
was noted meanwhile is found by the loops' next interval, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openarts.db.engine import NOTES_CHANNEL, Database

log = logging.getLogger("openarts.db")
RETRY_S = 2.0


class NotesFeed:
    def __init__(self, db: Database, on_notes: Callable[[frozenset[str]], None]) -> None:
        self.db = db
        self.on_notes = on_notes
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if not self.db.is_sqlite and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="notes-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.on_notes(frozenset(note for note in payload.split(",") if note))
        except Exception:
            log.exception("acting on notes from another process failed")

    async def _listen(self) -> None:
        while True:
            connection: AsyncConnection | None = None
            try:
                connection = await self.db.engine.connect()
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                closed = asyncio.Event()
                driver.add_termination_listener(lambda _connection, ended=closed: ended.set())
                await driver.add_listener(NOTES_CHANNEL, self._heard)
                # Held until the connection breaks (or the feed stops).
                await closed.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for other processes' notes failed; trying again")
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.invalidate()
                        await connection.close()
            await asyncio.sleep(RETRY_S)
