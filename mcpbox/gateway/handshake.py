"""The handshake era (2024-11-05 … 2025-11-25) over POST: ``initialize``, sessions, batches.

``initialize`` opens a session and returns its id in ``Mcp-Session-Id``; every later message
must carry it (400 without, 404 for an unknown or expired one). Notifications and responses
are acknowledged with 202 and no body. Batches are honoured only on sessions that negotiated
2025-03-26, the one version whose spec had them, and never contain ``initialize``.

The ``MCP-Protocol-Version`` header is not compared with the session's version: clients in
the field (Claude Code, MCP-NOTES §3a) negotiate one version and send another, and refusing
them breaks real users. Unsupported values never reach this module (the endpoint routes them
to the stateless era, which answers 400).
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.types import Send

from mcpbox.activity.events import Outcome
from mcpbox.gateway.asgi import JSON_HEADERS, RequestHeaders, send_bytes, send_empty, send_error
from mcpbox.gateway.dispatch import CallContext, Cancelled, Dispatcher
from mcpbox.gateway.errors import to_rpc_error
from mcpbox.gateway.jsonrpc import (
    INVALID_REQUEST,
    Kind,
    RequestId,
    RpcError,
    classify,
    dumps,
    error_message,
    request_id_of,
    result_message,
)
from mcpbox.gateway.recording import RequestLog
from mcpbox.gateway.sessions import Session, SessionTable
from mcpbox.gateway.versions import BATCH_VERSIONS, negotiate
from mcpbox.management.catalog import Caller


class HandshakeEra:
    """Serves handshake-era POST bodies and finds the session of any handshake-era request."""

    def __init__(self, *, sessions: SessionTable, dispatcher: Dispatcher, log: RequestLog) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher
        self._log = log

    def session_for(self, headers: RequestHeaders, caller: Caller) -> Session:
        if headers.session_id is None:
            raise RpcError(INVALID_REQUEST, "Bad Request: Missing session ID", http_status=400)
        session = self._sessions.get(headers.session_id)
        # A session belongs to the identity that opened it; to anyone else it does not exist.
        if session is None or session.identity != caller.identity:
            raise RpcError(INVALID_REQUEST, "Session not found", http_status=404)
        return session

    async def post(
        self, message: Any, headers: RequestHeaders, caller: Caller, send: Send, start: float
    ) -> None:
        request_id = request_id_of(message)
        try:
            kind = classify(message)
            if kind is Kind.REQUEST and message["method"] == "initialize":
                await self._initialize(message, caller, send, start)
                return
            session = self.session_for(headers, caller)
        except RpcError as exc:
            self._log(start, message, Outcome.ERROR, None, actor=caller.identity)
            await send_error(send, exc, request_id)
            return
        answer = await self._handle(kind, message, session, start)
        if answer is None:
            await send_empty(send, 202)
        else:
            await send_bytes(send, 200, answer)

    async def post_batch(
        self, messages: list[Any], headers: RequestHeaders, caller: Caller, send: Send, start: float
    ) -> None:
        try:
            if not messages:
                raise RpcError(INVALID_REQUEST, "Invalid Request: empty batch", http_status=400)
            if any(isinstance(m, dict) and m.get("method") == "initialize" for m in messages):
                raise RpcError(INVALID_REQUEST, "initialize must not be part of a batch", http_status=400)
            session = self.session_for(headers, caller)
            if session.version not in BATCH_VERSIONS:
                raise RpcError(INVALID_REQUEST, "batch not supported in this version", http_status=400)
        except RpcError as exc:
            self._log(start, None, Outcome.ERROR, None, actor=caller.identity)
            await send_error(send, exc)
            return
        answers: list[bytes | None] = [None] * len(messages)

        async def one(index: int, message: Any) -> None:
            try:
                kind = classify(message)
            except RpcError as exc:
                self._log(start, message, Outcome.ERROR, session)
                answers[index] = dumps(error_message(request_id_of(message), exc))
                return
            answers[index] = await self._handle(kind, message, session, start)

        # Concurrently, so a batch may hold a slow call and the notification cancelling it.
        async with anyio.create_task_group() as tasks:
            for index, message in enumerate(messages):
                tasks.start_soon(one, index, message)
        parts = [answer for answer in answers if answer is not None]
        if parts:
            await send_bytes(send, 200, b"[" + b",".join(parts) + b"]")
        else:
            await send_empty(send, 202)

    async def _initialize(self, message: dict[str, Any], caller: Caller, send: Send, start: float) -> None:
        params = message.get("params") or {}
        version = negotiate(params.get("protocolVersion"))
        info = params.get("clientInfo")
        name = info.get("name") if isinstance(info, dict) else None
        opener = Caller(
            identity=caller.identity,
            remote=caller.remote,
            client_name=name if isinstance(name, str) else None,
        )
        session = self._sessions.create(version=version, caller=opener)
        body = dumps(result_message(message["id"], self._dispatcher.initialize_result(version)))
        self._log(start, message, Outcome.OK, session)
        await send_bytes(send, 200, body, [*JSON_HEADERS, (b"mcp-session-id", session.id.encode("ascii"))])

    async def _handle(
        self, kind: Kind, message: dict[str, Any], session: Session, start: float
    ) -> bytes | None:
        """Process one message of a session; the encoded response, or None when there is none."""
        if kind is Kind.RESPONSE:
            return None  # mcpbox never sends requests, so there is nothing to match it with
        method: str = message["method"]
        params = message.get("params") or {}
        if kind is Kind.NOTIFICATION:
            if method == "notifications/cancelled":
                session.cancel_request(params.get("requestId"))
            self._log(start, message, Outcome.OK, session)
            return None
        request_id: RequestId = message["id"]
        ctx = CallContext(caller=session.caller, request_id=request_id, session=session)
        try:
            result = await self._dispatcher.dispatch(method, params, ctx)
            answer = dumps(result_message(request_id, result))
        except Cancelled:
            # The spec asks for no response to a cancelled request; the POST ends with 202.
            self._log(start, message, Outcome.ERROR, session, tool=ctx.tool)
            return None
        except Exception as exc:  # noqa: BLE001 - to_rpc_error logs every unexpected one
            self._log(start, message, Outcome.ERROR, session, tool=ctx.tool)
            return dumps(error_message(request_id, to_rpc_error(exc)))
        self._log(start, message, ctx.outcome, session, tool=ctx.tool)
        return answer
