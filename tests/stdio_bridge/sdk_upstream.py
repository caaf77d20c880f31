"""A stand-in gateway for the bridge tests: the official SDK's Streamable HTTP server.

Until ``mcpbox serve`` exists the bridge is checked against the MCP project's own server, which
is the behavioural reference for the handshake era anyway. It serves a few tools under hypercorn
on a socket bound to 127.0.0.1 port 0, records the headers of every request (to assert what the
bridge sends) and can push ``notifications/tools/list_changed`` on its GET stream: the
``announce_tools_changed`` tool sends it on the connection's standalone stream, not on the
stream of its own call.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from mcp.server.mcpserver import Context, MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class RecordedRequest:
    method: str
    headers: dict[str, str]


@dataclass
class Upstream:
    url: str
    port: int
    stopped: anyio.Event = field(default_factory=anyio.Event)
    requests: list[RecordedRequest] = field(default_factory=list)
    _stop: anyio.Event = field(default_factory=anyio.Event)

    async def stop(self) -> None:
        """Shut the server down now (as a gateway restart would); the block may go on."""
        self._stop.set()
        with anyio.fail_after(10):
            await self.stopped.wait()


def build_server() -> MCPServer:
    server = MCPServer("bridge-test-upstream")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Sleep, then say so; used to show a slow call does not block others.")
    async def slow(seconds: float) -> str:
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool(description="Push notifications/tools/list_changed on the session's GET stream.")
    async def announce_tools_changed(ctx: Context) -> str:
        await ctx.session.send_tool_list_changed()
        return "announced"

    return server


class HeaderRecorder:
    def __init__(self, app: ASGIApp, upstream: Upstream) -> None:
        self._app = app
        self._upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self._upstream.requests.append(RecordedRequest(scope["method"], headers))
        await self._app(scope, receive, send)


@asynccontextmanager
async def running_upstream(port: int = 0) -> AsyncIterator[Upstream]:
    """Serve the SDK app on 127.0.0.1:``port`` (0: a free one) for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    port = sock.getsockname()[1]
    upstream = Upstream(url=f"http://127.0.0.1:{port}/mcp", port=port)
    app = HeaderRecorder(build_server().streamable_http_app(), upstream)
    config = HypercornConfig()
    # hypercorn closes the descriptor it is given, so it gets a duplicate and we close ours.
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0

    async def serve_until_stopped() -> None:
        try:
            await serve(app, config, shutdown_trigger=upstream._stop.wait)  # type: ignore[arg-type]
        finally:
            sock.close()
            upstream.stopped.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(serve_until_stopped)
        try:
            yield upstream
        finally:
            upstream._stop.set()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"
