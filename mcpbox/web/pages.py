"""Admin pages: dashboard, servers, server detail with secrets, activity log, settings, system.

Each handler parses its inputs, calls one function in ``operations`` / ``activity_view`` /
``system_view`` and renders a template; writes answer 303 to a page (post/redirect/get), and
destructive ones need an explicit confirmation field from a confirm page, not a JS dialog
(revoking an approved host or module needs a typed reason instead: the LLM reads it).
A secret's value travels only inward: forms post it, nothing renders it.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.responses import RedirectResponse, Response

from mcpbox.errors import Conflict, InvalidInput, NotFound
from mcpbox.tools.policy import POLICY_BY_KEY
from mcpbox.web import operations, settings_view
from mcpbox.web.activity_view import WINDOWS, activity_page, parse_activity_query
from mcpbox.web.errors import http_error
from mcpbox.web.guard import AdminRequest
from mcpbox.web.system_view import system_info, uptime_text

MCP_ADD_COMMAND = "claude mcp add --transport http mcpbox {base}/mcp"
NOTICES = {
    "secret-set": "Secret {key} saved. Its value is stored encrypted and is not shown again.",
    "secret-deleted": "Secret {key} deleted.",
    "server-started": "Server started: its approved tools are listed and callable again.",
    "server-stopped": "Server stopped: its tools left every client's tool list.",
    "host-revoked": "Revoked {ref} ({subject}) for server {server}: its tools can no longer reach it.",
    "module-revoked": "Revoked {ref} ({subject}) for server {server}: its tools can no longer import it.",
}
SETTINGS_PATH = "/admin/settings"


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
    name, query = ctx.request.path_params["name"], ctx.request.query_params
    notice_key = query.get("notice", "")
    notice = None
    if notice_key in NOTICES:
        notice = NOTICES[notice_key].format(
            key=query.get("key", "")[:64],
            ref=query.get("ref", "")[:40],
            subject=query.get("subject", "")[:300],
            server=name,
        )
    return await _server_page(ctx, name, notice=notice)


async def _server_page(
    ctx: AdminRequest, name: str, *, notice: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    detail = await operations.server_detail(
        ctx.state, name, _int_param(ctx, "page"), _int_param(ctx, "page_size")
    )
    return ctx.render("server.html", status=status, detail=detail, notice=notice, error=error)


async def server_start(ctx: AdminRequest) -> Response:
    return await _set_running(ctx, running=True)


async def server_stop(ctx: AdminRequest) -> Response:
    return await _set_running(ctx, running=False)


async def _set_running(ctx: AdminRequest, *, running: bool) -> Response:
    name = ctx.request.path_params["name"]
    try:
        await operations.set_server_running(ctx.state, ctx.admin_name, name, running)
    except Conflict as exc:
        return await _server_page(ctx, name, status=409, error=f"Nothing was changed: {exc.public_message}")
    notice = "server-started" if running else "server-stopped"
    return RedirectResponse(_server_url(name, notice=notice), status_code=303)


async def revoke(ctx: AdminRequest) -> Response:
    """Revoke the approved host or module ``ref`` (form: reason, server: the page it came from)."""
    ref, server = ctx.request.path_params["ref"], ctx.form.get("server", "")
    try:
        revoked = await operations.revoke_request(ctx.state, ctx.admin_name, ref, ctx.form.get("reason", ""))
    except (Conflict, InvalidInput, NotFound) as exc:
        if not server:
            raise  # not posted from a server page: the error page says what went wrong
        message = exc.public_message
        if isinstance(exc, Conflict):
            message = f"Nothing was changed: {message}"
        return await _server_page(ctx, server, status=http_error(exc).status, error=message)
    notice = f"{revoked.kind.value}-revoked"
    target = _server_url(revoked.server, notice=notice, ref=revoked.ref, subject=revoked.subject)
    return RedirectResponse(target, status_code=303)


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
        return await _server_page(ctx, name, status=400, error=exc.public_message)
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


async def settings(ctx: AdminRequest) -> Response:
    """The security policy and the module allowlist."""
    changed = ctx.request.query_params.get("changed", "")
    notice = f"Saved {changed}. It applies from the next call." if changed in POLICY_BY_KEY else None
    return await _settings_page(ctx, notice=notice, error=None)


async def _settings_page(
    ctx: AdminRequest, *, notice: str | None, error: str | None, status: int = 200
) -> Response:
    return ctx.render(
        "settings.html",
        status=status,
        settings=await settings_view.policy_settings(ctx.state),
        modules=await settings_view.module_allowlist(
            ctx.state, _int_param(ctx, "page"), _int_param(ctx, "page_size")
        ),
        notice=notice,
        error=error,
    )


async def setting_change(ctx: AdminRequest) -> Response:
    key = ctx.request.path_params["setting"]
    try:
        changed = await settings_view.change_setting(
            ctx.state, ctx.admin_name, key, ctx.form.get("value", "")
        )
    except InvalidInput as exc:
        return await _settings_page(ctx, notice=None, error=exc.public_message, status=400)
    query = urlencode({"changed": changed.setting.key})
    return RedirectResponse(f"{SETTINGS_PATH}?{query}#setting-{changed.setting.key}", status_code=303)


async def system(ctx: AdminRequest) -> Response:
    info = await system_info(ctx.state)
    return ctx.render("system.html", info=info, uptime=uptime_text(info.uptime_seconds))
