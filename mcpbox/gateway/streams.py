"""Long-lived SSE streams that carry tool-list changes: the handshake era's ``GET /mcp`` and the
stateless era's ``subscriptions/listen`` response.

A session may hold one GET stream (a message must go out on exactly one stream, so two streams
of one session would both have to be fed or one starved). A listen stream belongs to its
request: it starts with ``notifications/subscriptions/acknowledged`` and stamps every frame with
the listen request's id. Every stream subscribes to the ``ChangeBus``; the bus coalesces, so a
slow client sees one notification, never a backlog. A comment line goes out every ``keepalive``
seconds so proxies do not time the idle connection out. The global count is capped because
every stream holds a connection and a task for as long as the client likes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import anyio
from starlette.types import Receive, Send

from mcpbox.activity.bus import ChangeBus
from mcpbox.gateway.asgi import SSE_HEADERS
from mcpbox.gateway.jsonrpc import RequestId, dumps, notification_message, result_message
from mcpbox.gateway.sessions import Session, SessionTable

logger = logging.getLogger(__name__)

LIST_CHANGED_METHOD: Final = "notifications/tools/list_changed"
SUBSCRIPTION_ID_KEY: Final = "io.modelcontextprotocol/subscriptionId"
OPENED: Final = b": stream open\n\n"
KEEPALIVE: Final = b": keep-alive\n\n"


def sse_event(message: dict[str, Any]) -> bytes:
    return b"event: message\ndata: " + dumps(message) + b"\n\n"


LIST_CHANGED: Final = sse_event(notification_message(LIST_CHANGED_METHOD))


@dataclass(slots=True)
class _Frames:
    """What one stream sends: its first frame, one per change (None: not subscribed), its last."""

    first: bytes
    change: bytes | None
    last: bytes = b""


class EventStreams:
    """The open change streams of both eras: a bounded set, each fed by the change bus."""

    def __init__(self, *, bus: ChangeBus, max_streams: int, keepalive_seconds: float) -> None:
        self._bus = bus
        self._max_streams = max_streams
        self._keepalive = keepalive_seconds
        self._scopes: set[anyio.CancelScope] = set()

    @property
    def count(self) -> int:
        return len(self._scopes)

    @property
    def full(self) -> bool:
        return len(self._scopes) >= self._max_streams

    async def serve_session(
        self, session: Session, sessions: SessionTable, receive: Receive, send: Send
    ) -> None:
        """A handshake-era GET stream, until the client, the session or the gateway ends it.

        The caller has checked ``full`` and that the session has no stream; nothing awaits in
        between, so both still hold here.
        """
        scope = anyio.CancelScope()
        session.stream_scope = scope
        try:
            await self._run(
                scope, _Frames(OPENED, LIST_CHANGED), receive, send, lambda: sessions.touch(session)
            )
        finally:
            if session.stream_scope is scope:
                session.stream_scope = None

    async def serve_listen(
        self,
        request_id: RequestId,
        requested: dict[str, Any],
        server_meta: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> None:
        """A ``subscriptions/listen`` response stream (stateless era).

        Only tool-list changes exist in mcpbox, so that is the only kind honoured; the
        acknowledgement tells the client so. When the gateway shuts down, the stream ends with
        the listen request's result, as the spec asks of a graceful end.
        """
        stamp = {SUBSCRIPTION_ID_KEY: request_id}
        honoured: dict[str, Any] = (
            {"toolsListChanged": True} if requested.get("toolsListChanged") is True else {}
        )
        ack = notification_message(
            "notifications/subscriptions/acknowledged", {"notifications": honoured, "_meta": stamp}
        )
        change = sse_event(notification_message(LIST_CHANGED_METHOD, {"_meta": stamp})) if honoured else None
        last = sse_event(
            result_message(request_id, {"resultType": "complete", "_meta": {**server_meta, **stamp}})
        )
        await self._run(
            anyio.CancelScope(), _Frames(OPENED + sse_event(ack), change, last), receive, send, None
        )

    async def _run(
        self,
        scope: anyio.CancelScope,
        frames: _Frames,
        receive: Receive,
        send: Send,
        on_activity: Callable[[], None] | None,
    ) -> None:
        self._scopes.add(scope)
        gone = anyio.Event()
        try:
            # Subscribe before the headers go out: a change published the moment the client
            # sees the stream open must not be lost.
            async with self._bus.subscribe() as changes:
                await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                await send({"type": "http.response.body", "body": frames.first, "more_body": True})
                with scope:
                    async with anyio.create_task_group() as tasks:
                        tasks.start_soon(_wait_for_disconnect, receive, scope, gone)
                        while True:
                            with anyio.move_on_after(self._keepalive) as timer:
                                await changes.receive()
                            if timer.cancelled_caught:
                                chunk = KEEPALIVE
                            elif frames.change is None:
                                continue
                            else:
                                chunk = frames.change
                            await send({"type": "http.response.body", "body": chunk, "more_body": True})
                            if on_activity is not None:
                                on_activity()
                # A client that hung up gets nothing more; a server-side end is announced.
                last = b"" if gone.is_set() else frames.last
                await send({"type": "http.response.body", "body": last, "more_body": False})
        finally:
            self._scopes.discard(scope)

    def close_all(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()


async def _wait_for_disconnect(receive: Receive, scope: anyio.CancelScope, gone: anyio.Event) -> None:
    """End the stream when the client goes away (the request has no body left to read)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    scope.cancel()
