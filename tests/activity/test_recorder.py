"""The activity recorder: batches, never blocks, flushes on close, drops with a counter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.activity.recorder import ActivityRecorder, RecorderState
from mcpbox.db import activity_store
from mcpbox.db.engine import Database
from mcpbox.errors import StorageError


def _event(i: int) -> ActivityEvent:
    return ActivityEvent("mcp.request", at=float(i), detail={"i": i})


async def _count(db: Database) -> int:
    _, total = await activity_store.list_activity(db, limit=1)
    return total


class GatedInsert:
    """An insert that waits for a gate: stands in for a slow or stuck database."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.batches: list[int] = []
        self.started = asyncio.Event()

    async def __call__(self, db: Database, events: Sequence[ActivityEvent]) -> int:
        self.started.set()
        await self.gate.wait()
        self.batches.append(len(events))
        return await activity_store.insert_many(db, events)


@pytest.mark.anyio
async def test_events_are_written_in_batches(database: Database) -> None:
    gated = GatedInsert()
    gated.gate.set()
    # The timer would only fire after 1000 s: everything below must happen because a batch filled.
    recorder = ActivityRecorder(database, flush_seconds=1000, batch_size=10, insert=gated)
    task = asyncio.create_task(recorder.run())
    for i in range(9):
        recorder.record(_event(i))
    await asyncio.sleep(0.05)
    assert recorder.written == 0  # a partial batch waits for the timer
    for i in range(9, 25):
        recorder.record(_event(i))
    while recorder.written < 25:  # a full batch wakes the writer, which then drains the queue
        await asyncio.sleep(0.01)
    assert gated.batches == [10, 10, 5]
    await recorder.close()
    await task
    assert await _count(database) == 25
    assert recorder.state is RecorderState.CLOSED


@pytest.mark.anyio
async def test_rows_recorded_during_a_write_wait_for_the_next_tick(database: Database) -> None:
    """Under steady load the writer must keep batching: a row that arrives while a batch is being
    written waits for the timer or a full batch instead of getting a transaction of its own."""
    recorder: ActivityRecorder

    async def insert_while_requests_arrive(db: Database, events: Sequence[ActivityEvent]) -> int:
        recorder.record(_event(100 + len(batches)))  # a request finishing during the write
        batches.append(len(events))
        return await activity_store.insert_many(db, events)

    batches: list[int] = []
    recorder = ActivityRecorder(
        database, flush_seconds=1000, batch_size=3, insert=insert_while_requests_arrive
    )
    task = asyncio.create_task(recorder.run())
    for i in range(3):
        recorder.record(_event(i))  # a full batch wakes the writer
    while not batches:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time enough for a writer that drains "until empty" to go again
    assert batches == [3]
    assert recorder.queued == 1
    await recorder.close()
    await task
    assert await _count(database) == 4  # close writes the waiting row; rows recorded after close are dropped


@pytest.mark.anyio
async def test_the_timer_flushes_a_partial_batch(database: Database) -> None:
    recorder = ActivityRecorder(database, flush_seconds=0.05, batch_size=1000)
    task = asyncio.create_task(recorder.run())
    recorder.record(_event(1))
    while recorder.written < 1:
        await asyncio.sleep(0.01)
    assert await _count(database) == 1
    await recorder.close()
    await task


@pytest.mark.anyio
async def test_record_never_waits_for_a_slow_database(database: Database) -> None:
    gated = GatedInsert()
    recorder = ActivityRecorder(database, flush_seconds=0.01, batch_size=5, queue_max=1000, insert=gated)
    task = asyncio.create_task(recorder.run())
    recorder.record(_event(0))
    await gated.started.wait()  # the writer is now stuck inside the database
    for i in range(1, 500):
        recorder.record(_event(i))  # a plain call: it cannot await the stuck writer
    assert recorder.queued == 499  # event 0 is in the stuck batch
    assert recorder.written == 0
    gated.gate.set()
    await recorder.close()
    await task
    assert await _count(database) == 500
    assert recorder.dropped == 0


@pytest.mark.anyio
async def test_a_full_queue_drops_and_counts_with_one_log_line(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = ActivityRecorder(database, queue_max=10)
    with caplog.at_level(logging.WARNING, logger="mcpbox.activity.recorder"):
        for i in range(25):
            recorder.record(_event(i))
    assert (recorder.queued, recorder.dropped, recorder.recorded) == (10, 15, 10)
    assert len([r for r in caplog.records if "queue is full" in r.message]) == 1
    await recorder.close()
    assert await _count(database) == 10


@pytest.mark.anyio
async def test_close_flushes_everything_even_if_run_never_started(database: Database) -> None:
    recorder = ActivityRecorder(database, batch_size=7)
    for i in range(20):
        recorder.record(_event(i))
    await recorder.close()
    assert await _count(database) == 20
    assert recorder.written == 20


@pytest.mark.anyio
async def test_recording_after_close_is_dropped_and_logged_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = ActivityRecorder(database)
    await recorder.close()
    await recorder.close()  # idempotent
    with caplog.at_level(logging.WARNING, logger="mcpbox.activity.recorder"):
        recorder.record(_event(1))
        recorder.record(_event(2))
    assert recorder.dropped == 2
    assert len([r for r in caplog.records if "dropping events" in r.message]) == 1
    with pytest.raises(RuntimeError, match="state created"):
        await recorder.run()


@pytest.mark.anyio
async def test_close_gives_up_at_its_deadline_and_counts_the_rest(database: Database) -> None:
    gated = GatedInsert()  # never opens
    recorder = ActivityRecorder(database, batch_size=5, insert=gated)
    for i in range(12):
        recorder.record(_event(i))
    await recorder.close(deadline_seconds=0.05)
    assert recorder.state is RecorderState.CLOSED
    assert (recorder.written, recorder.dropped) == (0, 12)


@pytest.mark.anyio
async def test_a_database_error_is_retried_once_then_the_batch_is_dropped(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    async def failing(db: Database, events: Sequence[ActivityEvent]) -> int:
        calls.append(len(events))
        if len(calls) <= 3:  # batch 1 fails twice (dropped); batch 2 fails once, then succeeds
            raise StorageError("database error: disk I/O error")
        return await activity_store.insert_many(db, events)

    recorder = ActivityRecorder(database, batch_size=3, retry_delay=0, insert=failing)
    for i in range(6):
        recorder.record(ActivityEvent("tool.called", at=float(i), detail={"token": "SECRET-VALUE"}))
    with caplog.at_level(logging.WARNING, logger="mcpbox.activity.recorder"):
        await recorder.close()
    assert calls == [3, 3, 3, 3]
    assert (recorder.failed, recorder.failed_batches, recorder.written) == (3, 1, 3)
    assert await _count(database) == 3
    assert "SECRET-VALUE" not in caplog.text
