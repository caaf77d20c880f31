"""The HTTP side: one handshake-era MCP session with the gateway over Streamable HTTP.

Every exchange is one POST carrying one JSON-RPC message. The gateway answers a request with
``application/json`` or ``text/event-stream`` (both must be understood), and a notification or
a response with 202. The session id from the ``initialize`` answer and the negotiated protocol
version go on every later request; the bearer token on every request, session or not, because
the gateway authenticates each one. A stateless-era (2026-07-28) request is recognised by its
``_meta`` and sent with that era's routing headers instead of the session's.

httpx exceptions stop here: callers see ``GatewayUnreachable`` (nothing listening),
``ConnectionLost`` (dropped mid-answer), ``SessionGone`` (404 on our session) or
``GatewayRefused`` (any other HTTP failure, already phrased for the client).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from mcpbox.stdio_bridge.sse import EventTooLarge, StreamPosition, iter_event_data

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
# Longer than the longest tool call mcpbox allows (300 s), so only a dead gateway times out.
READ_TIMEOUT_SECONDS: Final = 330.0
HTTP_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=READ_TIMEOUT_SECONDS, write=30.0, pool=10.0)
DELETE_TIMEOUT_SECONDS: Final = 3.0
ACCEPT_BOTH: Final = "application/json, text/event-stream"

# JSON-RPC codes the bridge itself answers with (-32000..-32019: implementation-defined).
GATEWAY_UNREACHABLE: Final = -32000
GATEWAY_FAILED: Final = -32001
SESSION_LOST: Final = -32002
INTERNAL_ERROR: Final = -32603

Deliver = Callable[[Any], Awaitable[None]]

MODERN_VERSION_KEY: Final = "io.modelcontextprotocol/protocolVersion"
# Methods whose target travels in the Mcp-Name header (2026-07-28), and the param holding it.
NAMED_METHODS: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


class GatewayUnreachable(Exception):
    """Nothing answered at the gateway URL; ``str(exc)`` is the one line shown on stderr."""


class ConnectionLost(Exception):
    """The gateway dropped the connection (or sent garbage) before the answer was complete."""


class SessionGone(Exception):
    """The gateway answered 404 for our session id: it expired or the gateway restarted."""


class NoStandaloneStream(Exception):
    """The gateway does not offer the GET stream (405, or no session to attach it to)."""


class GatewayRefused(Exception):
    """Any other HTTP failure; carries the JSON-RPC error the client should see."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SessionState:
    """What the handshake established. ``generation`` changes whenever the session is replaced."""

    session_id: str | None = None
    protocol_version: str | None = None
    generation: int = 0
    position: StreamPosition = field(default_factory=StreamPosition)

    def replace(self, session_id: str | None) -> None:
        self.session_id = session_id
        self.protocol_version = None
        self.generation += 1
        self.position = StreamPosition()


class Upstream:
    """Speaks Streamable HTTP to one gateway URL on behalf of the stdio client."""

    def __init__(self, url: str, token: str | None, client: httpx.AsyncClient) -> None:
        self.url = url
        self._token = token
        self._client = client
        self.session = SessionState()

    def _headers(self, accept: str, *, handshake: bool = False) -> dict[str, str]:
        headers = {"Accept": accept}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if not handshake:
            if self.session.session_id is not None:
                headers["Mcp-Session-Id"] = self.session.session_id
            if self.session.protocol_version is not None:
                headers["MCP-Protocol-Version"] = self.session.protocol_version
        return headers

    async def exchange(self, message: dict[str, Any], deliver: Deliver, *, handshake: bool = False) -> None:
        """POST ``message`` and hand every JSON-RPC message of the answer to ``deliver``, in order.

        With ``handshake`` (an ``initialize``), no session headers are sent and the session id of
        the answer is recorded before any message is delivered: the client may send its next
        message the instant it reads the ``initialize`` result.
        """
        modern = modern_headers(message)
        headers = self._headers(ACCEPT_BOTH, handshake=handshake or modern is not None)
        headers.update(modern or {})
        headers["Content-Type"] = "application/json"
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        sent_session = headers.get("Mcp-Session-Id")
        try:
            async with self._client.stream("POST", self.url, content=body, headers=headers) as response:
                if response.status_code == 404 and sent_session is not None:
                    raise SessionGone(sent_session)
                if handshake and response.is_success:
                    self.session.replace(response.headers.get("mcp-session-id"))
                await self._read_answer(response, deliver)
        except httpx.RequestError as exc:
            raise self._translate(exc) from exc

    async def _read_answer(self, response: httpx.Response, deliver: Deliver) -> None:
        status = response.status_code
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if status == 202:
            return
        if response.is_success and content_type == "text/event-stream":
            # A POST stream is not resumed (a lost answer becomes an error), so its position is dropped.
            await self._relay_events(response, StreamPosition(), deliver)
            return
        payload = await _read_json(response) if content_type == "application/json" else None
        if response.is_success and payload is not None:
            for item in payload if isinstance(payload, list) else [payload]:
                await deliver(item)
            return
        if response.is_success:
            raise ConnectionLost(f"the gateway answered HTTP {status} with {content_type or 'no body'}")
        raise _refusal(status, payload, self.url)

    async def _relay_events(
        self, response: httpx.Response, position: StreamPosition, deliver: Deliver
    ) -> None:
        try:
            async for data in iter_event_data(
                response.aiter_lines(), position, max_data_bytes=MAX_MESSAGE_BYTES
            ):
                try:
                    item = json.loads(data)
                except ValueError as exc:
                    raise ConnectionLost("the gateway sent an SSE event that is not JSON") from exc
                await deliver(item)
        except EventTooLarge as exc:
            raise ConnectionLost(str(exc)) from exc

    async def listen(self, deliver: Deliver, on_open: Callable[[], None]) -> None:
        """Hold the GET stream open and relay what the gateway pushes; returns when it ends."""
        if self.session.session_id is None:
            raise NoStandaloneStream("the gateway gave no session id")
        headers = self._headers("text/event-stream")
        position = self.session.position
        if position.last_event_id is not None:
            headers["Last-Event-ID"] = position.last_event_id
        try:
            async with self._client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 404:
                    raise SessionGone(self.session.session_id)
                if response.status_code == 405:
                    raise NoStandaloneStream("the gateway answered 405 to GET")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if not response.is_success or content_type != "text/event-stream":
                    payload = await _read_json(response) if content_type == "application/json" else None
                    raise _refusal(response.status_code, payload, self.url)
                on_open()
                await self._relay_events(response, position, deliver)
        except httpx.RequestError as exc:
            raise self._translate(exc) from exc

    async def end_session(self) -> None:
        """DELETE the session so the gateway frees it now rather than at its idle timeout."""
        if self.session.session_id is None:
            return
        headers = self._headers(ACCEPT_BOTH)
        try:
            await self._client.delete(self.url, headers=headers, timeout=DELETE_TIMEOUT_SECONDS)
        except httpx.RequestError as exc:
            raise self._translate(exc) from exc
        finally:
            self.session.session_id = None

    def _translate(self, exc: httpx.RequestError) -> Exception:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return GatewayUnreachable(
                f"cannot reach the mcpbox gateway at {self.url} ({_reason(exc)}); is `mcpbox serve` running?"
            )
        if isinstance(exc, httpx.TimeoutException):
            return ConnectionLost(f"the mcpbox gateway at {self.url} stopped answering (timed out)")
        return ConnectionLost(f"lost the connection to the mcpbox gateway at {self.url} ({_reason(exc)})")


def modern_headers(message: dict[str, Any]) -> dict[str, str] | None:
    """The routing headers of a stateless (2026-07-28) request, or None for handshake-era ones.

    A modern request names its protocol version in ``params._meta``; over HTTP that version and
    the method (plus the tool, prompt or resource name) must also travel as headers, which a
    stdio client never writes. Such requests bypass the session: the era has none.
    """
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(MODERN_VERSION_KEY) if isinstance(meta, dict) else None
    method = message.get("method")
    if not isinstance(version, str) or not isinstance(method, str):
        return None
    headers = {"MCP-Protocol-Version": _header_value(version), "Mcp-Method": _header_value(method)}
    name_key = NAMED_METHODS.get(method)
    name = params.get(name_key) if isinstance(params, dict) and name_key else None
    if isinstance(name, str):
        headers["Mcp-Name"] = _header_value(name)
    return headers


def _header_value(value: str) -> str:
    """Send printable ASCII as is; wrap anything else in the spec's ``=?base64?...?=`` form."""
    printable = all(" " <= char <= "~" for char in value)
    if printable and value == value.strip() and not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def _reason(exc: BaseException) -> str:
    """The OS-level cause in a few words ("connection refused"), not httpx's nested repr."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            # os.strerror, not exc.strerror: asyncio puts "Connect call failed (addr)" there.
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = str(exc).strip()
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0][:200] if text else type(exc).__name__


async def _read_json(response: httpx.Response) -> Any:
    """Read a bounded JSON body; ``None`` when it is empty, too large or not JSON."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_MESSAGE_BYTES:
            return None
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks)) if chunks else None
    except ValueError:
        return None


def _refusal(status: int, payload: Any, url: str) -> GatewayRefused:
    detail = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        message = payload["error"].get("message")
        code = payload["error"].get("code")
        if isinstance(message, str) and isinstance(code, int) and not isinstance(code, bool):
            detail = (code, message)
    if status == 401:
        return GatewayRefused(
            GATEWAY_FAILED,
            "the mcpbox gateway requires a token (HTTP 401); set MCPBOX_TOKEN or pass --token",
        )
    if status == 404:
        return GatewayRefused(GATEWAY_FAILED, f"no MCP endpoint at {url} (HTTP 404); check --url")
    if detail is not None:
        return GatewayRefused(detail[0], f"{detail[1]} (HTTP {status})")
    return GatewayRefused(GATEWAY_FAILED, f"the mcpbox gateway answered HTTP {status}")
