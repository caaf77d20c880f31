"""The official MCP Python SDK client against a real ``mcpbox serve``, in both protocol eras."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client

from tests.e2e.serve import ServeProcess, running_mcpbox

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

MANAGEMENT_TOOLS = {
    "mcpbox_list_servers",
    "mcpbox_get_server",
    "mcpbox_create_server",
    "mcpbox_delete_server",
    "mcpbox_start_server",
    "mcpbox_stop_server",
    "mcpbox_create_server_secret",
    "mcpbox_list_server_secrets",
}


@pytest.fixture(scope="module")
def mcpbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_mcpbox(tmp_path_factory.mktemp("e2e-data")) as proc:
        yield proc


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error is False, result.content
    assert result.structured_content is not None
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == result.structured_content  # JSON text, never a Python repr
    return dict(result.structured_content)


async def test_legacy_session_lists_and_calls_every_management_tool_and_gets_list_changed(
    mcpbox_server: ServeProcess,
) -> None:
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with Client(mcpbox_server.mcp_url, mode="legacy", message_handler=on_message) as client:
        assert client.protocol_version == "2025-11-25"
        assert client.server_capabilities.tools is not None
        assert client.server_capabilities.tools.list_changed is True
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert MANAGEMENT_TOOLS <= set(tools)
        for name in MANAGEMENT_TOOLS:
            assert tools[name].title
            assert tools[name].annotations is not None
            assert tools[name].input_schema["type"] == "object"

        created = structured(
            await client.call_tool("mcpbox_create_server", {"name": "lab", "description": "x"})
        )
        assert created["name"] == "lab"
        assert created["status"] == "running"
        assert structured(await client.call_tool("mcpbox_get_server", {"name": "lab"}))["secret_count"] == 0
        listing = structured(await client.call_tool("mcpbox_list_servers", {"page_size": 10}))
        assert [s["name"] for s in listing["servers"]] == ["lab"]
        secret = structured(
            await client.call_tool("mcpbox_create_server_secret", {"server": "lab", "key": "API_KEY"})
        )
        assert secret["has_value"] is False
        secrets = structured(await client.call_tool("mcpbox_list_server_secrets", {"server": "lab"}))
        assert secrets["secrets"][0]["key"] == "API_KEY"
        assert "value" not in secrets["secrets"][0]

        await anyio.sleep(0.2)  # the client opens its GET stream after `initialized`
        assert (
            structured(await client.call_tool("mcpbox_stop_server", {"name": "lab"}))["status"] == "stopped"
        )
        with anyio.fail_after(10):
            await changed.wait()
        assert (
            structured(await client.call_tool("mcpbox_start_server", {"name": "lab"}))["status"] == "running"
        )
        assert structured(
            await client.call_tool("mcpbox_delete_server", {"name": "lab", "confirm": True})
        ) == {"deleted": "lab"}

        missing = await client.call_tool("mcpbox_get_server", {"name": "lab"})
        assert missing.is_error is True
        bad = await client.call_tool("mcpbox_create_server", {"name": "Not Valid"})
        assert bad.is_error is True
        assert "pattern" in bad.content[0].text  # type: ignore[union-attr]


async def test_modern_stateless_client_discovers_and_calls(mcpbox_server: ServeProcess) -> None:
    async with Client(mcpbox_server.mcp_url, mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert MANAGEMENT_TOOLS <= tools
        listing = structured(await client.call_tool("mcpbox_list_servers", {}))
        assert listing["page"] == 1


async def test_every_handshake_version_negotiates(mcpbox_server: ServeProcess, tmp_path: Path) -> None:
    import httpx

    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2099-01-01"):
            body = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
            response = await http.post(mcpbox_server.mcp_url, json=body, headers=headers)
            assert response.status_code == 200
            expected = version if version != "2099-01-01" else "2025-11-25"
            assert response.json()["result"]["protocolVersion"] == expected
            assert response.headers["mcp-session-id"]
