"""The stdio bridge, driven as a client would: a real ``python -m mcpbox.stdio_bridge`` subprocess.

The upstream is the official SDK's Streamable HTTP server on 127.0.0.1 (tests/stdio_bridge), the
client the SDK's own stdio client, so both ends are the MCP project's code and the bridge is the
only thing under test. Raw-pipe tests cover what no well-behaved client sends (malformed lines).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from anyio.abc import Process
from mcp.client.client import Client
from mcp.client.session import ClientSession, IncomingMessage
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.stdio_bridge.sdk_upstream import closed_port_url, running_upstream

pytestmark = pytest.mark.anyio

BRIDGE = [sys.executable, "-m", "mcpbox.stdio_bridge"]


@asynccontextmanager
async def bridged_session(
    url: str, errlog_path: Path, *, token: str | None = None, handler: Any = None
) -> AsyncIterator[ClientSession]:
    """An initialized SDK ClientSession speaking stdio to a bridge subprocess aimed at ``url``."""
    env = {"MCPBOX_TOKEN": token} if token else None
    params = StdioServerParameters(command=BRIDGE[0], args=[*BRIDGE[1:], "--url", url], env=env)
    with errlog_path.open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, message_handler=handler) as session,
        ):
            with anyio.fail_after(15):
                await session.initialize()
            yield session


@asynccontextmanager
async def raw_bridge(url: str) -> AsyncIterator[Process]:
    """A bridge subprocess with raw pipes, for lines no SDK client would ever send."""
    process = await anyio.open_process([*BRIDGE, "--url", url])
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()


async def read_message(process: Process) -> dict[str, Any]:
    assert process.stdout is not None
    buffer = b""
    with anyio.fail_after(10):
        while not buffer.endswith(b"\n"):
            buffer += await process.stdout.receive(1)
    message = json.loads(buffer)
    assert isinstance(message, dict)
    return message


async def send_line(process: Process, line: bytes) -> None:
    assert process.stdin is not None
    await process.stdin.send(line + b"\n")


async def test_initialize_list_and_call_tools_through_the_bridge(tmp_path: Path) -> None:
    async with running_upstream() as upstream, bridged_session(upstream.url, tmp_path / "err") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"add", "slow", "announce_tools_changed"} <= names
        result = await session.call_tool("add", {"a": 2, "b": 3})
        assert not result.is_error
        assert isinstance(result.content[0], types.TextContent)
        assert result.content[0].text == "5"
    later = [r for r in upstream.requests if r.method == "POST"][1:]
    assert later, "the bridge sent nothing after initialize"
    assert all(r.headers.get("mcp-session-id") for r in later)
    assert all(r.headers.get("mcp-protocol-version") == "2025-11-25" for r in later)
    assert all(r.headers["accept"] == "application/json, text/event-stream" for r in later)


async def test_list_changed_on_the_get_stream_reaches_the_client(tmp_path: Path) -> None:
    changed = anyio.Event()

    async def handler(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with (
        running_upstream() as upstream,
        bridged_session(upstream.url, tmp_path / "err", handler=handler) as session,
    ):
        with anyio.fail_after(10):
            # The GET stream opens asynchronously after notifications/initialized; wait for it.
            while not any(r.method == "GET" for r in upstream.requests):
                await anyio.sleep(0.05)
            await anyio.sleep(0.2)
            await session.call_tool("announce_tools_changed", {})
            await changed.wait()


async def test_a_slow_call_does_not_hold_up_a_ping(tmp_path: Path) -> None:
    async with running_upstream() as upstream, bridged_session(upstream.url, tmp_path / "err") as session:
        pinged_while_slow = False

        async def slow_call() -> None:
            await session.call_tool("slow", {"seconds": 2.0})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(slow_call)
            await anyio.sleep(0.3)
            with anyio.fail_after(1.5):
                await session.send_ping()
                pinged_while_slow = True
        assert pinged_while_slow


async def test_session_is_deleted_when_stdin_ends(tmp_path: Path) -> None:
    async with running_upstream() as upstream:
        async with bridged_session(upstream.url, tmp_path / "err") as session:
            await session.send_ping()
        session_id = next(
            r.headers["mcp-session-id"] for r in upstream.requests if "mcp-session-id" in r.headers
        )
        deletes = [r for r in upstream.requests if r.method == "DELETE"]
        assert [r.headers.get("mcp-session-id") for r in deletes] == [session_id]


async def test_token_is_sent_as_bearer_authorization_on_every_request(tmp_path: Path) -> None:
    async with running_upstream() as upstream:
        async with bridged_session(upstream.url, tmp_path / "err", token="s3cret-token") as session:
            await session.list_tools()
        assert upstream.requests
        assert all(r.headers.get("authorization") == "Bearer s3cret-token" for r in upstream.requests)


async def test_gateway_down_gives_a_clear_stderr_line_and_an_error_response() -> None:
    url = closed_port_url()
    async with raw_bridge(url) as process:
        initialize = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        }
        await send_line(process, json.dumps(initialize).encode())
        # Closing stdin at once must not swallow the answer to the request already sent.
        assert process.stdin is not None
        await process.stdin.aclose()
        answer = await read_message(process)
        assert answer["id"] == 0
        assert answer["error"]["code"] == -32000
        assert "is `mcpbox serve` running?" in answer["error"]["message"]
        with anyio.fail_after(10):
            await process.wait()
        assert process.returncode == 0
        assert process.stderr is not None
        stderr = (await process.stderr.receive()).decode()
    expected = (
        f"mcpbox stdio: cannot reach the mcpbox gateway at {url} (connection refused); "
        "is `mcpbox serve` running?"
    )
    assert expected in stderr.splitlines()
    assert "Traceback" not in stderr


async def test_malformed_line_gets_a_parse_error_and_the_bridge_carries_on() -> None:
    async with running_upstream() as upstream, raw_bridge(upstream.url) as process:
        await send_line(process, b"{not json")
        answer = await read_message(process)
        assert answer == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": answer["error"]["message"]},
        }
        await send_line(process, b"[1, 2]")
        assert (await read_message(process))["error"]["code"] == -32600
        await send_line(process, b'{"jsonrpc":"2.0","id":7,"method":"ping"}')
        answer = await read_message(process)
        # No initialize yet, so the SDK server refuses; what matters is a well-formed answer for id 7.
        assert answer["id"] == 7


async def test_a_restarted_gateway_gets_a_new_session_without_the_client_noticing(tmp_path: Path) -> None:
    notified = anyio.Event()

    async def handler(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            notified.set()

    async with (
        running_upstream() as first,
        bridged_session(first.url, tmp_path / "err", handler=handler) as session,
    ):
        await session.send_ping()
        await first.stop()
        async with running_upstream(port=first.port) as second:
            result = await session.call_tool("add", {"a": 40, "b": 2})
            assert isinstance(result.content[0], types.TextContent)
            assert result.content[0].text == "42"
            reinitialize = [
                r for r in second.requests if r.method == "POST" and "mcp-session-id" not in r.headers
            ]
            assert len(reinitialize) == 1
        # The SDK server declares tools.listChanged false, so the bridge must not invent one.
        assert not notified.is_set()
    assert "opening a new one" in (tmp_path / "err").read_text()


async def test_a_stateless_era_client_gets_the_routing_headers_it_cannot_write_itself() -> None:
    async with running_upstream() as upstream:
        params = StdioServerParameters(command=BRIDGE[0], args=[*BRIDGE[1:], "--url", upstream.url])
        with anyio.fail_after(20):
            async with Client(params) as client:  # mode "auto": probes server/discover first
                assert client.protocol_version == "2026-07-28"
                result = await client.call_tool("add", {"a": 1, "b": 2})
                assert isinstance(result.content[0], types.TextContent)
                assert result.content[0].text == "3"
    call = next(r for r in upstream.requests if r.headers.get("mcp-method") == "tools/call")
    assert call.headers["mcp-protocol-version"] == "2026-07-28"
    assert call.headers["mcp-name"] == "add"
    assert "mcp-session-id" not in call.headers


async def test_an_oversized_line_is_refused_without_being_buffered() -> None:
    async with raw_bridge(closed_port_url()) as process:
        await send_line(process, b'{"x":"' + b"a" * (16 * 1024 * 1024 + 10) + b'"}')
        answer = await read_message(process)
        assert answer["id"] is None
        assert answer["error"]["code"] == -32600
        await send_line(process, b"nope")
        assert (await read_message(process))["error"]["code"] == -32700
