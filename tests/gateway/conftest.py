"""Fixtures for the gateway tests: a fake catalog, a gateway factory, an in-process client and
a real hypercorn server on 127.0.0.1 for the tests that need streaming or a real SDK client."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from starlette.types import Receive, Scope, Send

from mcpbox import errors
from mcpbox.activity.bus import ChangeBus
from mcpbox.activity.events import ActivityEvent
from mcpbox.config import Config
from mcpbox.gateway import McpGateway
from mcpbox.management.catalog import Caller, ToolAnnotations, ToolCallResult, ToolDescriptor

BASE_URL = "http://127.0.0.1:8000"
MCP = "/mcp"
POST_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
SECRET_FAILURE = "/etc/secret path SELECT * FROM api_keys"
MODERN = "2026-07-28"


def _tool(name: str, description: str) -> ToolDescriptor:
    return ToolDescriptor(
        name=name,
        title=name.title(),
        description=description,
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        annotations=ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False),
    )


class FakeCatalog:
    """A ToolCatalog with one tool per behaviour the gateway must handle."""

    def __init__(self, extra_tools: int = 0) -> None:
        self.tools: list[ToolDescriptor] = [
            _tool("echo", "Returns its text argument."),
            _tool("slow", "Sleeps until cancelled."),
            _tool("vanishing", "Listed, but gone by the time it is called."),
            _tool("boom", "Raises an unexpected exception."),
            _tool("failing", "Returns a tool error."),
        ]
        self.tools += [_tool(f"extra_{i:03d}", "Filler for pagination.") for i in range(extra_tools)]
        self.callers: list[Caller] = []
        self.slow_started = anyio.Event()
        self.slow_cancelled = anyio.Event()
        self.list_error: Exception | None = None

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]:
        self.callers.append(caller)
        if self.list_error is not None:
            raise self.list_error
        return self.tools

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult:
        self.callers.append(caller)
        if name == "echo":
            return ToolCallResult.from_value(arguments.get("text", ""))
        if name == "slow":
            self.slow_started.set()
            try:
                await anyio.sleep(60)
            except anyio.get_cancelled_exc_class():
                self.slow_cancelled.set()
                raise
            return ToolCallResult.from_value("finished")
        if name == "boom":
            raise RuntimeError(SECRET_FAILURE)
        if name == "failing":
            return ToolCallResult.error("division by zero")
        if name == "awaiting_review":
            raise errors.NotCallable("tool 'awaiting_review' is pending review; the owner must approve it")
        raise errors.NotFound(f"no tool {name} in /var/lib/mcpbox/tools.db")


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def bus() -> ChangeBus:
    return ChangeBus()


@pytest.fixture
def events() -> list[ActivityEvent]:
    return []


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.load(environ={}, overrides={"data_dir": tmp_path})


GatewayFactory = Callable[..., McpGateway]


@pytest.fixture
def make_gateway(
    config: Config, catalog: FakeCatalog, bus: ChangeBus, events: list[ActivityEvent]
) -> GatewayFactory:
    def make(settings: Mapping[str, Any] | None = None, **kwargs: Any) -> McpGateway:
        kwargs.setdefault("catalog", catalog)
        kwargs.setdefault("bus", bus)
        kwargs.setdefault("record", events.append)
        return McpGateway(config=config.replace(**(settings or {})), **kwargs)

    return make


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> McpGateway:
    return make_gateway()


def client_for(app: McpGateway, base_url: str = BASE_URL) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def client(gateway: McpGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway) as http:
        yield http


def rpc(
    method: str, params: dict[str, Any] | None = None, request_id: int | str | None = 1
) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if request_id is not None:
        message["id"] = request_id
    if params is not None:
        message["params"] = params
    return message


def init_params(version: str = "2025-11-25", client_name: str = "pytest") -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": client_name, "version": "1"},
    }


async def open_session(http: httpx.AsyncClient, version: str = "2025-11-25", url: str = MCP) -> str:
    """Initialize and send ``notifications/initialized``; the new session id."""
    response = await http.post(url, json=rpc("initialize", init_params(version), 0), headers=POST_HEADERS)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    done = await http.post(
        url,
        json=rpc("notifications/initialized", request_id=None),
        headers={**POST_HEADERS, "mcp-session-id": session_id},
    )
    assert done.status_code == 202
    return session_id


def session_headers(session_id: str, version: str | None = "2025-11-25") -> dict[str, str]:
    headers = {**POST_HEADERS, "mcp-session-id": session_id}
    if version is not None:
        headers["mcp-protocol-version"] = version
    return headers


def modern_meta(version: str = MODERN) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "modern-pytest", "version": "1"},
    }


def modern_headers(method: str, name: str | None = None, version: str = MODERN) -> dict[str, str]:
    headers = {**POST_HEADERS, "mcp-protocol-version": version, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


@asynccontextmanager
async def served(app: McpGateway) -> AsyncIterator[str]:
    """Serve ``app`` with hypercorn on 127.0.0.1:<free port>; yields the /mcp URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = HypercornConfig()
    settings.bind = [f"fd://{listener.detach()}"]
    settings.graceful_timeout = 1
    stop = anyio.Event()

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: serve(asgi, settings, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
        url = f"http://127.0.0.1:{port}/mcp"
        with anyio.fail_after(10):
            while True:
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.02)
                    continue
                await stream.aclose()
                break
        try:
            yield url
        finally:
            await app.close()
            stop.set()
