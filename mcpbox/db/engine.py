"""The database seam: one async SQLAlchemy engine, sessions, serialised writes, error translation.

SQLite allows many readers but one writer. Two transactions that both start reading and then try
to write can deadlock, and SQLite resolves that by failing one with "database is locked" no matter
how long ``busy_timeout`` is. So, as Datasette does, every write in this process goes through one
``asyncio.Lock`` (``Database.write()``) and opens its transaction with ``BEGIN IMMEDIATE``, which
takes the write lock up front; other processes (``mcpbox keys rotate``, ``mcpbox backup``) then
simply wait up to ``busy_timeout``. Reads (``Database.session()``) never take the lock; WAL lets
them run beside the writer.

Every SQLAlchemy or sqlite3 exception that leaves this module is a ``StorageError`` (raised
``from`` the original), so no layer above needs to know which driver is underneath. Statement
parameters are hidden from error messages: they may hold ciphertexts or user data.

PostgreSQL: the pragmas below have no equivalent and are skipped (WAL, fsync policy and lock
waits are server settings; foreign keys are always enforced; use ``lock_timeout`` for the busy
timeout). ``BEGIN IMMEDIATE`` maps to an ordinary ``BEGIN``; the write lock is then unnecessary
but harmless, and can be dropped for multi-process deployments.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from mcpbox.config import Config
from mcpbox.db.appender import Appender
from mcpbox.errors import MCPBoxError, StorageError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Longest a writer queues behind the others in this process; past it, fail rather than hang.
WRITE_WAIT_SECONDS = 30.0
WRITE_OPTION = "mcpbox_write"  # execution option marking a connection opened by Database.write()
SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),  # readers never block the writer, and vice versa
    ("foreign_keys", "ON"),  # SQLite leaves them off by default; ON DELETE CASCADE relies on it
    ("busy_timeout", str(BUSY_TIMEOUT_MS)),  # wait for another process's write lock
    ("synchronous", "NORMAL"),  # safe with WAL: a crash loses at most the last commits, never data
)


class DatabaseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Database:
    """The application's handle on its database: sessions for reads, a serialised write path."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        foreign_keys: bool = True,
        write_wait_seconds: float = WRITE_WAIT_SECONDS,
    ) -> None:
        self._engine = engine
        self._write_wait_seconds = write_wait_seconds
        self._is_sqlite = engine.dialect.name == "sqlite"
        if self._is_sqlite:
            _install_sqlite_hooks(engine, foreign_keys=foreign_keys)
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task[object] | None = None  # the task inside write(), if any
        self._state = DatabaseState.OPEN
        self._appender: Appender | None = None

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._is_sqlite

    @property
    def state(self) -> DatabaseState:
        return self._state

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (and, rarely, writes the caller commits itself).

        Anything that writes should prefer ``write()``: it is serialised and commits for you.
        """
        self._check_open()
        try:
            async with self._sessions() as session:
                yield session
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _storage_error(exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One serialised write transaction: commits when the block ends, rolls back on error.

        Only one ``write()`` block runs at a time in this process, so SQLite never reports
        "database is locked" between our own writers. Keep the block short: no network I/O in it.
        """
        self._check_open()
        if self._writer is not None and self._writer is asyncio.current_task():
            # The lock is not re-entrant: a nested write() would wait for itself forever.
            raise RuntimeError("Database.write() blocks must not be nested; pass the session down")
        try:
            async with asyncio.timeout(self._write_wait_seconds):
                await self._write_lock.acquire()
        except TimeoutError as exc:
            raise StorageError(f"waited {self._write_wait_seconds}s for the database write lock") from exc
        self._writer = asyncio.current_task()
        try:
            async with self._sessions() as session:
                await session.connection(execution_options={WRITE_OPTION: True})
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _storage_error(exc) from exc
        finally:
            self._writer = None
            self._write_lock.release()

    async def append_rows(
        self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert ``rows`` (values in ``columns`` order) in one transaction, off the event loop.

        The batched log writers' path. Through SQLAlchemy a batch costs the event loop every
        parameter's processing plus a thread hop per statement, a stall that shows in the p99 of
        the calls around it. Here the loop only hands the rows over: one thread (with its own
        SQLite connection) runs BEGIN IMMEDIATE, one ``executemany`` and COMMIT, under the same
        write lock as ``write()``, so SQLite still sees one writer of this process at a time.
        Databases other than SQLite take the ``write()`` path.
        """
        self._check_open()
        if not rows:
            return
        if not self._is_sqlite or self._engine.url.database in (None, "", ":memory:"):
            async with self.write() as session:
                params = [dict(zip(columns, row, strict=True)) for row in rows]
                await session.exec(insert(table), params=params)
            return
        if self._appender is None:
            self._appender = Appender(str(self._engine.url.database), SQLITE_PRAGMAS)
        sql = self._insert_sql(table, columns)
        rows = self._bind(table, columns, rows)
        try:
            async with asyncio.timeout(self._write_wait_seconds):
                await self._write_lock.acquire()
        except TimeoutError as exc:
            raise StorageError(f"waited {self._write_wait_seconds}s for the database write lock") from exc
        try:
            await self._appender.append(sql, rows)
        except sqlite3.Error as exc:
            raise _storage_error(exc) from exc
        finally:
            self._write_lock.release()

    def _insert_sql(self, table: Table, columns: Sequence[str]) -> str:
        """``INSERT INTO t (a, b) VALUES (?, ?)`` for columns of ``table`` only, quoted by the dialect."""
        known = set(table.c.keys())
        unknown = [name for name in columns if name not in known]
        if unknown:
            raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
        quote = self._engine.dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 - names checked above

    def _bind(
        self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> Sequence[tuple[Any, ...]]:
        """Apply each column type's bind conversion (e.g. aware datetimes) as SQLAlchemy would."""
        dialect = self._engine.dialect
        converters = [
            (index, processor)
            for index, name in enumerate(columns)
            if (processor := table.c[name].type.bind_processor(dialect)) is not None
        ]
        if not converters:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for index, processor in converters:
                values[index] = processor(values[index])
            converted.append(tuple(values))
        return converted

    async def ping(self, limit_seconds: float = 5.0) -> None:
        """Readiness check: a trivial query must answer within ``limit_seconds``."""
        try:
            async with asyncio.timeout(limit_seconds), self.session() as session:
                await (await session.connection()).execute(text("SELECT 1"))
        except TimeoutError as exc:
            raise StorageError(f"database did not answer within {limit_seconds}s") from exc

    async def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        if self._state is DatabaseState.CLOSED:
            return
        self._state = DatabaseState.CLOSED
        if self._appender is not None:
            await self._appender.close()
        try:
            await self._engine.dispose()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _storage_error(exc) from exc

    def _check_open(self) -> None:
        if self._state is not DatabaseState.OPEN:
            raise StorageError("the database is closed")


def create_engine(database_url: str) -> AsyncEngine:
    """The async engine for ``database_url``; parameters never appear in error messages."""
    try:
        return create_async_engine(database_url, hide_parameters=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"cannot use database URL: {type(exc).__name__}: {exc}") from exc


async def open_database(config: Config, *, foreign_keys: bool = True) -> Database:
    """Open (creating the file if needed) the configured database and check it answers.

    ``foreign_keys=False`` is for migrations only: SQLite batch mode rebuilds tables, which must
    not cascade deletes into child rows while it does.
    """
    if config.sqlite_path is not None:
        try:
            config.sqlite_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"cannot create database directory: {exc.strerror}") from exc
    database = Database(create_engine(config.database_url), foreign_keys=foreign_keys)
    try:
        await database.ping()
    except MCPBoxError:
        await database.close()
        raise
    return database


def _install_sqlite_hooks(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    """Set pragmas on every new connection and take over transaction start from the driver.

    Python's sqlite3 module opens transactions lazily and implicitly, which breaks SAVEPOINT and
    makes ``BEGIN IMMEDIATE`` impossible; SQLAlchemy's documented remedy is to switch the driver
    to autocommit and emit BEGIN from the ``begin`` event.
    """
    pragmas = [(name, value) for name, value in SQLITE_PRAGMAS if name != "foreign_keys"]
    pragmas.append(("foreign_keys", "ON" if foreign_keys else "OFF"))

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in pragmas:
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)


def _storage_error(exc: BaseException) -> StorageError:
    # str() of a SQLAlchemy error holds the SQL (parameters hidden) and the driver's reason: fine
    # for the server log; StorageError keeps it away from clients.
    logger.debug("database error", exc_info=exc)
    return StorageError(f"database error: {type(exc).__name__}: {exc}")
