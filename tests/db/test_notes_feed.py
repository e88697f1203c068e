"""What one server process commits wakes the loops of another on the same PostgreSQL
database: the notes go with the commit, and not at all with a rollback."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from openarts.db.engine import Database, after_commit
from openarts.db.notes_feed import NotesFeed


async def test_notes_reach_another_process_with_the_commit_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one process owns a SQLite database: its notes never leave it")
    heard: asyncio.Queue[frozenset[str]] = asyncio.Queue()
    listening, writing = Database(database_url), Database(database_url)
    feed = NotesFeed(listening, heard.put_nowait)
    feed.start()
    try:
        # The feed listens once its connection is up: note until it is heard.
        async def note(*notes: str, commit: bool = True) -> None:
            async with writing.session() as session:
                await session.begin()
                await session.execute(text("SELECT 1"))
                after_commit(session, *notes)
                await (session.commit() if commit else session.rollback())

        for _ in range(100):
            await note("warm-up")
            try:
                assert await asyncio.wait_for(heard.get(), 0.1) == {"warm-up"}
                break
            except TimeoutError:
                continue
        await note("rolled-back", commit=False)
        await note("training", "workloads")
        assert await asyncio.wait_for(heard.get(), 10) == {"training", "workloads"}
        # Nothing of the rolled-back transaction (nor stray warm-ups) came meanwhile.
        while not heard.empty():
            assert heard.get_nowait() == {"warm-up"}
    finally:
        await feed.stop()
        await listening.close()
        await writing.close()
