"""Throw-away PostgreSQL databases for tests: created per use, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_dsn() -> str:
    return os.environ.get("OPENARTS_TEST_POSTGRES_DSN", DEFAULT_ADMIN_DSN)


@asynccontextmanager
async def temporary_database() -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty database; drop it on exit."""
    dsn = admin_dsn()
    name = f"openarts_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
