"""The execution log's batched writer: a published call must not wait for a database write.

Same writer as the activity log (bounded queue, background batches, flush on shutdown, drops
counted); one row per published call and per test run.
"""

from __future__ import annotations

from mcpbox.activity.recorder import BatchWriter
from mcpbox.config import Config
from mcpbox.db import execution_log_store
from mcpbox.db.engine import Database
from mcpbox.db.execution_log_store import NewExecutionLog

ExecutionLogWriter = BatchWriter[NewExecutionLog]


def create_execution_log_writer(database: Database, config: Config) -> ExecutionLogWriter:
    return BatchWriter[NewExecutionLog](
        database,
        insert=execution_log_store.insert_many,
        flush_seconds=config.activity_flush_seconds,
        batch_size=config.activity_batch_size,
        queue_max=config.activity_queue_max,
    )
