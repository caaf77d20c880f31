"""``McpGateway``: the ASGI endpoint at ``/mcp`` serving both protocol eras on one URL.

Routing, in order: Origin/Host (403/421), caller resolution (401), HTTP method, then for a
POST the Accept/Content-Type/size checks and one ``json.loads``. A body with a modern
``_meta`` envelope, or a version header that no handshake version matches, goes to the
stateless era; everything else is the handshake era with its ``Mcp-Session-Id`` sessions.
Replies to requests are plain ``application/json`` (the fast path); only the GET stream is
SSE, because no request here needs to send more than its one answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Final

import anyio
import anyio.lowlevel
from starlette.types import Receive, Scope, Send

import mcpbox
from mcpbox.activity.bus import ChangeBus
from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.config import Config
from mcpbox.gateway.asgi import (
    BodyTooLarge,
    ClientGone,
    RequestHeaders,
    accepts,
    is_json_content_type,
    parse_headers,
    read_body,
    send_empty,
    send_error,
)
from mcpbox.gateway.dispatch import Dispatcher
from mcpbox.gateway.handshake import HandshakeEra
from mcpbox.gateway.jsonrpc import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, RpcError
from mcpbox.gateway.modern import is_modern_body
from mcpbox.gateway.origin import OriginPolicy
from mcpbox.gateway.recording import RequestLog
from mcpbox.gateway.sessions import SessionTable
from mcpbox.gateway.stateless import StatelessEra
from mcpbox.gateway.streams import EventStreams
from mcpbox.gateway.versions import is_handshake
from mcpbox.management.catalog import Caller, ToolCatalog

logger = logging.getLogger(__name__)

CallerResolver = Callable[[Scope], Awaitable[Caller | None]]
"""Who is calling, from the ASGI scope; None means "not authenticated" (401)."""

_ALLOW: Final = [(b"allow", b"GET, POST, DELETE")]
_LOOPBACK_PEERS: Final = frozenset({"127.0.0.1", "::1", "localhost"})


class GatewayState(Enum):
    RUNNING = "running"
    CLOSED = "closed"


def is_remote_peer(scope: Scope) -> bool:
    """Whether the TCP peer is off this machine (no peer at all, e.g. a unix socket, is local)."""
    client = scope.get("client")
    if not client:
        return False
    host = str(client[0])
    return not (host in _LOOPBACK_PEERS or host.startswith(("127.", "::ffff:127.")))


class McpGateway:
    """The MCP endpoint. Mount it at ``/mcp`` and ``/mcp/``; run ``run_maintenance`` alongside."""

    def __init__(
        self,
        *,
        config: Config,
        catalog: ToolCatalog,
        bus: ChangeBus,
        record: Callable[[ActivityEvent], None],
        server_name: str = "mcpbox",
        server_version: str = mcpbox.__version__,
        instructions: str | None = None,
        resolve_caller: CallerResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve_caller = resolve_caller
        self._max_body = config.max_body_bytes
        self._idle_seconds = config.session_idle_seconds
        self._origin = OriginPolicy(config)
        self._log = RequestLog(record)
        self._sessions = SessionTable(
            idle_seconds=config.session_idle_seconds, max_sessions=config.max_sessions, clock=clock
        )
        self._streams = EventStreams(
            bus=bus, max_streams=config.max_sse_streams, keepalive_seconds=config.sse_keepalive_seconds
        )
        dispatcher = Dispatcher(
            catalog=catalog,
            page_size=config.page_size_max,
            server_name=server_name,
            server_version=server_version,
            instructions=instructions,
        )
        self._handshake = HandshakeEra(sessions=self._sessions, dispatcher=dispatcher, log=self._log)
        self._stateless = StatelessEra(dispatcher=dispatcher, streams=self._streams, log=self._log)
        self._state = GatewayState.RUNNING

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def stream_count(self) -> int:
        return self._streams.count

    async def run_maintenance(self) -> None:
        """Expire idle sessions forever; cancel the task to stop it."""
        interval = min(max(self._idle_seconds / 4, 1.0), 60.0)
        while True:
            await anyio.sleep(interval)
            self.expire_idle_sessions()

    def expire_idle_sessions(self) -> int:
        expired = self._sessions.expire_idle()
        if expired:
            logger.info("expired %d idle MCP session(s)", expired)
        return expired

    async def close(self) -> None:
        """End every session and stream; later requests get 503."""
        self._state = GatewayState.CLOSED
        self._streams.close_all()
        self._sessions.close_all()
        await anyio.lowlevel.checkpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"McpGateway serves HTTP only, not {scope['type']!r}")
        start = time.perf_counter()
        if self._state is GatewayState.CLOSED:
            await send_error(send, RpcError(INTERNAL_ERROR, "Server is shutting down", http_status=503))
            return
        headers = parse_headers(scope["headers"])
        refusal = self._origin.check(headers.origin, headers.host)
        if refusal is not None:
            self._log(start, None, Outcome.DENIED, None)
            await send_error(send, RpcError(INVALID_REQUEST, refusal.reason, http_status=refusal.status))
            return
        caller = await self._caller(scope)
        if caller is None:
            self._log(start, None, Outcome.DENIED, None)
            await send_error(send, RpcError(INVALID_REQUEST, "Unauthorized", http_status=401))
            return
        method = scope["method"]
        if method == "POST":
            await self._post(headers, caller, receive, send, start)
        elif method == "GET":
            await self._get(headers, caller, receive, send)
        elif method == "DELETE":
            await self._delete(headers, caller, send)
        else:
            await send_empty(send, 405, _ALLOW)

    async def _caller(self, scope: Scope) -> Caller | None:
        if self._resolve_caller is not None:
            return await self._resolve_caller(scope)
        return Caller(identity="local", remote=is_remote_peer(scope))

    async def _post(
        self, headers: RequestHeaders, caller: Caller, receive: Receive, send: Send, start: float
    ) -> None:
        has_json, has_sse = accepts(headers.accept)
        if not (has_json and has_sse):
            text = "Not Acceptable: Client must accept both application/json and text/event-stream"
            await send_error(send, RpcError(INVALID_REQUEST, text), status=406)
            return
        if not is_json_content_type(headers.content_type):
            text = "Unsupported Media Type: Content-Type must be application/json"
            await send_error(send, RpcError(INVALID_REQUEST, text), status=415)
            return
        too_large = RpcError(INVALID_REQUEST, "Request body too large", http_status=413)
        if headers.content_length is not None and headers.content_length > self._max_body:
            await send_error(send, too_large)
            return
        try:
            body = await read_body(receive, self._max_body)
        except BodyTooLarge:
            await send_error(send, too_large)
            return
        except ClientGone:
            return
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            self._log(start, None, Outcome.ERROR, None, actor=caller.identity)
            await send_error(send, RpcError(PARSE_ERROR, "Parse error", http_status=400))
            return
        version = headers.protocol_version
        if (version is not None and not is_handshake(version)) or is_modern_body(message):
            await self._stateless.post(message, headers, caller, receive, send, start)
        elif isinstance(message, list):
            await self._handshake.post_batch(message, headers, caller, send, start)
        else:
            await self._handshake.post(message, headers, caller, send, start)

    async def _get(self, headers: RequestHeaders, caller: Caller, receive: Receive, send: Send) -> None:
        """Open the session's server-to-client stream (handshake era only)."""
        if not accepts(headers.accept)[1]:
            error = RpcError(INVALID_REQUEST, "Not Acceptable: Client must accept text/event-stream")
            await send_error(send, error, status=406)
            return
        try:
            session = self._handshake.session_for(headers, caller)
        except RpcError as exc:
            await send_error(send, exc)
            return
        if session.stream_scope is not None:
            error = RpcError(INVALID_REQUEST, "Conflict: only one stream is allowed per session")
            await send_error(send, error, status=409)
            return
        if self._streams.full:
            await send_error(send, RpcError(INTERNAL_ERROR, "Too many open event streams"), status=503)
            return
        await self._streams.serve_session(session, self._sessions, receive, send)

    async def _delete(self, headers: RequestHeaders, caller: Caller, send: Send) -> None:
        """End a session: its calls are cancelled, its stream closed, its id answers 404 from now."""
        try:
            session = self._handshake.session_for(headers, caller)
        except RpcError as exc:
            await send_error(send, exc)
            return
        self._sessions.remove(session.id)
        await send_empty(send, 200)
