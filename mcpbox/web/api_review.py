"""The review half of the JSON API: approvals, tools, test runs, rollback, enable/disable, servers,
settings.

Same conventions as ``api``: session cookie plus ``X-CSRF-Token`` on unsafe methods, lists as
``{"items", "total", "page", "page_size"}`` capped at ``page_size_max``, errors as
``{"error": {"code", "message"}}``. A decision or rollback that lost a race is ``409 conflict``
and changed nothing. Every handler calls the same view function as its page.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mcpbox.approvals.pending import PendingItem
from mcpbox.db.execution_log_store import ExecutionLogRecord
from mcpbox.db.request_store import RequestInfo
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.errors import InvalidInput
from mcpbox.web import approval_view, operations, settings_view, tool_view
from mcpbox.web.api import int_param, json_response, page_json, server_json
from mcpbox.web.diff_view import DiffRow
from mcpbox.web.forms import read_json_object
from mcpbox.web.guard import AdminRequest
from mcpbox.web.settings_view import SettingState
from mcpbox.web.templating import iso_utc


def pending_json(item: PendingItem) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "kind": item.kind.value,
        "server": item.server,
        "subject": item.subject,
        "version": item.version,
        "content_hash": item.content_hash,
        "package": item.package,
        "justification": item.justification,
        "requested_by": item.requested_by,
        "requested_at": iso_utc(item.requested_at),
    }


def tool_json(tool: ToolInfo) -> dict[str, Any]:
    return {
        "ref": f"tool:{tool.id}",
        "server": tool.server,
        "name": tool.name,
        "status": tool.status.value,
        "enabled": tool.enabled,
        "current_version": tool.current_version,
        "current_hash": tool.current_hash,
        "approved_version": tool.approved_version,
        "review_requested_by": tool.review_requested_by,
        "decided_by": tool.decided_by,
        "decided_at": iso_utc(tool.decided_at),
        "decision_reason": tool.decision_reason,
        "created_by": tool.created_by,
        "updated_at": iso_utc(tool.updated_at),
    }


def request_json(request: RequestInfo) -> dict[str, Any]:
    return {
        "ref": request.ref,
        "kind": request.kind.value,
        "server": request.server,
        "subject": request.subject,
        "package": request.package,
        "version": request.version,
        "status": request.status.value,
        "requested_by": request.requested_by,
        "decided_by": request.decided_by,
        "decided_at": iso_utc(request.decided_at),
        "reason": request.reason,
    }


def version_json(version: VersionInfo, *, with_content: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": version.number,
        "content_hash": version.content_hash,
        "change_source": version.change_source,
        "rolled_back_from": version.rolled_back_from,
        "created_by": version.created_by,
        "created_at": iso_utc(version.created_at),
        "approved_by": version.approved_by,
        "approved_at": iso_utc(version.approved_at),
    }
    if with_content:
        content = version.content
        data.update(
            code=content.code,
            description=content.description,
            input_schema=content.input_schema,
            modules=list(content.modules),
            hosts=list(content.hosts),
        )
    return data


def log_json(entry: ExecutionLogRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso_utc(entry.at),
        "kind": entry.kind,
        "server": entry.server,
        "tool": entry.tool,
        "version": entry.version,
        "outcome": entry.outcome,
        "duration_ms": entry.duration_ms,
        "requested_by": entry.requested_by,
        "arguments": entry.arguments,
        "result_summary": entry.result_summary,
        "stdout": entry.stdout,
        "egress": entry.egress,
        "error": entry.error,
    }


def _diff_json(row: DiffRow) -> dict[str, Any]:
    return {
        "kind": row.kind.value,
        "old_number": row.old_number,
        "old": row.old_text,
        "new_number": row.new_number,
        "new": row.new_text,
        "skipped": row.skipped,
    }


def _setting_json(item: SettingState) -> dict[str, Any]:
    setting = item.setting
    return {
        "key": setting.key,
        "value": item.value,
        "default": setting.default,
        "choices": list(setting.choices) or None,
        "minimum": setting.minimum,
        "maximum": setting.maximum,
        "help": setting.help,
    }


async def approvals(ctx: AdminRequest) -> Response:
    kind = approval_view.parse_kind(ctx.request.query_params.get("kind"))
    page = await approval_view.approvals_page(
        ctx.state, kind, int_param(ctx, "page"), int_param(ctx, "page_size")
    )
    return json_response(page_json(page, pending_json))


async def approve(ctx: AdminRequest) -> Response:
    """Body ``{"content_hash": "...", "reason": "..."}`` (hash required for tools)."""
    return await _decide(ctx, approve=True)


async def reject(ctx: AdminRequest) -> Response:
    """Body ``{"reason": "...", "content_hash": "..."}`` (reason required; hash for tools)."""
    return await _decide(ctx, approve=False)


async def revoke(ctx: AdminRequest) -> Response:
    """Body ``{"reason": "..."}`` (required): withdraw an approved module or host."""
    body = await read_json_object(ctx.request)
    revoked = await operations.revoke_request(
        ctx.state, ctx.admin_name, ctx.request.path_params["ref"], _optional_text(body, "reason") or ""
    )
    return json_response({"request": request_json(revoked)})


async def _decide(ctx: AdminRequest, *, approve: bool) -> Response:
    body = await read_json_object(ctx.request)
    reason, content_hash = _optional_text(body, "reason"), _optional_text(body, "content_hash")
    decided = await approval_view.decide(
        ctx.state,
        ctx.admin_name,
        ctx.request.path_params["ref"],
        approve=approve,
        reason=reason,
        content_hash=content_hash,
    )
    if isinstance(decided, ToolInfo):
        return json_response({"tool": tool_json(decided)})
    return json_response({"request": request_json(decided)})


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


async def server_tools(ctx: AdminRequest) -> Response:
    page = await operations.tools_page(
        ctx.state, ctx.request.path_params["name"], int_param(ctx, "page"), int_param(ctx, "page_size")
    )
    return json_response(page_json(page, tool_json))


async def tool(ctx: AdminRequest) -> Response:
    """The tool, its current version with content, the diff against the last approved one."""
    params = ctx.request.path_params
    detail = await tool_view.tool_detail(
        ctx.state, params["name"], params["tool"], int_param(ctx, "page"), int_param(ctx, "page_size")
    )
    return json_response(
        {
            **tool_json(detail.tool),
            "exposed": detail.exposed,
            "exposed_name": detail.exposed_name if detail.exposed else None,
            "not_exposed_because": detail.not_exposed_because,
            "current": version_json(detail.version, with_content=True),
            "approved": None if detail.approved is None else version_json(detail.approved),
            "diff": [_diff_json(row) for row in detail.diff],
            "other_changes": [
                {"field": change.field, "old": change.old, "new": change.new} for change in detail.changes
            ],
            "modules": [{"name": n.name, "state": n.state, "ref": n.ref} for n in detail.modules],
            "hosts": [{"name": n.name, "state": n.state, "ref": n.ref} for n in detail.hosts],
            "versions": page_json(detail.versions, version_json),
        }
    )


async def tool_test(ctx: AdminRequest) -> Response:
    """Body ``{"arguments": {...}}``: run the current version once; the report, not a log id."""
    body = await read_json_object(ctx.request)
    arguments = body.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InvalidInput('body must be {"arguments": {<object>}}')
    params = ctx.request.path_params
    trial = await tool_view.trial_run(ctx.state, ctx.admin_name, params["name"], params["tool"], arguments)
    return json_response(
        {
            "version": trial.version.number,
            "content_hash": trial.version.content_hash,
            **trial.report.to_json(),
        }
    )


async def tool_rollback(ctx: AdminRequest) -> Response:
    """Body ``{"to_version": N, "expected_hash": "..."}`` (hash optional, refuses a stale view)."""
    body = await read_json_object(ctx.request)
    to_version = body.get("to_version")
    if not isinstance(to_version, int) or isinstance(to_version, bool) or to_version < 1:
        raise InvalidInput('body must be {"to_version": <positive integer>}')
    params = ctx.request.path_params
    rolled = await tool_view.rollback(
        ctx.state,
        ctx.admin_name,
        params["name"],
        params["tool"],
        to_version,
        _optional_text(body, "expected_hash"),
    )
    return json_response({"tool": tool_json(rolled)})


async def tool_disable(ctx: AdminRequest) -> Response:
    """No body: the tool leaves every client's tool list and cannot be called, whatever its approval."""
    return await _set_tool_enabled(ctx, enabled=False)


async def tool_enable(ctx: AdminRequest) -> Response:
    """No body: listed and callable again if it is approved and its server runs."""
    return await _set_tool_enabled(ctx, enabled=True)


async def _set_tool_enabled(ctx: AdminRequest, *, enabled: bool) -> Response:
    params = ctx.request.path_params
    changed = await operations.set_tool_enabled(
        ctx.state, ctx.admin_name, params["name"], params["tool"], enabled
    )
    return json_response({"tool": tool_json(changed)})


async def server_start(ctx: AdminRequest) -> Response:
    server = await operations.set_server_running(
        ctx.state, ctx.admin_name, ctx.request.path_params["name"], True
    )
    return json_response(server_json(server))


async def server_stop(ctx: AdminRequest) -> Response:
    server = await operations.set_server_running(
        ctx.state, ctx.admin_name, ctx.request.path_params["name"], False
    )
    return json_response(server_json(server))


async def execution_logs(ctx: AdminRequest) -> Response:
    tool_name = ctx.request.query_params.get("tool") or None
    page = await operations.execution_logs_page(
        ctx.state,
        ctx.request.path_params["name"],
        tool_name,
        int_param(ctx, "page"),
        int_param(ctx, "page_size"),
    )
    return json_response(page_json(page, log_json))


async def settings(ctx: AdminRequest) -> Response:
    """The policy settings and the module allowlist (approved modules paged)."""
    allowlist = await settings_view.module_allowlist(
        ctx.state, int_param(ctx, "page"), int_param(ctx, "page_size")
    )
    return json_response(
        {
            "settings": [_setting_json(item) for item in await settings_view.policy_settings(ctx.state)],
            "modules": {
                "default": list(allowlist.default_modules),
                "approved": page_json(allowlist.approved, request_json),
            },
        }
    )


async def setting_put(ctx: AdminRequest) -> Response:
    """Body ``{"value": ...}``: a word for choice settings, an integer for ``log_retention_days``."""
    body = await read_json_object(ctx.request)
    if "value" not in body:
        raise InvalidInput('body must be {"value": ...}')
    changed = await settings_view.change_setting(
        ctx.state, ctx.admin_name, ctx.request.path_params["setting"], body["value"]
    )
    return json_response(_setting_json(changed))
