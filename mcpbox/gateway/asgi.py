"""Raw ASGI plumbing for the gateway: one pass over the headers, a capped body reader, replies.

The gateway is a bare ASGI callable rather than a Starlette endpoint because the MCP hot path
is tiny (one POST, one JSON object back) and per-request Request/Response objects would be
most of its cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from starlette.types import Receive, Send

from mcpbox.gateway.jsonrpc import RequestId, RpcError, dumps, error_message

JSON_HEADERS: Final = [(b"content-type", b"application/json")]
SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
EMPTY_LENGTH: Final = (b"content-length", b"0")
ROUTING_HEADERS: Final = frozenset({b"mcp-protocol-version", b"mcp-method", b"mcp-name"})


class BodyTooLarge(Exception):
    """The request body passed ``max_body_bytes``; the rest is never read."""


class ClientGone(Exception):
    """The client disconnected before its body arrived in full."""


@dataclass(slots=True)
class RequestHeaders:
    """The headers the gateway looks at, decoded once (ASGI names are already lower-case)."""

    origin: str | None = None
    host: str | None = None
    accept: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    session_id: str | None = None
    protocol_version: str | None = None
    mcp_method: str | None = None
    mcp_name: str | None = None
    duplicated: list[str] = field(default_factory=list)


def parse_headers(raw: list[tuple[bytes, bytes]]) -> RequestHeaders:
    headers = RequestHeaders()
    seen_routing: set[bytes] = set()
    for name, value in raw:
        if name in ROUTING_HEADERS:
            if name in seen_routing:
                headers.duplicated.append(name.decode("latin-1"))
            seen_routing.add(name)
            text = value.decode("latin-1")
            if name == b"mcp-protocol-version":
                headers.protocol_version = text
            elif name == b"mcp-method":
                headers.mcp_method = text
            else:
                headers.mcp_name = text
        elif name == b"mcp-session-id":
            headers.session_id = value.decode("latin-1")
        elif name == b"host":
            headers.host = value.decode("latin-1")
        elif name == b"origin":
            headers.origin = value.decode("latin-1")
        elif name == b"accept":
            headers.accept = value.decode("latin-1")
        elif name == b"content-type":
            headers.content_type = value.decode("latin-1")
        elif name == b"content-length":
            try:
                headers.content_length = int(value)
            except ValueError:
                headers.content_length = None
    return headers


def accepts(accept: str | None) -> tuple[bool, bool]:
    """(accepts JSON, accepts SSE) with RFC 9110 wildcards; no header at all accepts both."""
    if accept is None:
        return True, True
    types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    wildcard = "*/*" in types
    has_json = wildcard or "application/json" in types or "application/*" in types
    has_sse = wildcard or "text/event-stream" in types or "text/*" in types
    return has_json, has_sse


def is_json_content_type(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "application/json"


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as more than ``limit`` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """One complete response. ``Content-Length`` spares the server chunked framing, which costs
    an extra write (and, with Nagle on the client side, latency) on every small answer."""
    length = (b"content-length", str(len(body)).encode("ascii"))
    await send(
        {"type": "http.response.start", "status": status, "headers": [*(headers or JSON_HEADERS), length]}
    )
    await send({"type": "http.response.body", "body": body})


async def send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*(headers or []), EMPTY_LENGTH]})
    await send({"type": "http.response.body", "body": b""})


async def send_error(
    send: Send, error: RpcError, request_id: RequestId | None = None, status: int = 0
) -> None:
    """A JSON-RPC error body with ``status`` (default: the error's own HTTP status)."""
    await send_bytes(send, status or error.http_status, dumps(error_message(request_id, error)))
