"""Retention deletes activity and execution log entries older than the policy says, and only those."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.db import activity_store, execution_log_store, setting_store
from mcpbox.db.engine import Database
from mcpbox.db.execution_log_store import NewExecutionLog
from mcpbox.tools import retention
from tests.tools.harness import Recorded

pytestmark = pytest.mark.anyio
DAY = 86400.0


async def _seed(db: Database, now: float) -> None:
    await activity_store.insert_many(
        db, [ActivityEvent(name="old", at=now - 10 * DAY), ActivityEvent(name="new", at=now - 2 * DAY)]
    )
    for days, tool in ((10, "old"), (2, "new")):
        await execution_log_store.insert_execution_log(
            db,
            NewExecutionLog(
                server="home",
                kind="call",
                requested_by="x",
                outcome="ok",
                duration_ms=1.0,
                tool=tool,
                at=datetime.fromtimestamp(now, UTC) - timedelta(days=days),
            ),
        )


async def test_old_rows_go_and_recent_rows_stay(database: Database) -> None:
    now = time.time()
    await _seed(database, now)
    await setting_store.set_setting(database, "log_retention_days", 5)
    result = await retention.purge_expired(database, now=lambda: now)
    assert (result.activity_deleted, result.execution_logs_deleted) == (1, 1)
    events, _ = await activity_store.list_activity(database)
    logs, _ = await execution_log_store.list_execution_logs(database)
    assert [e.name for e in events] == ["new"]
    assert [log.tool for log in logs] == ["new"]


async def test_the_default_period_keeps_both(database: Database) -> None:
    now = time.time()
    await _seed(database, now)
    result = await retention.purge_expired(database, now=lambda: now)
    assert (result.activity_deleted, result.execution_logs_deleted) == (0, 0)


async def test_the_periodic_task_purges_and_records_it(database: Database, recorded: Recorded) -> None:
    now = time.time()
    await _seed(database, now)
    await setting_store.set_setting(database, "log_retention_days", 1)
    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: retention.run_retention(database, recorded.hooks, interval_seconds=60, now=lambda: now)
        )
        with anyio.fail_after(5):
            while not recorded.events:
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    event = recorded.events[0]
    assert event.name == "retention.purged"
    assert event.detail is not None
    assert (event.detail["activity"], event.detail["execution_logs"]) == (2, 2)
