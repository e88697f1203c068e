"""The one Alembic tree builds the schema the tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from openarts.db.base import Base
from openarts.db.engine import SCHEMA_HEAD, Database, alembic_config
from openarts.domain.sandbox_view import SANDBOX_UID_BASE
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
            assert await connection.run_sync(_revision) == SCHEMA_HEAD == "0012"
    finally:
        await db.close()


def test_the_head_a_start_checks_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


async def test_an_older_database_is_upgraded_not_dropped(empty_database_url: str) -> None:
    db = Database(empty_database_url)
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


async def test_projects_made_before_sandboxes_get_uids_of_their_own(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        await db.migrate("0008")
        domain_id = new_hex32()
        async with db.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO domains (id, name, created_at) VALUES (:id, 'd', :t)"),
                {"id": domain_id, "t": now_ms()},
            )
            for name, created in (("second", 2), ("first", 1), ("third", 3)):
                await connection.execute(
                    text(
                        "INSERT INTO projects (id, domain_id, name, description, created_at) "
                        "VALUES (:id, :d, :n, '', :t)"
                    ),
                    {"id": new_hex32(), "d": domain_id, "n": name, "t": created},
                )
        await db.migrate()
        async with db.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT name, sandbox_uid FROM projects ORDER BY sandbox_uid")
            )
            assert [tuple(r) for r in rows] == [
                ("first", SANDBOX_UID_BASE),
                ("second", SANDBOX_UID_BASE + 1),
                ("third", SANDBOX_UID_BASE + 2),
            ]
    finally:
        await db.close()
