"""``create_app(config)``: the one Starlette app — MCP gateway, health, metrics (admin UI later).

The app is declared, not decorated: routes are a list, resources come from the lifespan. The
gateway is built in the lifespan because it needs the state; the ``/mcp`` route forwards to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mcpbox.config import Config
from mcpbox.gateway.endpoint import McpGateway
from mcpbox.state import AppState, open_app_state
from mcpbox.web.health import health, metrics, ready
from mcpbox.web.security_headers import SecurityHeadersMiddleware

OnReady = Callable[[AppState], None]


class _GatewayRoute:
    """ASGI endpoint for ``/mcp`` that forwards to the gateway the lifespan built."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway: McpGateway = scope["app"].state.gateway
        await gateway(scope, receive, send)


def create_app(
    config: Config, *, state: AppState | None = None, on_ready: OnReady | None = None
) -> Starlette:
    """Build the app. With ``state`` given (``mcpbox serve``), the caller owns it: startup
    failures then surface before hypercorn starts, as one clear error instead of a lifespan trace.
    Without it (tests), the lifespan opens and closes the state itself."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            opened = state if state is not None else await stack.enter_async_context(open_app_state(config))
            async with _serving(app, config, opened, on_ready):
                yield

    gateway_route = _GatewayRoute()
    methods = ["GET", "POST", "DELETE"]
    return Starlette(
        routes=[
            Route("/mcp", gateway_route, methods=methods),
            Route("/mcp/", gateway_route, methods=methods),
            Route("/health", health, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        middleware=[Middleware(SecurityHeadersMiddleware)],
        lifespan=lifespan,
    )


@asynccontextmanager
async def _serving(
    app: Starlette, config: Config, state: AppState, on_ready: OnReady | None
) -> AsyncIterator[None]:
    """Build the gateway over an open state, run its maintenance, close it first on shutdown."""
    async with anyio.create_task_group() as tasks:
        gateway = McpGateway(config=config, catalog=state.catalog, bus=state.bus, record=state.observe)
        registry = state.metrics.registry
        registry.gauge("mcpbox_mcp_sessions", "Live MCP sessions.", lambda: float(gateway.session_count))
        registry.gauge("mcpbox_mcp_streams", "Open MCP SSE streams.", lambda: float(gateway.stream_count))
        app.state.mcpbox = state
        app.state.gateway = gateway
        tasks.start_soon(gateway.run_maintenance)
        if on_ready is not None:
            on_ready(state)
        try:
            yield
        finally:
            with anyio.move_on_after(5, shield=True):
                await gateway.close()
            tasks.cancel_scope.cancel()
