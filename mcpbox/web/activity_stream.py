"""Live tail of the activity log over Server-Sent Events (``/admin/activity/stream``).

The page works without it (a plain "Refresh" link reloads the same filtered list); with
JavaScript on, ``mcpbox.js`` opens an ``EventSource`` here and prepends rows. Each stream polls
the table for rows newer than the last id it sent, sends at most ``stream_seconds`` worth of
events and then ends; the browser reconnects with ``Last-Event-ID``, and at that point the
session is checked again like any request. Within a stream the session is re-checked on every
poll, so logout or revocation ends it within a poll interval. Rows are JSON; the script writes
them with ``textContent``, never as HTML.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse

from mcpbox.auth import sessions
from mcpbox.db.activity_store import ActivityFilter, ActivityRecord, list_activity
from mcpbox.web.activity_view import ActivityQuery, activity_after, parse_activity_query
from mcpbox.web.guard import AdminRequest
from mcpbox.web.templating import iso_utc

RETRY_MS = 3000


def record_json(record: ActivityRecord) -> dict[str, Any]:
    """The public shape of one activity row (API and stream)."""
    return {
        "id": record.id,
        "at": iso_utc(record.at),
        "name": record.name,
        "outcome": record.outcome,
        "duration_ms": record.duration_ms,
        "actor": record.actor,
        "client_name": record.client_name,
        "method": record.method,
        "server": record.server,
        "tool": record.tool,
        "detail": record.detail,
    }


def sse_event(record: ActivityRecord) -> str:
    data = json.dumps(record_json(record), separators=(",", ":"), default=str)
    return f"id: {record.id}\nevent: activity\ndata: {data}\n\n"


async def activity_stream(ctx: AdminRequest) -> Response:
    query = parse_activity_query(ctx.request.query_params)
    last_id = await _start_id(ctx)
    return StreamingResponse(
        _events(ctx, query, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _start_id(ctx: AdminRequest) -> int:
    """Resume after ``Last-Event-ID``; a fresh stream starts after the newest row (no replay)."""
    resume = ctx.request.headers.get("last-event-id", "")
    if resume.isdigit() and len(resume) < 19:
        return int(resume)
    newest, _ = await list_activity(ctx.state.database, ActivityFilter(), limit=1)
    return newest[0].id if newest else 0


async def _events(ctx: AdminRequest, query: ActivityQuery, last_id: int) -> AsyncIterator[str]:
    site, state = ctx.site, ctx.state
    keepalive = float(state.config.sse_keepalive_seconds)
    deadline = time.monotonic() + site.stream_seconds
    last_at = time.time()
    last_sent = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    while time.monotonic() < deadline:
        if ctx.session_token is None or (
            await sessions.load_session(state.database, ctx.session_token, site.policy) is None
        ):
            return
        for record in await activity_after(state, query, last_id, last_at):
            last_id, last_at = record.id, max(last_at, record.at)
            last_sent = time.monotonic()
            yield sse_event(record)
        if time.monotonic() - last_sent >= keepalive:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        await anyio.sleep(site.stream_poll_seconds)
