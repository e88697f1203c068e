"""Database.run_in_transaction: one committed transaction of plain code, on both databases,
that waits (without blocking the event loop) for a writer holding SQLite's lock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from openarts.db.engine import Database
from openarts.db.tables import Domain
from openarts.services import identity


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.close()


def rename(session: Session, domain_id: str, name: str) -> str:
    session.execute(update(Domain).where(Domain.id == domain_id).values(name=name))
    return str(session.scalar(select(Domain.name).where(Domain.id == domain_id)))


def rename_then_fail(session: Session, domain_id: str) -> None:
    rename(session, domain_id, "never")
    raise RuntimeError("rolled back")


async def domain_name(db: Database, domain_id: str) -> str:
    async with db.session() as session:
        found = await session.get(Domain, domain_id)
        assert found is not None
        return found.name


async def test_commits_on_return_and_rolls_back_on_error(db: Database) -> None:
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "before")
    assert await db.run_in_transaction(rename, domain.id, "after") == "after"
    assert await domain_name(db, domain.id) == "after"
    with pytest.raises(RuntimeError):
        await db.run_in_transaction(rename_then_fail, domain.id)
    assert await domain_name(db, domain.id) == "after"


async def test_waits_for_a_writer_that_holds_the_lock_without_blocking_others(
    db: Database,
) -> None:
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "before")
    holder_may_commit = asyncio.Event()
    lock_taken = asyncio.Event()
    ticks = 0

    async def holder() -> None:
        async with db.session() as session, session.begin():
            await session.execute(
                update(Domain).where(Domain.id == domain.id).values(name="holder")
            )
            lock_taken.set()
            await holder_may_commit.wait()

    async def ticker() -> None:
        # Runs only if the loop is free while the other transaction waits.
        nonlocal ticks
        while ticks < 5:
            ticks += 1
            await asyncio.sleep(0.01)
        holder_may_commit.set()

    holding = asyncio.create_task(holder())
    await asyncio.wait_for(lock_taken.wait(), timeout=10)
    waiting = asyncio.create_task(db.run_in_transaction(rename, domain.id, "waiter"))
    await asyncio.wait_for(asyncio.gather(holding, ticker(), waiting), timeout=20)
    assert ticks == 5
    assert waiting.result() == "waiter"
    assert await domain_name(db, domain.id) == "waiter"


async def test_sqlite_runs_again_from_a_fresh_snapshot_when_another_writer_got_in_first(
    tmp_path: Path,
) -> None:
    # The function reads, someone else commits, the function writes what it computed
    # from the stale read: SQLite refuses the write, and the whole function runs again.
    path = tmp_path / "snapshot.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE counter (v INTEGER)")
        setup.execute("INSERT INTO counter VALUES (1)")
    calls = 0

    def increment(session: Session) -> int:
        nonlocal calls
        calls += 1
        value = int(session.execute(text("SELECT v FROM counter")).scalar_one())
        if calls == 1:
            with sqlite3.connect(path) as other:
                other.execute("UPDATE counter SET v = 100")
        session.execute(text("UPDATE counter SET v = :v"), {"v": value + 1})
        return value + 1

    try:
        assert await db.run_in_transaction(increment) == 101
        assert calls == 2
    finally:
        await db.close()


async def test_sqlite_errors_other_than_the_lock_are_not_retried(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}")
    calls = 0

    def broken(session: Session) -> None:
        nonlocal calls
        calls += 1
        session.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(OperationalError, match="no such table"):
            await db.run_in_transaction(broken)
        assert calls == 1
    finally:
        await db.close()
