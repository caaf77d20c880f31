"""The HTTP side against httpx.MockTransport: headers, answers and failures, no sockets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mcpbox.stdio_bridge.upstream import (
    GatewayRefused,
    SessionGone,
    Upstream,
    modern_headers,
)

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:8000/mcp"
INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}


async def _exchange(handler: Any, message: dict[str, Any], *, handshake: bool = False) -> list[Any]:
    delivered: list[Any] = []

    async def deliver(item: Any) -> None:
        delivered.append(item)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        upstream = Upstream(URL, "tok", client)
        upstream.session.session_id = "sid-1"
        upstream.session.protocol_version = "2025-11-25"
        await upstream.exchange(message, deliver, handshake=handshake)
    return delivered


async def test_initialize_carries_no_session_headers_and_records_the_new_session() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion": "2025-11-25"}}
        return httpx.Response(200, json=body, headers={"Mcp-Session-Id": "sid-2"})

    delivered: list[Any] = []

    async def deliver(item: Any) -> None:
        delivered.append(item)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        upstream = Upstream(URL, "tok", client)
        upstream.session.session_id = "old"
        await upstream.exchange(INITIALIZE, deliver, handshake=True)
        assert upstream.session.session_id == "sid-2"
    request = seen[0]
    assert "mcp-session-id" not in request.headers
    assert "mcp-protocol-version" not in request.headers
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["accept"] == "application/json, text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert delivered[0]["id"] == 0


async def test_sse_answers_deliver_every_message_in_order() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        text = (
            'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n'
            'event: message\ndata: {"jsonrpc":"2.0","id":5,"result":{}}\n\n'
        )
        return httpx.Response(200, text=text, headers={"Content-Type": "text/event-stream"})

    delivered = await _exchange(handler, {"jsonrpc": "2.0", "id": 5, "method": "ping"})
    assert [m.get("method", m.get("id")) for m in delivered] == ["notifications/progress", 5]


async def test_404_on_our_session_is_session_gone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["mcp-session-id"] == "sid-1"
        return httpx.Response(
            404, json={"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "x"}}
        )

    with pytest.raises(SessionGone):
        await _exchange(handler, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})


async def test_401_tells_the_user_how_to_pass_a_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    with pytest.raises(GatewayRefused, match="MCPBOX_TOKEN"):
        await _exchange(handler, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})


async def test_a_json_rpc_error_body_keeps_its_code_and_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32602, "message": "Unsupported version"}}
        return httpx.Response(400, json=error)

    with pytest.raises(GatewayRefused) as caught:
        await _exchange(handler, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert caught.value.code == -32602
    assert caught.value.message == "Unsupported version (HTTP 400)"


async def test_notifications_accepted_with_202_deliver_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["method"] == "notifications/initialized"
        return httpx.Response(202)

    assert await _exchange(handler, {"jsonrpc": "2.0", "method": "notifications/initialized"}) == []


def test_modern_requests_get_routing_headers_with_non_ascii_names_base64_wrapped() -> None:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "météo", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
    }
    assert modern_headers(message) == {
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "=?base64?bcOpdMOpbw==?=",
    }
    assert modern_headers({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) is None
