"""The official MCP Python SDK client (mcp 2.3.0) against the gateway under hypercorn, both eras."""

from __future__ import annotations

import anyio
import mcp_types
import pytest
from mcp import Client, ClientSession
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcpbox.activity.bus import ChangeBus
from mcpbox.activity.events import ActivityEvent
from tests.gateway.conftest import FakeCatalog, GatewayFactory, served

pytestmark = pytest.mark.anyio


async def test_legacy_client_session_end_to_end(
    make_gateway: GatewayFactory, bus: ChangeBus, events: list[ActivityEvent]
) -> None:
    gateway = make_gateway({"page_size_max": 2})
    changed = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    async with (
        served(gateway) as url,
        streamable_http_client(url) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25"
        assert init.server_info.name == "mcpbox"
        await session.send_ping()
        first = await session.list_tools()
        assert [tool.name for tool in first.tools] == ["echo", "slow"]
        assert first.next_cursor is not None
        second = await session.list_tools(params=mcp_types.PaginatedRequestParams(cursor=first.next_cursor))
        assert [tool.name for tool in second.tools] == ["vanishing", "boom"]
        result = await session.call_tool("echo", {"text": "hello"})
        assert result.content[0].text == "hello"  # type: ignore[union-attr]
        assert result.is_error is False
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("nope", {})
        assert unknown.value.error.code == -32602
        with anyio.fail_after(5):
            while gateway.stream_count == 0:  # the client opens its GET stream after initialized
                await anyio.sleep(0.02)
        bus.publish()
        with anyio.fail_after(5):
            await changed.wait()
        assert gateway.session_count == 1
    assert gateway.session_count == 0  # the client sent DELETE on close
    assert "tools/call" in {event.method for event in events}


async def test_modern_client_uses_discover(make_gateway: GatewayFactory, catalog: FakeCatalog) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, Client(url) as client:
        assert client.protocol_version == "2026-07-28"
        assert client.server_info is not None
        assert client.server_info.name == "mcpbox"
        tools = await client.list_tools()
        assert "echo" in [tool.name for tool in tools.tools]
        result = await client.call_tool("echo", {"text": "modern"})
        assert result.content[0].text == "modern"  # type: ignore[union-attr]
        assert gateway.session_count == 0
    assert catalog.callers[-1].session_id is None


async def test_legacy_mode_client_uses_handshake(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, Client(url, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("echo", {"text": "legacy"})
        assert result.content[0].text == "legacy"  # type: ignore[union-attr]
        assert gateway.session_count == 1
