"""The stateless era (2026-07-28) over POST: one self-describing request, one answer.

No session is minted or read. The envelope and routing headers are checked first (see
``modern.py``); errors carry the era's HTTP statuses (400 for envelope problems, 404 for an
unknown method). Closing the connection is how a modern client cancels, so ``tools/call``
runs alongside a watcher that cancels it when the client hangs up. ``subscriptions/listen``
is the era's replacement for the GET stream: its response is an SSE stream of list changes.
"""

from __future__ import annotations

from typing import Any, Final

import anyio
from starlette.types import Receive, Send

from mcpbox.activity.events import Outcome
from mcpbox.gateway.asgi import RequestHeaders, send_bytes, send_empty, send_error
from mcpbox.gateway.dispatch import CallContext, Cancelled, Dispatcher
from mcpbox.gateway.errors import to_rpc_error
from mcpbox.gateway.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    Kind,
    RpcError,
    classify,
    dumps,
    request_id_of,
    result_message,
)
from mcpbox.gateway.modern import HTTP_STATUS, SERVER_INFO_KEY, check_envelope, unsupported_version
from mcpbox.gateway.recording import RequestLog
from mcpbox.gateway.streams import EventStreams
from mcpbox.gateway.versions import is_modern
from mcpbox.management.catalog import Caller

SINGLE_MESSAGE: Final = "Body must be a single JSON-RPC request or notification object"
LISTEN: Final = "subscriptions/listen"


class StatelessEra:
    """Serves modern POST bodies."""

    def __init__(self, *, dispatcher: Dispatcher, streams: EventStreams, log: RequestLog) -> None:
        self._dispatcher = dispatcher
        self._streams = streams
        self._log = log

    async def post(
        self,
        message: Any,
        headers: RequestHeaders,
        caller: Caller,
        receive: Receive,
        send: Send,
        start: float,
    ) -> None:
        request_id = request_id_of(message)
        try:
            if not isinstance(message, dict):
                raise RpcError(INVALID_REQUEST, SINGLE_MESSAGE, http_status=400)
            kind = classify(message)
            if kind is Kind.RESPONSE:
                raise RpcError(INVALID_REQUEST, SINGLE_MESSAGE, http_status=400)
            if kind is Kind.NOTIFICATION:
                # The era defines no client notifications (cancelling = hanging up): acknowledge.
                if headers.protocol_version is not None and not is_modern(headers.protocol_version):
                    raise unsupported_version(headers.protocol_version)
                await send_empty(send, 202)
                return
            envelope = check_envelope(message, headers)
        except RpcError as exc:
            self._log(start, message, Outcome.ERROR, None, actor=caller.identity)
            await send_error(send, exc, request_id)
            return
        ctx = CallContext(
            caller=Caller(identity=caller.identity, remote=caller.remote, client_name=envelope.client_name),
            request_id=message["id"],
            modern=True,
        )
        method: str = message["method"]
        params = message.get("params") or {}
        if method == LISTEN:
            await self._listen(params, ctx, receive, send, start, message)
            return
        try:
            if method == "tools/call":
                result = await self._until_disconnect(method, params, ctx, receive)
            else:
                result = await self._dispatcher.dispatch(method, params, ctx)
            answer = dumps(result_message(ctx.request_id, result))
        except Cancelled:
            self._record(start, message, Outcome.ERROR, ctx)
            return  # the client hung up: nobody is left to answer
        except Exception as exc:  # noqa: BLE001 - to_rpc_error logs every unexpected one
            error = to_rpc_error(exc)
            self._record(start, message, Outcome.ERROR, ctx)
            await send_error(send, error, ctx.request_id, HTTP_STATUS.get(error.code, 200))
            return
        self._record(start, message, ctx.outcome, ctx)
        await send_bytes(send, 200, answer)

    async def _listen(
        self,
        params: dict[str, Any],
        ctx: CallContext,
        receive: Receive,
        send: Send,
        start: float,
        message: dict[str, Any],
    ) -> None:
        """Open a listen stream; it shares the stream cap with GET streams because both hold a
        connection and a task for as long as the client likes."""
        requested = params.get("notifications")
        if not isinstance(requested, dict):
            error = RpcError(
                INVALID_PARAMS, "subscriptions/listen needs a notifications object", http_status=400
            )
        elif self._streams.full:
            error = RpcError(INTERNAL_ERROR, "Too many open event streams", http_status=503)
        else:
            self._record(start, message, Outcome.OK, ctx)
            server_meta = {SERVER_INFO_KEY: self._dispatcher.server_info}
            await self._streams.serve_listen(ctx.request_id, requested, server_meta, receive, send)
            return
        self._record(start, message, Outcome.ERROR, ctx)
        await send_error(send, error, ctx.request_id)

    def _record(self, start: float, message: Any, outcome: Outcome, ctx: CallContext) -> None:
        self._log(
            start,
            message,
            outcome,
            None,
            tool=ctx.tool,
            actor=ctx.caller.identity,
            client_name=ctx.caller.client_name,
        )

    async def _until_disconnect(
        self, method: str, params: dict[str, Any], ctx: CallContext, receive: Receive
    ) -> dict[str, Any]:
        """Dispatch, cancelling the call if the client disconnects first."""
        results: list[dict[str, Any]] = []
        failures: list[Exception] = []
        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch, name="mcp-disconnect-watch")
            try:
                results.append(await self._dispatcher.dispatch(method, params, ctx))
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
                failures.append(exc)
            tasks.cancel_scope.cancel()
        if failures:
            raise failures[0]
        if not results:
            raise Cancelled
        return results[0]
