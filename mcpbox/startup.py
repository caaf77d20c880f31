"""Two-phase start: the MCP endpoint answers while the database and sandbox are still opening.

Importing SQLAlchemy, SQLModel and Alembic alone takes longer than a client's patience for
``initialize``; none of them is needed to answer it. So the gateway is built first, over
stand-ins that wait for (or buffer until) the real state: a catalog whose calls wait for it, an
activity sink that buffers events, and an ASGI app for every other route that answers 503
"starting" until the full site exists. If opening the state fails, the stand-ins say so and
the server shuts down with the startup error.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from mcpbox.activity.events import ActivityEvent
from mcpbox.errors import Busy, StartupError
from mcpbox.management.catalog import Caller, ToolCallResult, ToolCatalog, ToolDescriptor

logger = logging.getLogger(__name__)
STARTUP_WAIT_SECONDS = 60.0
BUFFERED_EVENTS_MAX = 10_000


class Phase(StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"


class StartupGate:
    """The one place that knows whether the state is open; everything deferred waits on it."""

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.failure: BaseException | None = None
        self._settled = anyio.Event()

    def ready(self) -> None:
        self.phase = Phase.READY
        self._settled.set()

    def fail(self, exc: BaseException) -> None:
        self.phase = Phase.FAILED
        self.failure = exc
        self._settled.set()

    async def wait(self) -> None:
        """Return once ready; raise if start-up failed or takes implausibly long."""
        if self.phase is Phase.STARTING:
            with anyio.move_on_after(STARTUP_WAIT_SECONDS):
                await self._settled.wait()
        if self.phase is Phase.FAILED:
            raise StartupError("mcpbox failed to start; see the server log")
        if self.phase is Phase.STARTING:
            raise Busy("mcpbox is still starting; try again shortly")


class DeferredCatalog:
    """A ``ToolCatalog`` whose calls wait until the real catalog exists."""

    def __init__(self, gate: StartupGate) -> None:
        self._gate = gate
        self._catalog: ToolCatalog | None = None

    def resolve(self, catalog: ToolCatalog) -> None:
        self._catalog = catalog

    async def _target(self) -> ToolCatalog:
        catalog = self._catalog
        if catalog is None:
            await self._gate.wait()
            catalog = self._catalog
            assert catalog is not None
        return catalog

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]:
        return await (await self._target()).list_tools(caller)

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult:
        return await (await self._target()).call_tool(name, arguments, caller)


class DeferredSink:
    """Buffers activity events until the recorder exists, then forwards them in order."""

    def __init__(self) -> None:
        self._sink: Callable[[ActivityEvent], None] | None = None
        self._buffer: deque[ActivityEvent] = deque(maxlen=BUFFERED_EVENTS_MAX)

    def record(self, event: ActivityEvent) -> None:
        sink = self._sink
        if sink is not None:
            sink(event)
        else:
            self._buffer.append(event)

    def resolve(self, sink: Callable[[ActivityEvent], None]) -> None:
        while self._buffer:
            sink(self._buffer.popleft())
        self._sink = sink


class DeferredApp:
    """Every route but ``/mcp`` and ``/health``: 503 until the full site is built."""

    def __init__(self, gate: StartupGate) -> None:
        self._gate = gate
        self._app: ASGIApp | None = None

    def resolve(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is not None:
            await app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        body = json.dumps({"status": self._gate.phase.value}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"1"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
