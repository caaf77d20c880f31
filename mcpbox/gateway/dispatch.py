"""MCP method handlers: what each method does once the transport has accepted the message.

Handlers take ``params`` (a dict, possibly empty) and a ``CallContext`` and return the result
object, or raise ``RpcError`` / an mcpbox error (mapped by ``gateway/errors.py``). The two
eras share handlers; the modern era adds ``resultType`` and ``serverInfo`` to every result
and caching hints to lists, and lacks the handshake-only methods.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio

from mcpbox import errors
from mcpbox.activity.events import Outcome
from mcpbox.gateway.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, RequestId, RpcError
from mcpbox.gateway.modern import SERVER_INFO_KEY
from mcpbox.gateway.sessions import Session
from mcpbox.gateway.versions import ALL_VERSIONS
from mcpbox.management.catalog import Caller, ToolCallResult, ToolCatalog

LOG_LEVELS: Final = frozenset(
    {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}
)
CAPABILITIES: Final[Mapping[str, Any]] = {"tools": {"listChanged": True}, "logging": {}}

TOOLS_LIST_TTL_MS: Final = 0
"""The tool list changes whenever a tool is approved or retired; clients must not cache it."""
DISCOVER_TTL_MS: Final = 300_000
"""Versions and capabilities change only when mcpbox is upgraded."""

_CURSOR_PREFIX: Final = "mcpbox-tools:"


class Cancelled(Exception):
    """The client cancelled this request (``notifications/cancelled``); send no response."""


@dataclass(slots=True)
class CallContext:
    """One request's context; handlers fill ``tool`` and ``outcome`` for the activity log."""

    caller: Caller
    request_id: RequestId
    session: Session | None = None
    modern: bool = False
    tool: str | None = None
    outcome: Outcome = Outcome.OK


Handler = Callable[[dict[str, Any], CallContext], Awaitable[dict[str, Any]]]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode("ascii")


def decode_cursor(cursor: object) -> int:
    """The offset inside an opaque cursor we issued; ``-32602`` for anything else."""
    if not isinstance(cursor, str):
        raise RpcError(INVALID_PARAMS, "Invalid cursor")
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise RpcError(INVALID_PARAMS, "Invalid cursor") from None
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise RpcError(INVALID_PARAMS, "Invalid cursor")
    return int(text[len(_CURSOR_PREFIX) :])


class Dispatcher:
    """Routes a method name to its handler for either era."""

    def __init__(
        self,
        *,
        catalog: ToolCatalog,
        page_size: int,
        server_name: str,
        server_version: str,
        instructions: str | None,
    ) -> None:
        self._catalog = catalog
        self._page_size = page_size
        self.server_info: dict[str, Any] = {"name": server_name, "version": server_version}
        self.instructions = instructions
        shared: dict[str, Handler] = {
            "tools/list": self._tools_list,
            "tools/call": self._tools_call,
        }
        self._legacy: dict[str, Handler] = {**shared, "ping": self._ping, "logging/setLevel": self._set_level}
        self._modern: dict[str, Handler] = {**shared, "server/discover": self._discover}
        self._modern_meta: dict[str, Any] = {SERVER_INFO_KEY: self.server_info}

    def initialize_result(self, version: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": CAPABILITIES,
            "serverInfo": self.server_info,
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return result

    async def dispatch(self, method: str, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        handler = (self._modern if ctx.modern else self._legacy).get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
        result = await handler(params, ctx)
        if ctx.modern:
            result["resultType"] = "complete"
            meta = result.get("_meta")
            result["_meta"] = {**meta, **self._modern_meta} if isinstance(meta, dict) else self._modern_meta
        return result

    async def _ping(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {}

    async def _set_level(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        level = params.get("level")
        if not isinstance(level, str) or level not in LOG_LEVELS:
            raise RpcError(INVALID_PARAMS, f"Invalid log level; use one of: {', '.join(sorted(LOG_LEVELS))}")
        if ctx.session is not None:
            ctx.session.log_level = level
        return {}

    async def _discover(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(ALL_VERSIONS),
            "capabilities": CAPABILITIES,
            "ttlMs": DISCOVER_TTL_MS,
            "cacheScope": "public",
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return result

    async def _tools_list(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        cursor = params.get("cursor")
        offset = 0 if cursor is None else decode_cursor(cursor)
        tools = await self._catalog.list_tools(ctx.caller)
        if offset > len(tools):
            raise RpcError(INVALID_PARAMS, "Invalid cursor")
        end = offset + self._page_size
        result: dict[str, Any] = {"tools": [tool.to_mcp() for tool in tools[offset:end]]}
        if end < len(tools):
            result["nextCursor"] = encode_cursor(end)
        if ctx.modern:
            # The list depends on who asks (approvals, tokens), so shared caches must not keep it.
            result["ttlMs"] = TOOLS_LIST_TTL_MS
            result["cacheScope"] = "private"
        return result

    async def _tools_call(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise RpcError(INVALID_PARAMS, "tools/call needs a tool name")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        elif not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "tools/call arguments must be an object")
        ctx.tool = name
        session = ctx.session
        try:
            if session is None:
                result = await self._catalog.call_tool(name, arguments, ctx.caller)
            else:
                result = await self._call_cancellable(session, name, arguments, ctx)
        except errors.NotCallable as exc:
            # A known tool that is not callable now: its reason tells the model what to do next.
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name} ({exc.public_message})") from None
        except errors.NotFound:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}") from None
        except errors.SandboxError as exc:
            # The tool could not run: a tool error the model can act on, not a protocol error.
            result = ToolCallResult.error(exc.public_message)
        if result.is_error:
            ctx.outcome = Outcome.ERROR
        return result.to_mcp()

    async def _call_cancellable(
        self, session: Session, name: str, arguments: dict[str, Any], ctx: CallContext
    ) -> ToolCallResult:
        """Run the call in a cancel scope that ``notifications/cancelled`` can reach."""
        request_id = ctx.request_id
        with anyio.CancelScope() as scope:
            session.inflight[request_id] = scope
            try:
                return await self._catalog.call_tool(name, arguments, ctx.caller)
            finally:
                if session.inflight.get(request_id) is scope:
                    del session.inflight[request_id]
        raise Cancelled
