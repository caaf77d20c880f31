"""The site behind ``/`` once the state is open: readiness, metrics (and the admin UI and API).

Built after start-up by ``mcpbox.app`` and mounted behind the gateway; its handlers reach the
state through ``get_state`` (``site.state.mcpbox``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from mcpbox.state import AppState
from mcpbox.web.health import metrics, ready


class _AdminOnFirstUse:
    """The admin UI and API, built on their first request.

    Templates, Jinja2 and the admin modules cost memory a headless box may never use (clients
    only talk to /mcp); the first visit pays a one-off import instead.
    """

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._app: Starlette | None = None

    def _build(self) -> Starlette:
        from mcpbox.web.routes import admin_routes, api_routes
        from mcpbox.web.routes import build_site as build_admin_site

        admin = build_admin_site()
        app = Starlette(routes=[*admin_routes(admin), *api_routes(admin)])
        app.state.mcpbox = self._state
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)


def build_site(state: AppState) -> Starlette:
    site = Starlette(
        routes=[
            Route("/health/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount("/", app=_AdminOnFirstUse(state)),
        ]
    )
    site.state.mcpbox = state
    return site
