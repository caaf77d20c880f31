"""Deletes activity and execution log entries older than ``log_retention_days``.

The period is read from the policy on every pass, so a change from the admin UI applies on the
next pass without a restart. ``run_retention`` is the periodic task the app starts in its task
group; ``purge_expired`` is one pass, for the task, the CLI and tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio

from mcpbox.approvals.hooks import Hooks, event
from mcpbox.db import activity_store, execution_log_store
from mcpbox.db.engine import Database
from mcpbox.errors import StorageError
from mcpbox.tools.policy import load_policy

logger = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 3600.0
ACTOR = "system:retention"


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    activity_deleted: int
    execution_logs_deleted: int


async def purge_expired(
    db: Database, *, retention_days: int | None = None, now: Callable[[], float] = time.time
) -> RetentionResult:
    """Delete entries older than ``retention_days`` (default: the policy's value) before ``now()``."""
    days = retention_days if retention_days is not None else (await load_policy(db)).log_retention_days
    cutoff_ts = now() - timedelta(days=days).total_seconds()
    cutoff = datetime.fromtimestamp(cutoff_ts, UTC)
    activity = await activity_store.delete_older_than(db, cutoff_ts)
    logs = await execution_log_store.delete_older_than(db, cutoff)
    return RetentionResult(cutoff=cutoff, activity_deleted=activity, execution_logs_deleted=logs)


async def run_retention(
    db: Database,
    hooks: Hooks,
    *,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    now: Callable[[], float] = time.time,
) -> None:
    """Purge now and then every ``interval_seconds`` until cancelled. Emits ``retention.purged``."""
    while True:
        try:
            # Shielded: cancelling mid-delete would strand a database connection at shutdown.
            with anyio.CancelScope(shield=True):
                result = await purge_expired(db, now=now)
        except StorageError:
            logger.exception("log retention pass failed; retrying at the next interval")
        else:
            if result.activity_deleted or result.execution_logs_deleted:
                hooks.record(
                    event(
                        "retention.purged",
                        actor=ACTOR,
                        cutoff=result.cutoff.isoformat(),
                        activity=result.activity_deleted,
                        execution_logs=result.execution_logs_deleted,
                    )
                )
        await anyio.sleep(interval_seconds)
