"""Appending rows to SQLite from a thread of its own, so a batch costs the event loop nothing.

The batched log writers insert hundreds of rows at a time. Through SQLAlchemy's async engine the
event loop processes every parameter and hops to the driver's thread once per statement; both
show in the p99 of the requests around the batch. Here the loop hands over finished tuples, and
one thread with its own connection runs BEGIN IMMEDIATE, one ``executemany`` and COMMIT; the
sqlite3 module releases the GIL while SQLite works. ``Database.append_rows`` holds the process's
write lock around it, so SQLite still sees one writer of this process at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
# The appender only inserts: a small page cache keeps it from costing resident memory.
CACHE_KIB = 256
# Rows converted between two yields to the event loop (see ``rows_in_slices``).
SLICE = 64


class Appender:
    """One thread that owns one SQLite connection: every append runs there, one at a time."""

    def __init__(self, path: str, pragmas: Iterable[tuple[str, str]]) -> None:
        self._path = path
        self._pragmas = (*pragmas, ("cache_size", str(-CACHE_KIB)))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcpbox-db-appender")
        self._connection: sqlite3.Connection | None = None

    async def append(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``sql`` for every row in one transaction; sqlite3 errors propagate."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._append, sql, rows)

    def _append(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(sql, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None)
            for name, value in self._pragmas:
                connection.execute(f"PRAGMA {name}={value}")
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, close_connection)
        finally:
            self._executor.shutdown(wait=False)


async def rows_in_slices(
    items: Sequence[T], convert: Callable[[T], tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """``[convert(item) for item in items]``, yielding to the event loop every ``SLICE`` items.

    Converting a batch (JSON of details, truncation) takes a few microseconds a row; done in one
    go for a few hundred rows it would hold up every request for milliseconds.
    """
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(items), SLICE):
        if start:
            await asyncio.sleep(0)
        rows.extend(convert(item) for item in items[start : start + SLICE])
    return rows
