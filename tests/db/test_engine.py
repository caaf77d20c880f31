"""The database seam: pragmas, serialised writes, error translation, lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text

from mcpbox.config import Config
from mcpbox.db import setting_store
from mcpbox.db.engine import Database, DatabaseState, create_engine, open_database
from mcpbox.errors import StorageError
from tests.db.sql import run_sql


async def _pragma(db: Database, name: str) -> Any:
    [(value,)] = await run_sql(db, f"PRAGMA {name}")
    return value


@pytest.mark.anyio
async def test_pragmas_are_set_on_every_connection(database: Database) -> None:
    assert await _pragma(database, "journal_mode") == "wal"
    assert await _pragma(database, "foreign_keys") == 1
    assert await _pragma(database, "busy_timeout") == 5000
    assert await _pragma(database, "synchronous") == 1  # NORMAL


@pytest.mark.anyio
async def test_write_transactions_begin_immediate(database: Database) -> None:
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await setting_store.set_setting(database, "k", 1)
        await setting_store.find_setting(database, "k")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert "BEGIN" in statements  # the read took a plain, deferred transaction


@pytest.mark.anyio
async def test_concurrent_writers_never_see_database_is_locked(database: Database) -> None:
    await asyncio.gather(*(setting_store.set_setting(database, f"key{i}", i) for i in range(60)))
    settings = await setting_store.list_settings(database)
    assert len(settings) == 60


@pytest.mark.anyio
async def test_a_failed_write_rolls_back_and_is_a_storage_error(database: Database) -> None:
    async def two_inserts() -> None:
        async with database.write() as session:
            connection = await session.connection()
            await connection.execute(
                text("INSERT INTO settings(key, value, updated_at) VALUES ('a', '1', 1)")
            )
            await connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    with pytest.raises(StorageError) as info:
        await two_inserts()
    assert info.value.public_message == "internal storage error"
    assert isinstance(info.value.__cause__, Exception)
    assert await setting_store.find_setting(database, "a") is None


@pytest.mark.anyio
async def test_ping_answers_and_a_closed_database_refuses_work(config: Config) -> None:
    db = await open_database(config)
    await db.ping()
    await db.close()
    await db.close()  # idempotent
    assert db.state is DatabaseState.CLOSED
    with pytest.raises(StorageError, match="closed"):
        await db.ping()


@pytest.mark.anyio
async def test_an_unusable_database_path_is_a_storage_error(tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = Config.load(environ={"MCPBOX_DATA_DIR": str(blocker / "data")})
    with pytest.raises(StorageError):
        await open_database(config)


@pytest.mark.anyio
async def test_storage_errors_never_carry_statement_parameters(database: Database) -> None:
    with pytest.raises(StorageError) as info:
        await run_sql(
            database,
            "INSERT INTO settings(key, value, updated_at) VALUES (:k, :v, NULL)",
            {"k": "k", "v": "SENSITIVE-VALUE"},
            write=True,
        )
    assert "NOT NULL" in str(info.value)
    assert "SENSITIVE-VALUE" not in str(info.value)


@pytest.mark.anyio
async def test_a_nested_write_is_an_error_not_a_deadlock(database: Database) -> None:
    async def nested() -> None:
        async with database.write(), database.write():
            pass

    with pytest.raises(RuntimeError, match="must not be nested"):
        await nested()
    await setting_store.set_setting(database, "still", "writable")  # the lock was released


@pytest.mark.anyio
async def test_a_writer_waiting_too_long_for_the_lock_gets_a_storage_error(config: Config) -> None:
    db = Database(create_engine(config.database_url), write_wait_seconds=0.05)
    try:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> None:
            async with db.write():
                holding.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await holding.wait()
        with pytest.raises(StorageError, match="write lock"):
            async with db.write():
                pass
        release.set()
        await holder
    finally:
        await db.close()
