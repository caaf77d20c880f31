"""``create_app(config)``: the one Starlette app — MCP gateway, health, and the site behind them.

The app is declared, not decorated. Start-up has two phases (see ``mcpbox.startup``): the
lifespan builds the gateway at once and starts serving, while a task imports the heavy modules
off the event loop and opens the state (database, keyring, sandbox pool); only then is the full
site (readiness, metrics, admin) mounted behind ``/``. Shutdown closes the gateway first, then
the state, each with a deadline.
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from mcpbox import __version__
from mcpbox.activity.bus import ChangeBus
from mcpbox.config import Config
from mcpbox.errors import MCPBoxError
from mcpbox.gateway.endpoint import McpGateway
from mcpbox.startup import DeferredApp, DeferredCatalog, DeferredSink, StartupGate
from mcpbox.web.security_headers import SecurityHeadersMiddleware

if TYPE_CHECKING:
    from mcpbox.state import AppState

logger = logging.getLogger(__name__)
OnReady = Callable[["AppState"], None]
OnFatal = Callable[[BaseException], None]
GATEWAY_CLOSE_SECONDS = 5.0


MCP_PATHS = frozenset({"/mcp", "/mcp/"})


class _GatewayRoute:
    """ASGI endpoint for ``/mcp`` that forwards to the gateway the lifespan built."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway: McpGateway = scope["app"].state.gateway
        await gateway(scope, receive, send)


class McpboxApp(Starlette):
    """Starlette, with ``/mcp`` taken before the generic middleware stack and router.

    Every MCP request is on the hot path; the gateway maps its own errors, so the error and
    exception middlewares and the route table add nothing but time there. Security headers are
    still added, by the same middleware every other response goes through.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mcp = SecurityHeadersMiddleware(_GatewayRoute())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in MCP_PATHS and getattr(self.state, "gateway", None):
            scope["app"] = self
            await self._mcp(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def health(request: Request) -> Response:
    """Liveness: the process answers (readiness, with its checks, is ``/health/ready``)."""
    return JSONResponse({"status": "ok", "version": __version__})


def create_app(
    config: Config, *, on_ready: OnReady | None = None, on_fatal: OnFatal | None = None, tune_gc: bool = False
) -> Starlette:
    """Build the app. ``on_fatal`` hears a start-up failure after serving began (the server then
    shuts down and exits 3); ``tune_gc`` freezes start-up objects out of the collector's way."""
    gate = StartupGate()
    site = DeferredApp(gate)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = ChangeBus()
        catalog = DeferredCatalog(gate)
        sink = DeferredSink()
        gateway = McpGateway(config=config, catalog=catalog, bus=bus, record=sink.record)
        app.state.gateway = gateway
        app.state.gate = gate
        app.state.mcpbox = None
        stop = anyio.Event()
        maintenance = anyio.CancelScope()
        opener = _StateOpener(app, config, bus, gate, catalog, sink, site, on_ready, on_fatal, tune_gc)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_in_scope, maintenance, gateway.run_maintenance)
            tasks.start_soon(opener.run, stop)
            try:
                yield
            finally:
                with anyio.move_on_after(GATEWAY_CLOSE_SECONDS, shield=True):
                    await gateway.close()
                stop.set()  # the opener closes the state and returns
                maintenance.cancel()

    gateway_route = _GatewayRoute()
    methods = ["GET", "POST", "DELETE"]
    return McpboxApp(
        routes=[
            Route("/mcp", gateway_route, methods=methods),
            Route("/mcp/", gateway_route, methods=methods),
            Route("/health", health, methods=["GET"]),
            Mount("/", app=site),
        ],
        middleware=[Middleware(SecurityHeadersMiddleware)],
        lifespan=lifespan,
    )


async def _in_scope(scope: anyio.CancelScope, work: Callable[[], Any]) -> None:
    with scope:
        await work()


class _StateOpener:
    """Opens the state behind a serving gateway, holds it until shutdown, then closes it."""

    def __init__(
        self,
        app: Starlette,
        config: Config,
        bus: ChangeBus,
        gate: StartupGate,
        catalog: DeferredCatalog,
        sink: DeferredSink,
        site: DeferredApp,
        on_ready: OnReady | None,
        on_fatal: OnFatal | None,
        tune_gc: bool,
    ) -> None:
        self._app, self._config, self._bus, self._gate = app, config, bus, gate
        self._catalog, self._sink, self._site = catalog, sink, site
        self._on_ready, self._on_fatal, self._tune_gc = on_ready, on_fatal, tune_gc

    async def run(self, stop: anyio.Event) -> None:
        try:
            # The heavy imports (SQLAlchemy, Alembic, the sandbox) run in a thread so the event
            # loop keeps answering `initialize` meanwhile.
            state_module = await anyio.to_thread.run_sync(importlib.import_module, "mcpbox.state")
            site_module = await anyio.to_thread.run_sync(importlib.import_module, "mcpbox.web.site")
            async with state_module.open_app_state(self._config, bus=self._bus) as state:
                self._publish(state, site_module.build_site(state))
                await stop.wait()
        except MCPBoxError as exc:
            logger.error("mcpbox could not start: %s", exc)
            self._failed(exc)
        except Exception as exc:
            logger.exception("mcpbox could not start")
            self._failed(exc)

    def _publish(self, state: AppState, site: Starlette) -> None:
        gateway: McpGateway = self._app.state.gateway
        registry = state.metrics.registry
        registry.gauge("mcpbox_mcp_sessions", "Live MCP sessions.", lambda: float(gateway.session_count))
        registry.gauge("mcpbox_mcp_streams", "Open MCP SSE streams.", lambda: float(gateway.stream_count))
        self._app.state.mcpbox = state
        self._site.resolve(site)
        self._catalog.resolve(state.catalog)
        self._sink.resolve(state.observe)
        self._gate.ready()
        if self._tune_gc:
            gc.collect()
            gc.freeze()  # start-up objects live forever: keep them out of every later collection
        if self._on_ready is not None:
            self._on_ready(state)

    def _failed(self, exc: BaseException) -> None:
        self._gate.fail(exc)
        if self._on_fatal is not None:
            self._on_fatal(exc)
