"""The site behind ``/`` once the state is open: readiness, metrics (and the admin UI and API).

Built after start-up by ``mcpbox.app`` and mounted behind the gateway; its handlers reach the
state through ``get_state`` (``site.state.mcpbox``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from mcpbox.state import AppState
from mcpbox.web.health import metrics, ready
from mcpbox.web.routes import admin_routes, api_routes
from mcpbox.web.routes import build_site as build_admin_site


def site_routes() -> list[BaseRoute]:
    admin = build_admin_site()
    return [
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *admin_routes(admin),
        *api_routes(admin),
    ]


def build_site(state: AppState) -> Starlette:
    site = Starlette(routes=site_routes())
    site.state.mcpbox = state
    return site
