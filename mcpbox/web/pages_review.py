"""Review pages: the approvals queue, tool detail (diff, test run, rollback, enable/disable) and
their forms.

Decisions post the ref and the content hash the page showed; a decision that lost a race (the
tool changed, or another owner decided first) re-renders the page with status 409 and a message
saying nothing changed. A successful write answers 303 back to where the owner came from
(``next``, same-site admin paths only); enabling or disabling a tool answers 303 to its page.
Rollback needs a confirmation page; a test run renders its result in place (it changes nothing,
so there is nothing to redirect for).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.responses import RedirectResponse, Response

from mcpbox.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mcpbox.web import approval_view, operations, tool_view
from mcpbox.web.errors import http_error
from mcpbox.web.guard import AdminRequest, safe_next
from mcpbox.web.tool_view import TrialRun

APPROVALS_PATH = "/admin/approvals"
NOTICES = {
    "approved": "Approved {ref}.",
    "rejected": "Rejected {ref}; the requester sees your reason.",
    "rolled-back": "Rolled back: the current version is now a copy of version {version}.",
    "tool-disabled": "Tool {tool} disabled: it left every client's tool list.",
    "tool-enabled": "Tool {tool} enabled: clients see it again if it is approved and its server runs.",
}


def _int_param(ctx: AdminRequest, name: str) -> int | None:
    value = ctx.request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def tool_url(server: str, tool: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"/admin/servers/{quote(server, safe='')}/tools/{quote(tool, safe='')}{query}"


def _with_notice(target: str, **params: str) -> str:
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{urlencode(params)}"


def _notice(ctx: AdminRequest, *, tool: str = "") -> str | None:
    """The fixed message the ``notice`` key names; ``tool`` comes from the path, not the query."""
    key = ctx.request.query_params.get("notice", "")
    if key not in NOTICES:
        return None
    return NOTICES[key].format(
        ref=ctx.request.query_params.get("ref", "")[:40],
        version=ctx.request.query_params.get("version", "")[:10],
        tool=tool,
    )


async def approvals(ctx: AdminRequest) -> Response:
    return await _approvals_page(ctx, notice=_notice(ctx), error=None)


async def _approvals_page(
    ctx: AdminRequest, *, notice: str | None, error: str | None, status: int = 200
) -> Response:
    kind = approval_view.parse_kind(ctx.request.query_params.get("kind"))
    page = await approval_view.approvals_page(
        ctx.state, kind, _int_param(ctx, "page"), _int_param(ctx, "page_size")
    )
    return ctx.render(
        "approvals.html",
        status=status,
        page=page,
        kind=kind.value if kind is not None else "",
        kinds=approval_view.KINDS,
        filter_query=urlencode({"kind": kind.value}) if kind is not None else "",
        notice=notice,
        error=error,
    )


async def decide(ctx: AdminRequest) -> Response:
    """Approve or reject the item ``ref`` (form: decision, reason, content_hash, next)."""
    ref = ctx.request.path_params["ref"]
    decision = ctx.form.get("decision", "")
    target = safe_next(ctx.form.get("next") or APPROVALS_PATH)
    try:
        if decision not in ("approve", "reject"):
            raise InvalidInput("choose Approve or Reject")
        await approval_view.decide(
            ctx.state,
            ctx.admin_name,
            ref,
            approve=decision == "approve",
            reason=ctx.form.get("reason", ""),
            content_hash=ctx.form.get("content_hash", ""),
        )
    except (Conflict, InvalidInput, NotFound, PermissionDenied) as exc:
        message = exc.public_message
        if isinstance(exc, Conflict):
            message = f"Nothing was changed: {message}"
        return await _decision_failed(ctx, target, message, http_error(exc).status)
    notice = "approved" if decision == "approve" else "rejected"
    return RedirectResponse(_with_notice(target, notice=notice, ref=ref), status_code=303)


async def _decision_failed(ctx: AdminRequest, target: str, message: str, status: int) -> Response:
    """Re-render the page the decision came from with the message (tool page or queue)."""
    parts = target.split("?", 1)[0].split("/")
    if len(parts) == 6 and parts[:3] == ["", "admin", "servers"] and parts[4] == "tools":
        try:
            return await _tool_page(ctx, parts[3], parts[5], error=message, status=status)
        except NotFound:
            pass  # the tool is gone: the queue says what is left
    return await _approvals_page(ctx, notice=None, error=message, status=status)


async def tool_detail(ctx: AdminRequest) -> Response:
    params = ctx.request.path_params
    return await _tool_page(ctx, params["name"], params["tool"], notice=_notice(ctx, tool=params["tool"]))


async def _tool_page(
    ctx: AdminRequest,
    server: str,
    tool: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    trial: TrialRun | None = None,
    arguments_text: str = "{}",
    test_error: str | None = None,
) -> Response:
    detail = await tool_view.tool_detail(
        ctx.state, server, tool, _int_param(ctx, "page"), _int_param(ctx, "page_size")
    )
    return ctx.render(
        "tool.html",
        status=status,
        detail=detail,
        tool_url=tool_url(detail.tool.server, detail.tool.name),
        notice=notice,
        error=error,
        trial=trial,
        arguments_text=arguments_text,
        test_error=test_error,
    )


async def tool_test(ctx: AdminRequest) -> Response:
    """Run the current version with the JSON arguments from the form; show the report in place."""
    server, tool = ctx.request.path_params["name"], ctx.request.path_params["tool"]
    text = ctx.form.get("arguments", "")
    try:
        arguments = tool_view.parse_arguments(text)
        trial = await tool_view.trial_run(ctx.state, ctx.admin_name, server, tool, arguments)
    except InvalidInput as exc:
        return await _tool_page(
            ctx, server, tool, status=400, arguments_text=text, test_error=exc.public_message
        )
    return await _tool_page(ctx, server, tool, trial=trial, arguments_text=text)


async def tool_disable(ctx: AdminRequest) -> Response:
    return await _set_tool_enabled(ctx, enabled=False)


async def tool_enable(ctx: AdminRequest) -> Response:
    return await _set_tool_enabled(ctx, enabled=True)


async def _set_tool_enabled(ctx: AdminRequest, *, enabled: bool) -> Response:
    """No confirmation page: either way is undone by one click on the same page."""
    params = ctx.request.path_params
    changed = await operations.set_tool_enabled(
        ctx.state, ctx.admin_name, params["name"], params["tool"], enabled
    )
    notice = "tool-enabled" if enabled else "tool-disabled"
    return RedirectResponse(tool_url(changed.server, changed.name, notice=notice), status_code=303)


async def rollback_confirm(ctx: AdminRequest) -> Response:
    server, tool = ctx.request.path_params["name"], ctx.request.path_params["tool"]
    detail = await tool_view.tool_detail(ctx.state, server, tool)
    number = _int_param(ctx, "to")
    if number is None:
        raise InvalidInput("say which version to roll back to (?to=N)")
    return ctx.render(
        "rollback.html", detail=detail, to_version=number, tool_url=tool_url(server, tool), error=None
    )


async def rollback(ctx: AdminRequest) -> Response:
    server, tool = ctx.request.path_params["name"], ctx.request.path_params["tool"]
    to_text = ctx.form.get("to_version", "")
    if not to_text.isdigit() or len(to_text) > 9:
        raise InvalidInput("to_version must be a version number")
    to_version = int(to_text)
    if ctx.form.get("confirm") != "yes":
        detail = await tool_view.tool_detail(ctx.state, server, tool)
        return ctx.render(
            "rollback.html",
            status=400,
            detail=detail,
            to_version=to_version,
            tool_url=tool_url(server, tool),
            error="Tick the box to confirm the rollback.",
        )
    try:
        await tool_view.rollback(
            ctx.state, ctx.admin_name, server, tool, to_version, ctx.form.get("expected_hash")
        )
    except Conflict as exc:
        return await _tool_page(
            ctx, server, tool, status=409, error=f"Nothing was changed: {exc.public_message}"
        )
    return RedirectResponse(
        tool_url(server, tool, notice="rolled-back", version=str(to_version)), status_code=303
    )
