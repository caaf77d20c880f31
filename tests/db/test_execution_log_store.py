"""Execution logs: one row per call or test run, bounded sizes, newest first, filtered, paged."""

from __future__ import annotations

import pytest

from mcpbox.db import execution_log_store as store
from mcpbox.db.engine import Database
from mcpbox.db.execution_log_store import NewExecutionLog
from mcpbox.errors import InvalidInput
from tests.tools.harness import config, database

__all__ = ["config", "database"]  # the forge fixtures: they migrate to every head

pytestmark = pytest.mark.anyio


def _entry(**changes: object) -> NewExecutionLog:
    fields: dict[str, object] = {
        "server": "home",
        "kind": "call",
        "requested_by": "token:ci",
        "outcome": "ok",
        "duration_ms": 12.5,
        "tool": "weather",
        "version": 2,
        "content_hash": "a" * 64,
        "arguments": {"city": "Lisbon", "token": "[REDACTED:TOKEN]"},
        "result_summary": '{"temp": 21}',
        "stdout": "hello\n",
        "egress": [{"host": "api.example.org", "method": "GET", "status": 200, "bytes": 120}],
    }
    fields.update(changes)
    return NewExecutionLog(**fields)  # type: ignore[arg-type]


async def test_an_entry_round_trips(database: Database) -> None:
    entry_id = await store.insert_execution_log(database, _entry())
    [record], total = await store.list_execution_logs(database)
    assert (record.id, total) == (entry_id, 1)
    assert record.arguments == {"city": "Lisbon", "token": "[REDACTED:TOKEN]"}
    assert record.egress == [{"host": "api.example.org", "method": "GET", "status": 200, "bytes": 120}]
    assert (record.kind, record.version, record.requested_by, record.duration_ms) == (
        "call",
        2,
        "token:ci",
        12.5,
    )
    assert record.at.tzinfo is not None


async def test_long_texts_are_truncated_and_marked(database: Database) -> None:
    await store.insert_execution_log(
        database,
        _entry(stdout="x" * (store.STDOUT_MAX_CHARS * 2), result_summary="y" * 10_000, error="e" * 10_000),
    )
    [record], _ = await store.list_execution_logs(database)
    assert len(record.stdout) == store.STDOUT_MAX_CHARS
    assert record.stdout.endswith(store.TRUNCATED)
    assert len(record.result_summary) == store.SUMMARY_MAX_CHARS
    assert record.error is not None
    assert len(record.error) == store.ERROR_MAX_CHARS


async def test_listing_filters_by_server_tool_and_kind_newest_first(database: Database) -> None:
    await store.insert_execution_log(database, _entry(tool="a"))
    await store.insert_execution_log(database, _entry(tool="b"))
    await store.insert_execution_log(database, _entry(tool=None, kind="test"))
    await store.insert_execution_log(database, _entry(server="other"))
    rows, total = await store.list_execution_logs(database, server="home")
    assert total == 3
    assert [r.tool for r in rows] == [None, "b", "a"]
    rows, total = await store.list_execution_logs(database, server="home", tool="a")
    assert ([r.tool for r in rows], total) == (["a"], 1)
    rows, total = await store.list_execution_logs(database, kind="test")
    assert total == 1
    rows, total = await store.list_execution_logs(database, server="home", offset=1, limit=1)
    assert ([r.tool for r in rows], total) == (["b"], 3)


async def test_bad_kind_and_paging_are_refused(database: Database) -> None:
    with pytest.raises(InvalidInput):
        await store.insert_execution_log(database, _entry(kind="other"))
    with pytest.raises(InvalidInput):
        await store.list_execution_logs(database, limit=0)
