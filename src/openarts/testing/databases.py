"""Throw-away databases for tests, created per use and dropped afterwards.

A test session migrates one template per dialect once; each test then gets a copy of it
(a file copy, or ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), which costs milliseconds
instead of a migration.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from openarts.db.engine import Database

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_dsn() -> str:
    return os.environ.get("OPENARTS_TEST_POSTGRES_DSN", DEFAULT_ADMIN_DSN)


def _url(name: str) -> str:
    base = admin_dsn().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(admin_dsn())
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def temporary_database(template: str | None = None) -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of a fresh database (empty, or a copy of ``template``);
    drop it on exit."""
    name = f"openarts_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await _admin(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield _url(name)
    finally:
        await drop_database(name)


async def make_template() -> str:
    """The name of a new database migrated to the latest schema, with no connection left
    open to it (a template must have none while it is copied). ``drop_database`` it."""
    name = f"openarts_template_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    await migrate(_url(name))
    return name


async def migrate(url: str) -> None:
    """Bring the database at ``url`` (either dialect) to the latest schema, and close it."""
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.close()


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
