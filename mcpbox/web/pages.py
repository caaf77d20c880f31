"""Admin pages: dashboard, servers, server detail with secrets, activity log, system.

Each handler parses its inputs, calls one function in ``operations`` / ``activity_view`` /
``system_view`` and renders a template; writes answer 303 to a page (post/redirect/get), and
destructive ones need an explicit confirmation field from a confirm page, not a JS dialog.
A secret's value travels only inward: forms post it, nothing renders it.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.responses import RedirectResponse, Response

from mcpbox.errors import InvalidInput
from mcpbox.web import operations
from mcpbox.web.activity_view import WINDOWS, activity_page, parse_activity_query
from mcpbox.web.guard import AdminRequest
from mcpbox.web.system_view import system_info, uptime_text

MCP_ADD_COMMAND = "claude mcp add --transport http mcpbox {base}/mcp"
NOTICES = {
    "secret-set": "Secret {key} saved. Its value is stored encrypted and is not shown again.",
    "secret-deleted": "Secret {key} deleted.",
}


def _int_param(ctx: AdminRequest, name: str) -> int | None:
    value = ctx.request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _server_url(name: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"/admin/servers/{quote(name, safe='')}{query}"


async def dashboard(ctx: AdminRequest) -> Response:
    """Counts, recent errors, and how to connect a client when nothing has happened yet."""
    summary = await operations.dashboard(ctx.state)
    return ctx.render(
        "dashboard.html",
        summary=summary,
        connect_command=MCP_ADD_COMMAND.format(base=ctx.state.config.base_url),
    )


async def servers(ctx: AdminRequest) -> Response:
    page = await operations.servers_page(ctx.state, _int_param(ctx, "page"), _int_param(ctx, "page_size"))
    return ctx.render("servers.html", page=page)


async def server_detail(ctx: AdminRequest) -> Response:
    detail = await operations.server_detail(ctx.state, ctx.request.path_params["name"])
    notice_key = ctx.request.query_params.get("notice", "")
    secret_key = ctx.request.query_params.get("key", "")[:64]
    notice = NOTICES[notice_key].format(key=secret_key) if notice_key in NOTICES else None
    return ctx.render("server.html", detail=detail, notice=notice, error=None)


async def secret_add(ctx: AdminRequest) -> Response:
    """Declare and set a new secret in one step."""
    return await _put_secret(ctx, ctx.form.get("key", "").strip())


async def secret_set(ctx: AdminRequest) -> Response:
    """Set or replace the value of a declared secret."""
    return await _put_secret(ctx, ctx.request.path_params["key"])


async def _put_secret(ctx: AdminRequest, key: str) -> Response:
    name = ctx.request.path_params["name"]
    value = ctx.form.get("value", "")
    try:
        if not value:
            raise InvalidInput("enter a value for the secret")
        await operations.put_secret(ctx.state, ctx.admin_name, name, key, value)
    except InvalidInput as exc:
        detail = await operations.server_detail(ctx.state, name)
        return ctx.render("server.html", status=400, detail=detail, notice=None, error=exc.public_message)
    return RedirectResponse(_server_url(name, notice="secret-set", key=key), status_code=303)


async def secret_delete_confirm(ctx: AdminRequest) -> Response:
    """The confirmation page a delete needs (works without JavaScript)."""
    name, key = ctx.request.path_params["name"], ctx.request.path_params["key"]
    secret = await operations.find_secret(ctx.state, name, key)
    return ctx.render("secret_delete.html", server=name, secret=secret, error=None)


async def secret_delete(ctx: AdminRequest) -> Response:
    name, key = ctx.request.path_params["name"], ctx.request.path_params["key"]
    if ctx.form.get("confirm") != "yes":
        secret = await operations.find_secret(ctx.state, name, key)
        return ctx.render(
            "secret_delete.html",
            status=400,
            server=name,
            secret=secret,
            error="Tick the box to confirm the deletion.",
        )
    await operations.remove_secret(ctx.state, ctx.admin_name, name, key)
    return RedirectResponse(_server_url(name, notice="secret-deleted", key=key), status_code=303)


async def activity(ctx: AdminRequest) -> Response:
    """The activity log: filters, pages, and a live tail when JavaScript is on."""
    query = parse_activity_query(ctx.request.query_params)
    page = await activity_page(ctx.state, query)
    params = query.params()
    return ctx.render(
        "activity.html",
        query=query,
        page=page,
        windows=list(WINDOWS),
        filter_query=urlencode(params),
        stream_url="/admin/activity/stream" + (f"?{urlencode(params)}" if params else ""),
    )


async def system(ctx: AdminRequest) -> Response:
    info = await system_info(ctx.state)
    return ctx.render("system.html", info=info, uptime=uptime_text(info.uptime_seconds))
