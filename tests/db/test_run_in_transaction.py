"""Database.run_in_transaction: one committed transaction of plain code, on both databases,
that waits (without blocking the event loop) for a writer holding SQLite's lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update
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
