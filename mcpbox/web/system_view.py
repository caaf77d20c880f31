"""The system page's facts: version, database, uptime, activity recorder, sandbox isolation, pool.

The sandbox pool (``state.pool``) and its isolation report (``pool.isolation``, or
``state.isolation``) are read by shape: ``to_dict()`` for the report, a few counters for the pool.
The page says "not reported" when they are absent (still starting, or an instance without a
sandbox), so this module needs no import of the sandbox and no knowledge of its internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mcpbox import __version__
from mcpbox.db import schema_version
from mcpbox.errors import MCPBoxError
from mcpbox.state import AppState

POOL_COUNTERS = ("size", "busy", "idle", "queued", "restarts", "kills")


@dataclass(frozen=True, slots=True)
class IsolationLayer:
    name: str
    active: bool
    required: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SystemInfo:
    version: str
    started_at: float
    uptime_seconds: float
    database_dialect: str
    database_location: str
    schema_revision: str | None
    schema_head: str | None
    activity_queued: int
    activity_dropped: int
    isolation_complete: bool | None  # None: no sandbox report on this instance
    isolation_layers: tuple[IsolationLayer, ...]
    pool_state: str | None
    pool_counters: dict[str, int]


async def system_info(state: AppState) -> SystemInfo:
    config = state.config
    try:
        revision = await schema_version.stored_revision(config, state.database)
        head: str | None = schema_version.shipped_head()
    except MCPBoxError:
        revision, head = None, None
    pool = getattr(state, "pool", None)
    layers, complete = _isolation(getattr(state, "isolation", None) or getattr(pool, "isolation", None))
    pool_state = getattr(pool, "state", None)
    counters = {
        name: int(value) for name in POOL_COUNTERS if isinstance(value := getattr(pool, name, None), int)
    }
    return SystemInfo(
        version=__version__,
        started_at=state.started_at,
        uptime_seconds=max(0.0, time.time() - state.started_at),
        database_dialect=state.database.engine.dialect.name,
        database_location=str(config.sqlite_path) if config.sqlite_path is not None else "external server",
        schema_revision=revision,
        schema_head=head,
        activity_queued=state.recorder.queued,
        activity_dropped=state.recorder.dropped,
        isolation_complete=complete,
        isolation_layers=layers,
        pool_state=None if pool is None else str(getattr(pool_state, "value", pool_state)),
        pool_counters=counters,
    )


def _isolation(report: object) -> tuple[tuple[IsolationLayer, ...], bool | None]:
    to_dict = getattr(report, "to_dict", None)
    if report is None or not callable(to_dict):
        return (), None
    data: Any = to_dict()
    layers = tuple(
        IsolationLayer(
            name=str(item.get("name", "")),
            active=bool(item.get("active")),
            required=bool(item.get("required", True)),
            detail=str(item.get("detail", "")),
        )
        for item in data.get("layers", ())
        if isinstance(item, dict)
    )
    return layers, bool(data.get("complete"))


def uptime_text(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
