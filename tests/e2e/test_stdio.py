"""``mcpbox stdio`` with the official SDK's stdio client, in front of a real ``mcpbox serve``."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import anyio
import mcp.types as types
import pytest
from mcp import Client, StdioServerParameters

from tests.e2e.serve import ServeProcess, running_mcpbox, serve_env

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture(scope="module")
def mcpbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_mcpbox(tmp_path_factory.mktemp("stdio-e2e")) as proc:
        yield proc


async def test_a_stdio_client_lists_calls_and_hears_list_changed(mcpbox_server: ServeProcess) -> None:
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    bridge = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpbox", "stdio", "--url", mcpbox_server.mcp_url],
        env=serve_env(mcpbox_server.data_dir),
    )
    async with Client(bridge, mode="legacy", message_handler=on_message) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"mcpbox_list_servers", "mcpbox_create_server", "mcpbox_test_code"} <= names
        created = await client.call_tool("mcpbox_create_server", {"name": "viastdio"})
        assert created.is_error is False
        await anyio.sleep(0.3)  # the bridge opens its GET stream after `initialized`
        await client.call_tool("mcpbox_stop_server", {"name": "viastdio"})
        with anyio.fail_after(10):
            await changed.wait()
        listing = await client.call_tool("mcpbox_list_servers", {})
        assert listing.structured_content is not None
        assert [s["name"] for s in listing.structured_content["servers"]] == ["viastdio"]


async def test_the_bridge_says_clearly_when_the_gateway_is_down() -> None:
    from tests.e2e.serve import free_port

    process = await anyio.open_process(
        [sys.executable, "-m", "mcpbox", "stdio", "--url", f"http://127.0.0.1:{free_port()}/mcp"]
    )
    async with process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        request = (
            b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
            b'"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
        )
        await process.stdin.send(request)
        with anyio.fail_after(15):
            answer = await process.stdout.receive()
            error = await process.stderr.receive()
        await process.stdin.aclose()
    assert b'"error"' in answer
    assert b"cannot reach the mcpbox gateway" in error
    assert b"Traceback" not in error
