"""The batched activity writer: request handlers record, a background loop writes.

Every MCP request produces an activity event, so recording must cost the request nothing:
``record()`` is synchronous, never awaits and never blocks; it appends to a bounded in-memory
queue. A background task (``run()``, started in the lifespan task group) writes the queue in
batches, one transaction each, every ``flush_seconds`` or as soon as ``batch_size`` events wait.

What it gives up, on purpose, to never slow down or crash the server:

* When the queue is full, new events are dropped and counted (``dropped``), with one log line
  per episode rather than one per event.
* A database error while writing is logged (error type and counts only, never event contents)
  and the batch is retried once; if it fails again it is dropped and counted (``failed``).
* ``close()`` writes what is left within a deadline; events still unwritten then, and events
  recorded after close, are counted as dropped.

States: created -> running -> closing -> closed. ``close()`` also works from ``created`` (the loop
was never started) and is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

from mcpbox.activity.events import ActivityEvent
from mcpbox.db import activity_store
from mcpbox.db.engine import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
InsertBatch = Callable[[Database, Sequence[T]], Awaitable[int]]


class RecorderState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class BatchWriter(Generic[T]):
    """Buffers rows in memory and writes them to the database in batches (activity, exec logs)."""

    def __init__(
        self,
        database: Database,
        *,
        insert: InsertBatch[T],
        flush_seconds: float = 0.5,
        batch_size: int = 500,
        queue_max: int = 100_000,
        retry_delay: float | None = None,
    ) -> None:
        if flush_seconds <= 0 or batch_size < 1 or queue_max < 1:
            raise ValueError("flush_seconds must be > 0, batch_size and queue_max >= 1")
        self._database = database
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._queue_max = queue_max
        self._retry_delay = retry_delay if retry_delay is not None else min(flush_seconds, 1.0)
        self._insert = insert
        self._queue: deque[T] = deque()
        self._wake = asyncio.Event()
        self._loop_done = asyncio.Event()
        self._state = RecorderState.CREATED
        self._dropping = False
        self._logged_after_close = False
        self.recorded = 0  # accepted into the queue
        self.written = 0  # committed to the database
        self.dropped = 0  # refused (queue full, after close) or left unwritten at close
        self.failed = 0  # lost because the database refused a batch twice
        self.failed_batches = 0

    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def is_running(self) -> bool:
        """True while the writer loop runs (readiness reports it)."""
        return self._state is RecorderState.RUNNING

    @property
    def queued(self) -> int:
        """Events waiting to be written."""
        return len(self._queue)

    def record(self, event: T) -> None:
        """Queue one event. Never blocks, never raises for a full queue or a closed recorder."""
        if self._state in (RecorderState.CLOSING, RecorderState.CLOSED):
            self.dropped += 1
            if not self._logged_after_close:
                self._logged_after_close = True
                logger.warning("activity recorder is %s; dropping events recorded now", self._state)
            return
        if len(self._queue) >= self._queue_max:
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning("activity queue is full (%d events); dropping new events", self._queue_max)
            return
        self._queue.append(event)
        self.recorded += 1
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    async def run(self) -> None:
        """The writer loop; returns once ``close()`` is called (or when cancelled)."""
        if self._state is not RecorderState.CREATED:
            raise RuntimeError(f"ActivityRecorder.run() needs state created, not {self._state}")
        self._state = RecorderState.RUNNING
        try:
            while self._state is RecorderState.RUNNING:
                if len(self._queue) < self._batch_size:
                    self._wake.clear()
                    # A timeout just means the periodic flush is due.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
                # Write what is due now. Rows recorded while it is being written wait for the
                # next tick (or a full batch): draining "until empty" would, under steady load,
                # turn into one tiny transaction per request, each a thread hop and a commit.
                due = len(self._queue)
                while due > 0 and self._queue and self._state is RecorderState.RUNNING:
                    due -= await self._write_next_batch(due)
        finally:
            self._loop_done.set()

    async def close(self, deadline_seconds: float = 10.0) -> None:
        """Stop the loop and write every queued event, giving up after ``deadline_seconds``."""
        if self._state in (RecorderState.CLOSING, RecorderState.CLOSED):
            return
        was_running = self._state is RecorderState.RUNNING
        self._state = RecorderState.CLOSING
        self._wake.set()
        try:
            async with asyncio.timeout(deadline_seconds):
                if was_running:
                    await self._loop_done.wait()  # the loop finishes the batch it is writing
                while self._queue:
                    await self._write_next_batch()
        except TimeoutError:
            logger.error("activity recorder: close deadline of %ss passed", deadline_seconds)
        finally:
            left = len(self._queue)
            if left:
                self.dropped += left
                self._queue.clear()
                logger.error("activity recorder closed with %d unwritten events (dropped)", left)
            self._state = RecorderState.CLOSED

    async def _write_next_batch(self, most: int | None = None) -> int:
        """Write up to ``most`` queued rows in one transaction; return how many left the queue."""
        count = min(self._batch_size, len(self._queue), most if most is not None else len(self._queue))
        batch = [self._queue.popleft() for _ in range(count)]
        try:
            for attempt in (1, 2):
                try:
                    await self._insert(self._database, batch)
                except Exception:
                    if attempt == 2:
                        self.failed += len(batch)
                        self.failed_batches += 1
                        logger.error(
                            "activity batch of %d events dropped after a retry", len(batch), exc_info=True
                        )
                        break
                    logger.warning(
                        "activity batch of %d events failed; retrying once", len(batch), exc_info=True
                    )
                    await asyncio.sleep(self._retry_delay)
                else:
                    self.written += len(batch)
                    self._dropping = False
                    break
        except asyncio.CancelledError:
            # Cancelled mid-write (close deadline or task group shutdown): the batch is lost.
            self.dropped += len(batch)
            raise
        return count


class ActivityRecorder(BatchWriter[ActivityEvent]):
    """The activity log's writer: every MCP request, tool call, admin action, security event."""

    def __init__(
        self,
        database: Database,
        *,
        flush_seconds: float = 0.5,
        batch_size: int = 500,
        queue_max: int = 100_000,
        retry_delay: float | None = None,
        insert: InsertBatch[ActivityEvent] = activity_store.insert_many,
    ) -> None:
        super().__init__(
            database,
            insert=insert,
            flush_seconds=flush_seconds,
            batch_size=batch_size,
            queue_max=queue_max,
            retry_delay=retry_delay,
        )
