"""What the admin UI and the JSON API both do: one function per view or action.

Pages and API handlers only translate HTTP to these calls and the results back to HTML or
JSON, so neither can gain logic the other lacks. Every list here takes a page number and a page
size and caps the size at ``config.page_size_max``. Actions record an activity event naming the
admin; secret values go into ``secret_store`` and are never returned, rendered or logged.
Anything that changes what calls see (secrets, a server started or stopped, a tool enabled or
disabled) tells the catalog watcher at once (``local_change``), so cached call contexts and tool
lists are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlmodel import col, select

from mcpbox.activity.events import ActivityEvent
from mcpbox.approvals import service as approvals
from mcpbox.approvals.pending import PendingItem, list_pending
from mcpbox.db import execution_log_store, request_store, secret_store, server_store, tool_store
from mcpbox.db.activity_store import ActivityFilter, ActivityRecord, list_activity
from mcpbox.db.execution_log_store import ExecutionLogRecord
from mcpbox.db.models import ActivityRow, RequestStatus, Server, ServerStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.secret_store import SecretInfo
from mcpbox.db.tool_store import ToolInfo
from mcpbox.errors import NotFound
from mcpbox.state import AppState
from mcpbox.tools import lifecycle

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
TOOL_CALL_EVENT = "mcp.request"
TOOL_CALL_METHOD = "tools/call"
HOUR = 3600.0
DAY = 86400.0
RECENT_LOGS = 20
DASHBOARD_PENDING = 5


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
    tool_count: int
    pending_count: int
    pending: Sequence[PendingItem]  # the oldest few, for the "waiting for you" list
    hour: CallStats
    day: CallStats
    recent_errors: Sequence[ActivityRecord]
    has_any_activity: bool


async def dashboard(state: AppState) -> Dashboard:
    db = state.database
    _, server_count = await server_store.list_servers(db, limit=1)
    _, tool_count = await tool_store.list_tools(db, limit=1)
    pending, pending_count = await list_pending(db, limit=DASHBOARD_PENDING)
    now = time.time()
    recent, _ = await list_activity(db, ActivityFilter(outcome="error"), limit=10)
    _, any_total = await list_activity(db, ActivityFilter(name=TOOL_CALL_EVENT), limit=1)
    return Dashboard(
        server_count=server_count,
        tool_count=tool_count,
        pending_count=pending_count,
        pending=pending,
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
    tools: Page[ToolInfo]
    approved_hosts: Sequence[RequestInfo]
    approved_modules: Sequence[RequestInfo]
    pending_requests: int
    execution_logs: Sequence[ExecutionLogRecord]


async def server_detail(
    state: AppState, name: str, page: int | None = None, page_size: int | None = None
) -> ServerDetail:
    """A server with its tools (one page), secrets, allowlists, recent runs and activity."""
    db, cap = state.database, state.config.page_size_max
    server = await server_store.get_server(db, name)
    secrets = await secret_store.list_secrets(db, server.name)
    recent, _ = await list_activity(db, ActivityFilter(server=server.name), limit=20)
    number, size = page_window(page, page_size, cap)
    tools, tool_total = await tool_store.list_tools(
        db, server=server.name, offset=(number - 1) * size, limit=size
    )
    approved = {}
    for kind in (RequestKind.HOST, RequestKind.MODULE):
        approved[kind], _ = await request_store.list_requests(
            db, kind, server=server.name, status=RequestStatus.APPROVED, limit=cap
        )
    _, pending = await list_pending(db, server=server.name, limit=1)
    logs, _ = await execution_log_store.list_execution_logs(db, server=server.name, limit=RECENT_LOGS)
    return ServerDetail(
        server=server,
        secrets=secrets,
        recent_activity=recent,
        tools=Page(items=tools, total=tool_total, page=number, page_size=size),
        approved_hosts=approved[RequestKind.HOST],
        approved_modules=approved[RequestKind.MODULE],
        pending_requests=pending,
        execution_logs=logs,
    )


async def set_server_running(state: AppState, actor: str, name: str, running: bool) -> Server:
    """Start or stop a server (its approved tools join or leave every client's list).

    Already in that state: returned unchanged, nothing recorded. A concurrent change is
    ``Conflict`` from the store's conditional UPDATE. Emits ``server.started``/``server.stopped``.
    """
    server = await server_store.get_server(state.database, name)
    new = ServerStatus.RUNNING if running else ServerStatus.STOPPED
    if server.status == new.value:
        return server
    expected = ServerStatus.STOPPED if running else ServerStatus.RUNNING
    updated = await server_store.set_server_status(state.database, server.name, expected=expected, new=new)
    state.watcher.local_change()
    state.observe(
        ActivityEvent(name="server.started" if running else "server.stopped", actor=actor, server=server.name)
    )
    return updated


async def set_tool_enabled(state: AppState, actor: str, server: str, name: str, enabled: bool) -> ToolInfo:
    """Enable or disable one tool; a disabled tool is neither listed nor callable, whatever its approval.

    ``NotFound`` for an unknown server or tool. The lifecycle records ``tool.enabled`` /
    ``tool.disabled`` under ``actor`` and, when the tool is approved, signals the exposure change
    through ``state.hooks`` (clients get ``list_changed``; cached call contexts are dropped).
    """
    return await lifecycle.set_tool_enabled(
        state.database, server=server, name=name, enabled=enabled, changed_by=actor, hooks=state.hooks
    )


async def revoke_request(state: AppState, actor: str, ref: str, reason: str) -> RequestInfo:
    """Withdraw the approved ``module:N`` or ``host:N`` as ``actor``; it leaves the allowlist at once.

    ``InvalidInput`` (bad ref, a ``tool:`` ref, no reason), ``NotFound``, ``Conflict`` (not
    approved: pending, rejected or revoked already). The service records ``approval.decided`` and
    ``module.revoked`` / ``host.revoked`` under ``actor`` and, through ``state.hooks``, retires the
    warm workers that were built with the old allowlist.
    """
    return await approvals.revoke(state.database, ref, revoked_by=actor, reason=reason, hooks=state.hooks)


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
    state.watcher.local_change()
    state.observe(
        ActivityEvent(
            name="secret.set", actor=actor, server=found.name, detail={"key": key, "created": created}
        )
    )
    return await find_secret(state, found.name, key)


async def remove_secret(state: AppState, actor: str, server: str, key: str) -> None:
    await secret_store.delete_secret(state.database, server, key)
    state.watcher.local_change()
    state.observe(ActivityEvent(name="secret.deleted", actor=actor, server=server, detail={"key": key}))


async def tools_page(state: AppState, server: str, page: int | None, page_size: int | None) -> Page[ToolInfo]:
    found = await server_store.get_server(state.database, server)
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await tool_store.list_tools(
        state.database, server=found.name, offset=(number - 1) * size, limit=size
    )
    return Page(items=items, total=total, page=number, page_size=size)


async def execution_logs_page(
    state: AppState, server: str, tool: str | None, page: int | None, page_size: int | None
) -> Page[ExecutionLogRecord]:
    """Published calls and test runs of a server (or one of its tools), newest first."""
    found = await server_store.get_server(state.database, server)
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await execution_log_store.list_execution_logs(
        state.database, server=found.name, tool=tool, offset=(number - 1) * size, limit=size
    )
    return Page(items=items, total=total, page=number, page_size=size)
