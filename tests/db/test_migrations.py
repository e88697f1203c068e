"""The one Alembic tree builds the schema the tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from openarts.db.base import Base
from openarts.db.engine import Database
from openarts.ids import new_hex32, now_ms


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            assert await connection.run_sync(_revision) == "0008"
    finally:
        await db.close()


async def test_an_older_database_is_upgraded_not_dropped(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate("0001")
        domain_id = new_hex32()
        async with db.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO domains (id, name, created_at) VALUES (:id, 'kept', :t)"),
                {"id": domain_id, "t": now_ms()},
            )
        await db.migrate()
        await db.migrate()
        async with db.engine.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM domains"))).scalars().all()
        assert names == ["kept"]
    finally:
        await db.close()
