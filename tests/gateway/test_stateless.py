"""The 2026-07-28 stateless era on the same endpoint: envelope, headers, results, errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from mcpbox.activity.events import ActivityEvent
from tests.gateway.conftest import (
    MCP,
    MODERN,
    POST_HEADERS,
    FakeCatalog,
    modern_headers,
    modern_meta,
    open_session,
    rpc,
    session_headers,
)

pytestmark = pytest.mark.anyio

SERVER_INFO = "io.modelcontextprotocol/serverInfo"


def modern(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return rpc(method, {**(params or {}), "_meta": modern_meta()}, request_id)


async def test_discover_describes_the_server(client: httpx.AsyncClient) -> None:
    response = await client.post(
        MCP, json=modern("server/discover"), headers=modern_headers("server/discover")
    )
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", MODERN]
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert result["_meta"][SERVER_INFO] == {"name": "mcpbox", "version": "0.1.0"}
    assert isinstance(result["ttlMs"], int)
    assert result["ttlMs"] >= 0
    assert result["cacheScope"] in ("public", "private")


async def test_tools_list_carries_caching_hints(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=modern("tools/list"), headers=modern_headers("tools/list"))
    result = response.json()["result"]
    assert result["resultType"] == "complete"
    assert result["ttlMs"] == 0
    assert result["cacheScope"] == "private"
    assert result["_meta"][SERVER_INFO]["name"] == "mcpbox"
    assert [tool["name"] for tool in result["tools"]][:2] == ["echo", "slow"]


async def test_tools_call_is_served_without_session(
    client: httpx.AsyncClient, catalog: FakeCatalog, events: list[ActivityEvent]
) -> None:
    message = modern("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    response = await client.post(MCP, json=message, headers=modern_headers("tools/call", "echo"))
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["resultType"] == "complete"
    assert result["content"] == [{"type": "text", "text": "hi"}]
    assert result["_meta"][SERVER_INFO]["name"] == "mcpbox"
    caller = catalog.callers[-1]
    assert (caller.client_name, caller.session_id) == ("modern-pytest", None)
    assert events[-1].client_name == "modern-pytest"
    assert events[-1].tool == "echo"


async def test_session_header_is_ignored_in_modern_requests(client: httpx.AsyncClient) -> None:
    headers = {**modern_headers("tools/list"), "mcp-session-id": "made-up"}
    response = await client.post(MCP, json=modern("tools/list"), headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("missing", ["io.modelcontextprotocol/clientCapabilities"])
async def test_missing_envelope_field_is_400_32602(client: httpx.AsyncClient, missing: str) -> None:
    message = modern("tools/list")
    del message["params"]["_meta"][missing]
    response = await client.post(MCP, json=message, headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert response.json()["id"] == 1


async def test_unsupported_modern_version_is_32022(client: httpx.AsyncClient) -> None:
    message = rpc("server/discover", {"_meta": modern_meta("2099-01-01")})
    response = await client.post(
        MCP, json=message, headers=modern_headers("server/discover", version="2099-01-01")
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"] == {"supported": [MODERN], "requested": "2099-01-01"}


async def test_handshake_version_in_envelope_is_32022(client: httpx.AsyncClient) -> None:
    message = rpc("tools/list", {"_meta": modern_meta("2025-11-25")})
    response = await client.post(
        MCP, json=message, headers=modern_headers("tools/list", version="2025-11-25")
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32022


@pytest.mark.parametrize(
    "headers",
    [
        modern_headers("tools/list"),  # method header names another method
        modern_headers("TOOLS/CALL", "echo"),  # values are case-sensitive
        modern_headers("tools/call", "other"),  # name header names another tool
        modern_headers("tools/call"),  # name header missing
        modern_headers("tools/call", "echo", version="2025-11-25"),  # version header disagrees
        {**POST_HEADERS, "mcp-method": "tools/call", "mcp-name": "echo"},  # version header missing
    ],
)
async def test_header_mismatch_is_32020(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    message = modern("tools/call", {"name": "echo", "arguments": {}})
    response = await client.post(MCP, json=message, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


async def test_duplicated_routing_header_is_32020(client: httpx.AsyncClient) -> None:
    headers = [*modern_headers("tools/list").items(), ("mcp-method", "tools/list")]
    response = await client.post(MCP, json=modern("tools/list"), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


async def test_base64_wrapped_name_header_is_decoded(client: httpx.AsyncClient) -> None:
    wrapped = "=?base64?" + base64.b64encode(b"echo").decode() + "?="
    message = modern("tools/call", {"name": "echo", "arguments": {"text": "ok"}})
    response = await client.post(MCP, json=message, headers=modern_headers("tools/call", wrapped))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "method", ["initialize", "ping", "logging/setLevel", "resources/list", "prompts/list"]
)
async def test_methods_removed_in_2026_are_32601(client: httpx.AsyncClient, method: str) -> None:
    response = await client.post(MCP, json=modern(method), headers=modern_headers(method))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


async def test_unknown_version_header_without_envelope_is_400_32602(client: httpx.AsyncClient) -> None:
    headers = {**POST_HEADERS, "mcp-protocol-version": "2030-01-01"}
    response = await client.post(MCP, json=rpc("tools/list"), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert "_meta" in response.json()["error"]["message"]


async def test_modern_version_header_on_session_without_envelope_is_400(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id, MODERN))
    assert response.status_code == 400


async def test_unknown_tool_is_400_32602(client: httpx.AsyncClient) -> None:
    message = modern("tools/call", {"name": "nope", "arguments": {}})
    response = await client.post(MCP, json=message, headers=modern_headers("tools/call", "nope"))
    assert response.status_code == 400
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: nope"}


async def test_internal_error_does_not_leak(client: httpx.AsyncClient) -> None:
    message = modern("tools/call", {"name": "boom", "arguments": {}})
    response = await client.post(MCP, json=message, headers=modern_headers("tools/call", "boom"))
    assert response.json()["error"] == {"code": -32603, "message": "Internal error"}
    assert "secret" not in response.text


async def test_modern_notification_is_acknowledged(client: httpx.AsyncClient) -> None:
    message = rpc("notifications/cancelled", {"requestId": 1, "_meta": modern_meta()}, request_id=None)
    response = await client.post(MCP, json=message, headers=modern_headers("notifications/cancelled"))
    assert response.status_code == 202
    assert response.content == b""


async def test_modern_batch_is_invalid(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=[modern("tools/list")], headers=modern_headers("tools/list"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


async def test_modern_response_message_is_invalid(client: httpx.AsyncClient) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "result": {}}
    response = await client.post(MCP, json=message, headers=modern_headers("tools/list"))
    assert response.status_code == 400
