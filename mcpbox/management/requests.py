"""Management tools for what a server's tools may reach: module and network-host requests.

An LLM asks, the owner decides: approved requests are the only thing that extends a server's
module allowlist or egress allowlist, so these tools only ever create ``pending`` rows (or, for
standard-library modules under ``module_approval_mode = auto_approve``, let the policy approve
them). Each answer carries the ref the owner approves (``module:3``, ``host:7``) so the LLM can
tell the owner exactly what to approve.
"""

from __future__ import annotations

from typing import Any

from mcpbox.approvals.pending import PendingItem, PendingKind, list_pending
from mcpbox.db import request_store
from mcpbox.db.models import RequestStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.management.context import ManagementContext, page_fields
from mcpbox.management.registry import ManagementTool, management_tool
from mcpbox.management.servers import PAGE, PAGE_SIZE, SERVER_NAME, iso
from mcpbox.management.tool_views import REQUESTS_SCANNED, approve_hint, request_json, require_server
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.tools import requests as tool_requests
from mcpbox.tools.requests import JUSTIFICATION_MAX

JUSTIFICATION = {
    "type": "string",
    "minLength": 1,
    "maxLength": JUSTIFICATION_MAX,
    "description": "Why the tools need it, for the owner who decides.",
}


def _answer(request: RequestInfo) -> dict[str, Any]:
    item = request_json(request)
    if request.status is RequestStatus.APPROVED:
        item["next_step"] = f"Approved by {request.decided_by}; the server's tools may use it now."
    else:
        item["next_step"] = (
            f"It is pending; {approve_hint(request.ref)}. mcpbox_list_pending_requests shows it."
        )
    return item


@management_tool(
    name="mcpbox_request_module",
    title="Request a module",
    description="Ask the owner to let a server's tools import a module beyond the defaults. A "
    "standard-library module needs only its name; a third-party module also needs its PyPI package "
    "and one pinned version (installed as a wheel after a vulnerability check once approved). "
    "Modules that reach the host (os, subprocess, socket, ...) are never allowed.",
    properties={
        "server": SERVER_NAME,
        "module": {
            "type": "string",
            "minLength": 1,
            "maxLength": 320,
            "description": "The import name, e.g. 'yaml' or 'dateutil.parser'.",
        },
        "package": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "description": "PyPI package that provides it (third-party modules only), e.g. 'PyYAML'.",
        },
        "version": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "The exact package version to install, e.g. '6.0.2'.",
        },
        "justification": JUSTIFICATION,
    },
    required=["server", "module", "justification"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def request_module(ctx: ManagementContext, args: dict[str, Any]) -> object:
    request = await tool_requests.request_module(
        ctx.database,
        server=args["server"],
        module=args["module"],
        requested_by=ctx.caller.identity,
        hooks=ctx.hooks,
        package=args.get("package"),
        version=args.get("version"),
        justification=args["justification"],
    )
    return _answer(request)


@management_tool(
    name="mcpbox_request_network_access",
    title="Request network access",
    description="Ask the owner to let a server's tools call a host through `http`: a host name, "
    "name:port or IP address, without scheme or path (e.g. 'api.example.org'). Private and loopback "
    "addresses are reachable only when the owner approves that exact address.",
    properties={
        "server": SERVER_NAME,
        "host": {"type": "string", "minLength": 1, "maxLength": 300, "description": "Host, host:port or IP."},
        "justification": JUSTIFICATION,
    },
    required=["server", "host", "justification"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def request_network_access(ctx: ManagementContext, args: dict[str, Any]) -> object:
    request = await tool_requests.request_network_access(
        ctx.database,
        server=args["server"],
        host=args["host"],
        requested_by=ctx.caller.identity,
        hooks=ctx.hooks,
        justification=args["justification"],
    )
    return _answer(request)


def _pending_json(item: PendingItem, ctx: ManagementContext) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "kind": item.kind.value,
        "server": item.server,
        "subject": item.subject,
        "version": item.version,
        "package": item.package,
        "justification": item.justification,
        "requested_by": item.requested_by,
        "requested_by_you": item.requested_by == ctx.caller.identity,
        "requested_at": iso(item.requested_at),
    }


@management_tool(
    name="mcpbox_list_pending_requests",
    title="List pending requests",
    description="What waits for the owner's decision (paged, oldest first): tools pending review, module "
    "requests and network-host requests, each with the ref the owner approves (tool:N, module:N, "
    "host:N) and who asked. Nothing here is usable until the owner approves it.",
    properties={
        "server": SERVER_NAME,
        "kind": {
            "type": "string",
            "enum": [kind.value for kind in PendingKind],
            "description": "Only this kind.",
        },
        "page": PAGE,
        "page_size": PAGE_SIZE,
    },
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def list_pending_requests(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if "server" in args:
        await require_server(ctx.database, args["server"])
    size = ctx.page_size(args.get("page_size"))
    page = args["page"]
    items, total = await list_pending(
        ctx.database,
        kind=PendingKind(args["kind"]) if "kind" in args else None,
        server=args.get("server"),
        offset=(page - 1) * size,
        limit=size,
    )
    return {
        "pending": [_pending_json(item, ctx) for item in items],
        **page_fields(page, size, total),
        "next_step": "The owner decides these in the admin UI or with `mcpbox approvals approve <ref>`; "
        "mcpbox_get_tool_status shows a tool's decision and reason.",
    }


@management_tool(
    name="mcpbox_get_server_modules",
    title="Get a server's modules",
    description="The modules a server's tools may import: the defaults every server has, the approved "
    "extra modules (with their packages), and the module requests still pending, rejected or "
    "revoked (with the owner's reason).",
    properties={"server": SERVER_NAME},
    required=["server"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def get_server_modules(ctx: ManagementContext, args: dict[str, Any]) -> object:
    server = await require_server(ctx.database, args["server"])
    requests, total = await request_store.list_requests(
        ctx.database, RequestKind.MODULE, server=server.name, limit=REQUESTS_SCANNED
    )
    by_status: dict[RequestStatus, list[dict[str, Any]]] = {status: [] for status in RequestStatus}
    for request in requests:
        by_status[request.status].append(request_json(request))
    return {
        "server": server.name,
        "default_modules": sorted(DEFAULT_MODULES),
        "approved": by_status[RequestStatus.APPROVED],
        "pending": by_status[RequestStatus.PENDING],
        "rejected": by_status[RequestStatus.REJECTED],
        "revoked": by_status[RequestStatus.REVOKED],
        "requests_total": total,
    }


REQUEST_TOOLS: tuple[ManagementTool, ...] = (
    request_module,
    request_network_access,
    list_pending_requests,
    get_server_modules,
)
