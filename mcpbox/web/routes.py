"""The admin UI and JSON API route tables, and the factories the app mounts.

Routes are data (``ADMIN_ROUTES``, ``API_ROUTES``): each row names its path, methods, handler and
whether it needs a signed-in admin. ``admin_routes`` and ``api_routes`` wrap every handler in the
guard (session, CSRF, Origin, error mapping), so nothing reaches a handler unchecked, and the
tests iterate these same tables to prove it for every unsafe route.

    site = build_site()
    routes = [*admin_routes(site), *api_routes(site)]
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mcpbox.auth.policy import AuthPolicy
from mcpbox.web import api, api_review, pages, pages_auth, pages_review
from mcpbox.web.activity_stream import activity_stream
from mcpbox.web.guard import Access, AdminSite, Handler, Surface, admin_endpoint
from mcpbox.web.templating import STATIC_DIR, create_environment

STATIC_PATH = "/admin/static"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    access: Access = Access.SIGNED_IN


ADMIN_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/admin/setup", ("GET",), pages_auth.setup_form, Access.PUBLIC),
    RouteSpec("/admin/setup", ("POST",), pages_auth.setup_submit, Access.PUBLIC),
    RouteSpec("/admin/login", ("GET",), pages_auth.login_form, Access.PUBLIC),
    RouteSpec("/admin/login", ("POST",), pages_auth.login_submit, Access.PUBLIC),
    RouteSpec("/admin/logout", ("POST",), pages_auth.logout),
    RouteSpec("/admin/", ("GET",), pages.dashboard),
    RouteSpec("/admin/servers", ("GET",), pages.servers),
    RouteSpec("/admin/servers/{name}", ("GET",), pages.server_detail),
    RouteSpec("/admin/servers/{name}/secrets", ("POST",), pages.secret_add),
    RouteSpec("/admin/servers/{name}/secrets/{key}", ("POST",), pages.secret_set),
    RouteSpec("/admin/servers/{name}/secrets/{key}/delete", ("GET",), pages.secret_delete_confirm),
    RouteSpec("/admin/servers/{name}/secrets/{key}/delete", ("POST",), pages.secret_delete),
    RouteSpec("/admin/servers/{name}/start", ("POST",), pages.server_start),
    RouteSpec("/admin/servers/{name}/stop", ("POST",), pages.server_stop),
    RouteSpec("/admin/servers/{name}/tools/{tool}", ("GET",), pages_review.tool_detail),
    RouteSpec("/admin/servers/{name}/tools/{tool}/test", ("POST",), pages_review.tool_test),
    RouteSpec("/admin/servers/{name}/tools/{tool}/rollback", ("GET",), pages_review.rollback_confirm),
    RouteSpec("/admin/servers/{name}/tools/{tool}/rollback", ("POST",), pages_review.rollback),
    RouteSpec("/admin/servers/{name}/tools/{tool}/disable", ("POST",), pages_review.tool_disable),
    RouteSpec("/admin/servers/{name}/tools/{tool}/enable", ("POST",), pages_review.tool_enable),
    RouteSpec("/admin/approvals", ("GET",), pages_review.approvals),
    RouteSpec("/admin/approvals/{ref}", ("POST",), pages_review.decide),
    RouteSpec("/admin/approvals/{ref}/revoke", ("POST",), pages.revoke),
    RouteSpec("/admin/activity", ("GET",), pages.activity),
    RouteSpec("/admin/activity/stream", ("GET",), activity_stream),
    RouteSpec("/admin/settings", ("GET",), pages.settings),
    RouteSpec("/admin/settings/{setting}", ("POST",), pages.setting_change),
    RouteSpec("/admin/system", ("GET",), pages.system),
)

API_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/api/session", ("GET",), api.session_info),
    RouteSpec("/api/dashboard", ("GET",), api.dashboard),
    RouteSpec("/api/servers", ("GET",), api.servers),
    RouteSpec("/api/servers/{name}", ("GET",), api.server),
    RouteSpec("/api/servers/{name}/secrets/{key}", ("PUT",), api.secret_put),
    RouteSpec("/api/servers/{name}/secrets/{key}", ("DELETE",), api.secret_delete),
    RouteSpec("/api/servers/{name}/start", ("POST",), api_review.server_start),
    RouteSpec("/api/servers/{name}/stop", ("POST",), api_review.server_stop),
    RouteSpec("/api/servers/{name}/logs", ("GET",), api_review.execution_logs),
    RouteSpec("/api/servers/{name}/tools", ("GET",), api_review.server_tools),
    RouteSpec("/api/servers/{name}/tools/{tool}", ("GET",), api_review.tool),
    RouteSpec("/api/servers/{name}/tools/{tool}/test", ("POST",), api_review.tool_test),
    RouteSpec("/api/servers/{name}/tools/{tool}/rollback", ("POST",), api_review.tool_rollback),
    RouteSpec("/api/servers/{name}/tools/{tool}/disable", ("POST",), api_review.tool_disable),
    RouteSpec("/api/servers/{name}/tools/{tool}/enable", ("POST",), api_review.tool_enable),
    RouteSpec("/api/approvals", ("GET",), api_review.approvals),
    RouteSpec("/api/approvals/{ref}/approve", ("POST",), api_review.approve),
    RouteSpec("/api/approvals/{ref}/reject", ("POST",), api_review.reject),
    RouteSpec("/api/approvals/{ref}/revoke", ("POST",), api_review.revoke),
    RouteSpec("/api/settings", ("GET",), api_review.settings),
    RouteSpec("/api/settings/{setting}", ("PUT",), api_review.setting_put),
    RouteSpec("/api/activity", ("GET",), api.activity),
    RouteSpec("/api/system", ("GET",), api.system),
)


def build_site(
    policy: AuthPolicy | None = None, *, stream_seconds: float = 300.0, stream_poll_seconds: float = 1.0
) -> AdminSite:
    """The shared configuration of both route tables (templates are loaded once, here)."""
    return AdminSite(
        policy=policy or AuthPolicy(),
        templates=create_environment(),
        stream_seconds=stream_seconds,
        stream_poll_seconds=stream_poll_seconds,
    )


async def _admin_root(request: Request) -> Response:
    return RedirectResponse("/admin/", status_code=308)


def admin_routes(site: AdminSite | None = None) -> list[BaseRoute]:
    """``/admin`` pages plus the static stylesheet and script (public: no data in them)."""
    site = site or build_site()
    routes: list[BaseRoute] = [Route("/admin", _admin_root, methods=["GET"])]
    routes.extend(_route(spec, site, Surface.HTML) for spec in ADMIN_ROUTES)
    routes.append(Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="admin-static"))
    return routes


def api_routes(site: AdminSite | None = None) -> list[BaseRoute]:
    site = site or build_site()
    return [_route(spec, site, Surface.API) for spec in API_ROUTES]


def _route(spec: RouteSpec, site: AdminSite, surface: Surface) -> Route:
    endpoint = admin_endpoint(spec.handler, site, access=spec.access, surface=surface)
    return Route(spec.path, endpoint, methods=list(spec.methods))
