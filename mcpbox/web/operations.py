"""What the admin UI and the JSON API both do: one function per view or action.

Pages and API handlers only translate HTTP to these calls and the results back to HTML or
JSON, so neither can gain logic the other lacks. Every list here takes a page number and a page
size and caps the size at ``config.page_size_max``. Actions record an activity event naming the
admin; secret values go into ``secret_store`` and are never returned, rendered or logged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlmodel import col, select

from mcpbox.activity.events import ActivityEvent
from mcpbox.db import secret_store, server_store
from mcpbox.db.activity_store import ActivityFilter, ActivityRecord, list_activity
from mcpbox.db.models import ActivityRow, Server
from mcpbox.db.secret_store import SecretInfo
from mcpbox.errors import NotFound
from mcpbox.state import AppState

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
TOOL_CALL_EVENT = "mcp.request"
TOOL_CALL_METHOD = "tools/call"
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def page_window(page: int | None, page_size: int | None, cap: int) -> tuple[int, int]:
    """(page, size): page from 1, size capped at ``cap`` (``page_size_max``)."""
    size = max(1, min(page_size or min(DEFAULT_PAGE_SIZE, cap), cap))
    return max(1, page or 1), size


@dataclass(frozen=True, slots=True)
class CallStats:
    window_seconds: float
    calls: int
    errors: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    server_count: int
    hour: CallStats
    day: CallStats
    recent_errors: Sequence[ActivityRecord]
    has_any_activity: bool


async def dashboard(state: AppState) -> Dashboard:
    db = state.database
    _, server_count = await server_store.list_servers(db, limit=1)
    now = time.time()
    recent, _ = await list_activity(db, ActivityFilter(outcome="error"), limit=10)
    _, any_total = await list_activity(db, ActivityFilter(name=TOOL_CALL_EVENT), limit=1)
    return Dashboard(
        server_count=server_count,
        hour=await call_stats(state, now - HOUR, now),
        day=await call_stats(state, now - DAY, now),
        recent_errors=recent,
        has_any_activity=any_total > 0,
    )


async def call_stats(state: AppState, since: float, until: float) -> CallStats:
    """Tool calls made over MCP in [since, until), and how many of them failed."""
    async with state.database.session() as session:
        rows = await session.exec(
            select(ActivityRow.outcome, func.count())
            .where(
                col(ActivityRow.name) == TOOL_CALL_EVENT,
                col(ActivityRow.method) == TOOL_CALL_METHOD,
                col(ActivityRow.at) >= since,
                col(ActivityRow.at) < until,
            )
            .group_by(col(ActivityRow.outcome))
        )
        counts = {outcome: int(count) for outcome, count in rows.all()}
    return CallStats(window_seconds=until - since, calls=sum(counts.values()), errors=counts.get("error", 0))


async def servers_page(state: AppState, page: int | None, page_size: int | None) -> Page[Server]:
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await server_store.list_servers(state.database, offset=(number - 1) * size, limit=size)
    return Page(items=items, total=total, page=number, page_size=size)


@dataclass(frozen=True, slots=True)
class ServerDetail:
    server: Server
    secrets: Sequence[SecretInfo]
    recent_activity: Sequence[ActivityRecord]


async def server_detail(state: AppState, name: str) -> ServerDetail:
    server = await server_store.get_server(state.database, name)
    secrets = await secret_store.list_secrets(state.database, server.name)
    recent, _ = await list_activity(state.database, ActivityFilter(server=server.name), limit=20)
    return ServerDetail(server=server, secrets=secrets, recent_activity=recent)


async def find_secret(state: AppState, server: str, key: str) -> SecretInfo:
    for item in await secret_store.list_secrets(state.database, server):
        if item.key == key:
            return item
    raise NotFound(f"server {server!r} has no secret {key!r}")


async def put_secret(state: AppState, actor: str, server: str, key: str, value: str) -> SecretInfo:
    """Set or replace a secret's value, declaring the key first if the LLM has not."""
    found = await server_store.get_server(state.database, server)
    secret_store.check_secret_key(key)
    names = {item.key for item in await secret_store.list_secrets(state.database, found.name)}
    created = key not in names
    if created:
        await secret_store.create_secret_placeholder(state.database, found.name, key, created_by=actor)
    await secret_store.set_secret_value(state.database, found.name, key, value, state.keyring)
    state.observe(
        ActivityEvent(
            name="secret.set", actor=actor, server=found.name, detail={"key": key, "created": created}
        )
    )
    return await find_secret(state, found.name, key)


async def remove_secret(state: AppState, actor: str, server: str, key: str) -> None:
    await secret_store.delete_secret(state.database, server, key)
    state.observe(ActivityEvent(name="secret.deleted", actor=actor, server=server, detail={"key": key}))
