"""The admin JSON API under ``/api``: the same operations as the pages, as JSON.

Authentication is the admin session cookie (API tokens come later); because a cookie travels
with any request the browser makes, every unsafe method also needs ``X-CSRF-Token`` — the value
``GET /api/session`` returns. Lists are ``{"items", "total", "page", "page_size"}`` with the size
capped at ``page_size_max``; errors are ``{"error": {"code", "message"}}`` (``web/errors.py``).
No response ever carries a secret value: secrets are listed as metadata with ``has_value``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.responses import JSONResponse, Response

from mcpbox.db.models import Server
from mcpbox.db.secret_store import SecretInfo
from mcpbox.errors import InvalidInput
from mcpbox.web import operations
from mcpbox.web.activity_stream import record_json
from mcpbox.web.activity_view import activity_page, parse_activity_query
from mcpbox.web.forms import read_json_object
from mcpbox.web.guard import AdminRequest
from mcpbox.web.operations import Page
from mcpbox.web.system_view import system_info
from mcpbox.web.templating import iso_utc

T = TypeVar("T")


def json_response(data: object, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def page_json(page: Page[T], convert: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": [convert(item) for item in page.items],
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
    }


def int_param(ctx: AdminRequest, name: str) -> int | None:
    value = ctx.request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise InvalidInput(f"{name} must be a positive integer")
    return int(value)


def server_json(server: Server) -> dict[str, Any]:
    return {
        "name": server.name,
        "description": server.description,
        "status": server.status,
        "created_by": server.created_by,
        "created_at": iso_utc(server.created_at),
        "updated_at": iso_utc(server.updated_at),
    }


def secret_json(secret: SecretInfo) -> dict[str, Any]:
    return {
        "key": secret.key,
        "description": secret.description,
        "has_value": secret.has_value,
        "created_by": secret.created_by,
        "created_at": iso_utc(secret.created_at),
        "updated_at": iso_utc(secret.updated_at),
    }


async def session_info(ctx: AdminRequest) -> Response:
    """Who is signed in, and the CSRF token unsafe API calls must send."""
    assert ctx.session is not None  # the guard let a signed-in request through
    return json_response(
        {
            "admin": ctx.session.admin_name,
            "csrf_token": ctx.csrf_token,
            "expires_at": iso_utc(ctx.session.expires_at),
        }
    )


async def dashboard(ctx: AdminRequest) -> Response:
    summary = await operations.dashboard(ctx.state)
    return json_response(
        {
            "servers": summary.server_count,
            "tools": summary.tool_count,
            "pending_approvals": summary.pending_count,
            "tool_calls": {
                "last_hour": {"calls": summary.hour.calls, "errors": summary.hour.errors},
                "last_day": {"calls": summary.day.calls, "errors": summary.day.errors},
            },
            "recent_errors": [record_json(item) for item in summary.recent_errors],
        }
    )


async def servers(ctx: AdminRequest) -> Response:
    page = await operations.servers_page(ctx.state, int_param(ctx, "page"), int_param(ctx, "page_size"))
    return json_response(page_json(page, server_json))


async def server(ctx: AdminRequest) -> Response:
    detail = await operations.server_detail(ctx.state, ctx.request.path_params["name"])
    return json_response(
        {
            **server_json(detail.server),
            "secrets": _secrets(detail.secrets),
            "tool_count": detail.tools.total,
            "approved_hosts": [request.subject for request in detail.approved_hosts],
            "approved_modules": [request.subject for request in detail.approved_modules],
            # With their refs, for POST /api/approvals/{ref}/revoke.
            "approvals": [
                {"ref": request.ref, "kind": request.kind.value, "subject": request.subject}
                for request in (*detail.approved_hosts, *detail.approved_modules)
            ],
            "pending_requests": detail.pending_requests,
        }
    )


async def secret_put(ctx: AdminRequest) -> Response:
    """Set or replace a secret: body ``{"value": "..."}``; answers the secret's metadata."""
    body = await read_json_object(ctx.request)
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise InvalidInput('body must be {"value": "<non-empty string>"}')
    name, key = ctx.request.path_params["name"], ctx.request.path_params["key"]
    secret = await operations.put_secret(ctx.state, ctx.admin_name, name, key, value)
    return json_response(secret_json(secret))


async def secret_delete(ctx: AdminRequest) -> Response:
    name, key = ctx.request.path_params["name"], ctx.request.path_params["key"]
    await operations.remove_secret(ctx.state, ctx.admin_name, name, key)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


async def activity(ctx: AdminRequest) -> Response:
    page = await activity_page(ctx.state, parse_activity_query(ctx.request.query_params))
    return json_response(page_json(page, record_json))


async def system(ctx: AdminRequest) -> Response:
    info = await system_info(ctx.state)
    return json_response(
        {
            "version": info.version,
            "uptime_seconds": round(info.uptime_seconds),
            "database": {
                "dialect": info.database_dialect,
                "schema_revision": info.schema_revision,
                "schema_head": info.schema_head,
            },
            "activity": {"queued": info.activity_queued, "dropped": info.activity_dropped},
            "isolation": None
            if info.isolation_complete is None
            else {
                "complete": info.isolation_complete,
                "layers": [
                    {"name": x.name, "active": x.active, "required": x.required, "detail": x.detail}
                    for x in info.isolation_layers
                ],
            },
            "pool": None if info.pool_state is None else {"state": info.pool_state, **info.pool_counters},
        }
    )


def _secrets(items: Sequence[SecretInfo]) -> list[dict[str, Any]]:
    return [secret_json(item) for item in items]
