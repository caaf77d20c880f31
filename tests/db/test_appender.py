"""``Database.append_rows``: the batched writers' path to SQLite, off the event loop."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, text

from mcpbox.db.engine import Database
from mcpbox.db.models import ActivityRow, ExecutionLogRow
from mcpbox.errors import StorageError

pytestmark = pytest.mark.anyio
ACTIVITY: Table = ActivityRow.__table__  # type: ignore[attr-defined]
EXECUTION_LOG: Table = ExecutionLogRow.__table__  # type: ignore[attr-defined]


async def _count(database: Database, table: str) -> int:
    async with database.session() as session:
        return int(
            (await (await session.connection()).execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        )


async def test_rows_are_written_in_one_transaction_from_another_thread(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    threads: list[str] = []
    real_connect = sqlite3.connect

    def recording_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        threads.append(threading.current_thread().name)
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    rows = [(float(i), "mcp.request", "ok") for i in range(500)]
    await database.append_rows(ACTIVITY, ("at", "name", "outcome"), rows)
    assert await _count(database, "activity") == 500
    assert threads
    assert all(name.startswith("mcpbox-db-appender") for name in threads)
    assert threading.current_thread().name not in threads


async def test_a_failing_row_rolls_the_whole_batch_back(database: Database) -> None:
    rows = [(1.0, "mcp.request", "ok"), (2.0, None, "ok")]  # name is NOT NULL
    with pytest.raises(StorageError):
        await database.append_rows(ACTIVITY, ("at", "name", "outcome"), rows)
    assert await _count(database, "activity") == 0
    # The connection is usable again afterwards.
    await database.append_rows(ACTIVITY, ("at", "name", "outcome"), [(3.0, "mcp.request", "ok")])
    assert await _count(database, "activity") == 1


async def test_only_the_tables_own_columns_are_accepted(database: Database) -> None:
    with pytest.raises(ValueError, match="no column"):
        await database.append_rows(ACTIVITY, ("at", "name) VALUES (1, 'x'); --"), [(1.0, "x")])
    assert await _count(database, "activity") == 0


async def test_column_types_convert_values_as_sqlalchemy_would(database: Database) -> None:
    at = datetime(2026, 11, 29, 6, 30, 0, 123456, tzinfo=UTC)
    columns = ("at", "server", "kind", "arguments", "result_summary", "stdout", "duration_ms", "egress",
               "outcome", "requested_by")  # fmt: skip
    await database.append_rows(
        EXECUTION_LOG, columns, [(at, "s", "call", "{}", "", "", 1.5, "[]", "ok", "local")]
    )
    async with database.session() as session:
        stored = (
            await (await session.connection()).execute(text("SELECT at FROM execution_logs"))
        ).scalar_one()
    assert stored == "2026-11-29 06:30:00.123456"  # naive UTC, SQLAlchemy's own format


async def test_an_append_waits_for_a_write_in_progress(database: Database) -> None:
    order: list[str] = []
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with database.write():
            inside.set()
            await release.wait()
            order.append("write done")

    task = asyncio.create_task(writer())
    await inside.wait()
    append = asyncio.create_task(
        database.append_rows(ACTIVITY, ("at", "name", "outcome"), [(1.0, "a", "ok")])
    )
    await asyncio.sleep(0.05)
    assert not append.done()  # held by the write lock, as every writer of this process
    release.set()
    await task
    await append
    order.append("append done")
    assert order == ["write done", "append done"]
