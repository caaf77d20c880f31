"""activity: batch insert, filters, newest-first paging, retention."""

from __future__ import annotations

import pytest

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.db import activity_store
from mcpbox.db.activity_store import ActivityFilter
from mcpbox.db.engine import Database


def _events() -> list[ActivityEvent]:
    return [
        ActivityEvent("mcp.request", at=100.0, method="tools/list", session_id="s1"),
        ActivityEvent("tool.called", at=101.0, server="home", tool="ping", duration_ms=3.5, detail={"n": 1}),
        ActivityEvent("tool.called", Outcome.ERROR, at=102.0, server="home", tool="pong", actor="alice"),
        ActivityEvent("tool_published", at=103.0, server="home"),
        ActivityEvent("server.created", Outcome.DENIED, at=104.0, actor="bob"),
    ]


@pytest.mark.anyio
async def test_insert_many_then_list_newest_first(database: Database) -> None:
    assert await activity_store.insert_many(database, _events()) == 5
    assert await activity_store.insert_many(database, []) == 0
    rows, total = await activity_store.list_activity(database)
    assert total == 5
    assert [r.at for r in rows] == [104.0, 103.0, 102.0, 101.0, 100.0]
    called = rows[3]
    assert (called.name, called.outcome, called.server, called.tool) == ("tool.called", "ok", "home", "ping")
    assert called.duration_ms == 3.5
    assert called.detail == {"n": 1}


@pytest.mark.anyio
async def test_filters_combine_and_paging_counts_all_matches(database: Database) -> None:
    await activity_store.insert_many(database, _events())
    rows, total = await activity_store.list_activity(database, ActivityFilter(server="home"), limit=1)
    assert total == 3
    assert [r.at for r in rows] == [103.0]
    rows, total = await activity_store.list_activity(
        database, ActivityFilter(name="tool.called", outcome="error")
    )
    assert [r.tool for r in rows] == ["pong"]
    rows, _ = await activity_store.list_activity(database, ActivityFilter(name_prefix="tool."))
    assert {r.name for r in rows} == {"tool.called"}  # "tool_published" does not match: '_' is literal
    rows, _ = await activity_store.list_activity(database, ActivityFilter(since=101.0, until=103.0))
    assert [r.at for r in rows] == [102.0, 101.0]


@pytest.mark.anyio
async def test_delete_older_than_keeps_newer_events(database: Database) -> None:
    await activity_store.insert_many(database, _events())
    assert await activity_store.delete_older_than(database, 102.0) == 2
    _, total = await activity_store.list_activity(database)
    assert total == 3
