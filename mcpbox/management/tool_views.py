"""How tools, versions and requests look to an LLM: JSON shapes and next-step hints.

Every tool-related management tool answers with the same shapes, so an LLM that learned one
answer can read the others. Answers carry a ``next_step`` in words: an LLM acts on what it is
told, and without it a draft tends to be left unpublished or a missing host never requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcpbox.db import request_store, server_store
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus, Server, ToolStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.errors import NotFound
from mcpbox.management.servers import iso
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.tools.exposure import exposed_name, get_exposed_tool

REQUESTS_SCANNED = 1000  # a server's module or host requests read to judge a tool's needs


def approve_hint(ref: str) -> str:
    return f"the owner must approve it in the admin UI or with `mcpbox approvals approve {ref}`"


async def require_server(db: Database, name: str) -> Server:
    """The server ``name``; ``NotFound`` tells the LLM how to find or make one."""
    server = await server_store.find_server(db, name)
    if server is None:
        raise NotFound(
            f"no server named {name!r}; mcpbox_list_servers shows the servers and "
            "mcpbox_create_server makes one"
        )
    return server


async def exposure_of(db: Database, tool: ToolInfo) -> tuple[bool, str | None]:
    """Whether clients can call the tool now and, if not, why (the gateway's own explanation).

    Read from the store, not the catalog snapshot: right after a change made by another process
    (an approval from the CLI) the snapshot may still be a poll interval old.
    """
    try:
        await get_exposed_tool(db, exposed_name(tool.server, tool.name))
    except NotFound as exc:
        return False, exc.public_message
    return True, None


def tool_json(tool: ToolInfo, *, exposed: bool) -> dict[str, Any]:
    return {
        "server": tool.server,
        "name": tool.name,
        "status": tool.status.value,
        "enabled": tool.enabled,
        "current_version": tool.current_version,
        "current_hash": tool.current_hash,
        "approved_version": tool.approved_version,
        "exposed": exposed,
        "exposed_name": exposed_name(tool.server, tool.name) if exposed else None,
        "ref": f"tool:{tool.id}",
        "created_by": tool.created_by,
        "created_at": iso(tool.created_at),
        "updated_at": iso(tool.updated_at),
    }


def version_json(version: VersionInfo, *, with_code: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "version": version.number,
        "content_hash": version.content_hash,
        "description": version.content.description,
        "input_schema": version.content.input_schema,
        "modules": list(version.content.modules),
        "hosts": list(version.content.hosts),
        "change_source": version.change_source,
        "rolled_back_from": version.rolled_back_from,
        "created_by": version.created_by,
        "created_at": iso(version.created_at),
        "approved_by": version.approved_by,
        "approved_at": iso(version.approved_at),
    }
    if with_code:
        item["code"] = version.content.code
    return item


def request_json(request: RequestInfo) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ref": request.ref,
        "kind": request.kind.value,
        "server": request.server,
        "subject": request.subject,
        "status": request.status.value,
        "justification": request.justification,
        "requested_by": request.requested_by,
        "requested_at": iso(request.created_at),
        "decided_by": request.decided_by,
        "decided_at": iso(request.decided_at),
        "reason": request.reason,
    }
    if request.kind is RequestKind.MODULE:
        item["package"] = request.package
        item["package_version"] = request.version
    return item


def is_default_module(module: str) -> bool:
    return module in DEFAULT_MODULES or module.split(".")[0] in DEFAULT_MODULES


async def latest_requests(db: Database, kind: RequestKind, server: str) -> dict[str, RequestInfo]:
    """The newest request per subject of ``server`` (oldest first in the store, so later wins)."""
    requests, _ = await request_store.list_requests(db, kind, server=server, limit=REQUESTS_SCANNED)
    return {request.subject: request for request in requests}


async def capabilities(
    db: Database, server: str, modules: Iterable[str], hosts: Iterable[str]
) -> dict[str, Any]:
    """What the tool declares and where each stands on its server, with what to do about the gaps.

    A tool whose host is not approved fails at call time even once published, so the LLM is
    told which requests are still missing before it asks for review.
    """
    module_requests = await latest_requests(db, RequestKind.MODULE, server)
    host_requests = await latest_requests(db, RequestKind.HOST, server)
    module_rows = [
        _capability(module, "default" if is_default_module(module) else None, module_requests.get(module))
        for module in modules
    ]
    host_rows = [_capability(host, None, host_requests.get(host)) for host in hosts]
    missing: list[str] = []
    for row in module_rows:
        if row["status"] in ("not_requested", "rejected", "revoked"):
            missing.append(f"request module {row['name']!r} with mcpbox_request_module")
    for row in host_rows:
        if row["status"] in ("not_requested", "rejected", "revoked"):
            missing.append(f"request host {row['name']!r} with mcpbox_request_network_access")
    return {"modules": module_rows, "hosts": host_rows, "missing": missing}


def _capability(name: str, fixed: str | None, request: RequestInfo | None) -> dict[str, Any]:
    if fixed is not None:
        return {"name": name, "status": fixed, "ref": None}
    if request is None:
        return {"name": name, "status": "not_requested", "ref": None}
    row: dict[str, Any] = {"name": name, "status": request.status.value, "ref": request.ref}
    if request.status in (RequestStatus.REJECTED, RequestStatus.REVOKED):
        row["reason"] = request.reason  # the owner's words: what to change before asking again
    return row


def next_step_for(tool: ToolInfo, *, exposed: bool, why_not: str | None) -> str:
    """One sentence on what the LLM (or the owner) does next for this tool."""
    ref = f"tool:{tool.id}"
    if tool.status is ToolStatus.DRAFT:
        return (
            f"Test it with mcpbox_test_code (tool={tool.name!r}, server={tool.server!r}), then call "
            "mcpbox_request_publish so the owner can review it."
        )
    if tool.status is ToolStatus.PENDING_REVIEW:
        return f"It is pending review; {approve_hint(ref)}."
    if tool.status is ToolStatus.REJECTED:
        return (
            "The owner rejected it (see decision_reason). Fix it with mcpbox_update_tool, then call "
            "mcpbox_request_publish again."
        )
    if exposed:
        return f"It is published: clients call it as {exposed_name(tool.server, tool.name)}."
    return f"It is approved but not callable: {why_not}."
