"""The database: one async engine, a session factory, and migrations run at start.

Hot loops (the reconcilers) hand whole transactions of plain synchronous code to
``run_in_transaction``. On SQLite that runs right on the event loop with the standard
sqlite3 driver, and so do the async engine's statements (db/inline_sqlite.py): through a
driver thread each statement cost a hand-over between threads (about half a millisecond,
more when the CPUs are busy), while a statement itself takes microseconds. No connection
waits inside SQLite for the write lock (that would block the loop, and with it the
holder of the lock): a loop's transaction that finds the lock taken is rolled back and
run again after a short asynchronous pause; a request's statement is tried again the
same way. On PostgreSQL the same function runs on the async session (``run_sync``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from openarts.db.inline_sqlite import inline_connector

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("openarts.db")

# The newest migration. A start finds the database there (every start but the first and
# the first after an upgrade) with one query and never loads Alembic and its scripts,
# about a tenth of a second; tests/db/test_migrations.py holds it to Alembic's head.
SCHEMA_HEAD = "0012"

P = ParamSpec("P")
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# As long as the async engine's connections wait for the write lock (busy_timeout).
SQLITE_LOCK_WAIT_S = 10.0


def _sqlite_pragmas(dbapi_connection: Any, lock_wait_s: float) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_s * 1000)}")
    cursor.close()


def _sqlite_pragmas_no_wait(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, 0)
    dbapi_connection.isolation_level = None  # transactions begin where we say (below)


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


# Where a session keeps what it must announce once its transaction commits.
_AFTER_COMMIT = "openarts.after_commit"


def after_commit(session: Session | AsyncSession, *notes: str) -> None:
    """Announce ``notes`` to the database's ``on_commit`` once this session's transaction
    has committed; nothing is announced if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT, set()).update(notes)


# The PostgreSQL channel on which committed notes reach every server process.
NOTES_CHANNEL = "openarts_notes"


def _notify_other_processes(session: Session) -> None:
    if session.in_nested_transaction():
        return
    notes = session.info.get(_AFTER_COMMIT)
    if notes:
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTES_CHANNEL, "payload": ",".join(sorted(notes))},
        )


def _forget_notes(session: Session) -> None:
    # A savepoint rolled back: the transaction around it may still commit what it noted.
    if not session.in_nested_transaction():
        session.info.pop(_AFTER_COMMIT, None)


def is_lock_timeout(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's write lock taken for longer than a connection waits:
    work to try again later, not a fault."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class Database:
    def __init__(self, url: str, *, lock_wait_s: float = SQLITE_LOCK_WAIT_S) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # On SQLite: how long a write waits for another's lock before it gives up.
        self.lock_wait_s = lock_wait_s
        kwargs: dict[str, Any] = {}
        # A file's connections run on the event loop (db/inline_sqlite.py) and wait for
        # the write lock there, asynchronously: SQLite itself must not wait.
        inline = self.is_sqlite and not _in_memory(url)
        if inline:
            path = make_url(url).database
            assert path is not None
            kwargs.update(async_creator=inline_connector(path, lock_wait_s))
        elif not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            busy_wait_s = 0.0 if inline else lock_wait_s
            event.listen(
                self.engine.sync_engine,
                "connect",
                lambda connection, _record: _sqlite_pragmas(connection, busy_wait_s),
            )
        # Told what committed transactions noted (after_commit); the composition root
        # wakes the loops with it. Nobody listens by default.
        self.on_commit: Callable[[frozenset[str]], None] | None = None
        # Every session of this database, async or plain, is of this class, so the
        # notes of any committed transaction reach on_commit.
        self._session_class: type[Session] = type("OpenArtsSession", (Session,), {})
        event.listen(self._session_class, "after_commit", self._announce)
        if not self.is_sqlite:
            # Other server processes on this database hear the notes too: NOTIFY is sent
            # with the transaction's commit, and not at all if it rolls back.
            event.listen(self._session_class, "before_commit", _notify_other_processes)
        event.listen(self._session_class, "after_rollback", _forget_notes)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=self._session_class
        )
        self._sync_engine: Engine | None = None

    def _announce(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the transaction itself has not committed yet
        notes = session.info.pop(_AFTER_COMMIT, None)
        if not notes or self.on_commit is None:
            return
        try:
            self.on_commit(frozenset(notes))
        except Exception:
            # The transaction has committed: a listener's failure must not turn it into
            # an error for the caller (the loops look again at their next interval).
            log.exception("telling %s after a commit failed", sorted(notes))

    def session(self) -> AsyncSession:
        return self.sessions()

    async def run_in_transaction(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``work(session, ...)`` in one transaction, committed when it returns. On
        SQLite it may run more than once (see above): ``work`` must not change its
        arguments."""
        if not self.is_sqlite or _in_memory(self.url):
            # (An in-memory database is private to its connection: no second engine.)
            async with self.session() as session, session.begin():
                return await session.run_sync(work, *args, **kwargs)
        engine = self._sqlite_sync_engine()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait_s
        pause = 0.001
        while True:
            try:
                with self._session_class(engine, expire_on_commit=False) as plain, plain.begin():
                    return work(plain, *args, **kwargs)
            except OperationalError as error:
                if not is_lock_timeout(error) or loop.time() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _sqlite_sync_engine(self) -> Engine:
        if self._sync_engine is None:
            # The same file through the standard driver; WAL and the busy timeout let it
            # share the file with the async engine's connections.
            url = make_url(self.url).set(drivername="sqlite+pysqlite")
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas_no_wait)
            # The driver would begin a transaction only at the first write, leaving the
            # reads before it outside; BEGIN at the start makes the whole function one
            # snapshot, and a write from a stale one fails "locked" (and is run again).
            event.listen(engine, "begin", _sqlite_begin)
            self._sync_engine = engine
        return self._sync_engine

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``; an older database is upgraded, never dropped."""
        async with self.engine.begin() as connection:
            if revision == "head" and await connection.run_sync(_at_head):
                return
            await connection.run_sync(_upgrade, revision)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _at_head(connection: Connection) -> bool:
    if not inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return list(versions) == [SCHEMA_HEAD]


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
