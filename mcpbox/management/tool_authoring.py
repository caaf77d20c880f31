"""Management tools with which an LLM writes tools: list, get, create, update, delete, versions.

They are thin: ``mcpbox.tools.lifecycle`` owns the state machine, the content hash and the
events; these tools check arguments at the edge, record the caller as the author, and answer
with the tool's state and what to do next. Update and delete replace or remove code the owner
may rely on, so they are declared destructive and the catalog refuses them to remote callers
unless ``remote_tool_editing`` is on; creating a draft touches nothing published.
"""

from __future__ import annotations

from typing import Any

from mcpbox.db import tool_store
from mcpbox.db.models import TOOL_NAME_PATTERN, ToolStatus
from mcpbox.errors import Conflict, InvalidInput
from mcpbox.management.code import CODE
from mcpbox.management.context import ManagementContext, page_fields
from mcpbox.management.registry import ManagementTool, management_tool
from mcpbox.management.servers import PAGE, PAGE_SIZE, SERVER_NAME
from mcpbox.management.tool_views import (
    approve_hint,
    capabilities,
    exposure_of,
    next_step_for,
    require_server,
    tool_json,
    version_json,
)
from mcpbox.tools import lifecycle
from mcpbox.tools.exposure import exposed_name
from mcpbox.tools.versions import DESCRIPTION_MAX, MAX_HOSTS, MAX_MODULES

TOOL_NAME = {
    "type": "string",
    "pattern": f"^{TOOL_NAME_PATTERN}$",
    "description": "Tool name: lowercase letter first, then lowercase letters, digits or single _ "
    "(max 64). Exposed to clients as <server>__<name>.",
}
DESCRIPTION = {
    "type": "string",
    "minLength": 1,
    "maxLength": DESCRIPTION_MAX,
    "description": "What the tool does, for the clients that will call it (default: the summary of "
    "main()'s docstring).",
}
MODULES = {
    "type": "array",
    "items": {"type": "string", "maxLength": 320},
    "maxItems": MAX_MODULES,
    "description": "Extra modules the code imports beyond the defaults (imports in the code are added "
    "automatically). Each needs an approved module request for the server.",
}
HOSTS = {
    "type": "array",
    "items": {"type": "string", "maxLength": 300},
    "maxItems": MAX_HOSTS,
    "description": "Hosts the code calls through `http`, e.g. 'api.example.org' or '192.168.1.10:8080'. "
    "Each needs an approved network request for the server.",
}
EXPECTED_HASH = {
    "type": "string",
    "pattern": "^[0-9a-f]{64}$",
    "description": "The current_hash you based this change on; refused if the tool changed meanwhile.",
}
STATUS_FILTER = {
    "type": "string",
    "enum": [status.value for status in ToolStatus],
    "description": "Only tools in this state.",
}


@management_tool(
    name="mcpbox_list_tools",
    title="List tools",
    description="List tools (paged), optionally of one server and in one state (draft, pending_review, "
    "approved, rejected), with whether each is exposed to clients.",
    properties={"server": SERVER_NAME, "status": STATUS_FILTER, "page": PAGE, "page_size": PAGE_SIZE},
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def list_tools(ctx: ManagementContext, args: dict[str, Any]) -> object:
    snapshot = await ctx.catalog.get()
    server = args.get("server")
    if server is not None and snapshot.find_server(server) is None:
        await require_server(ctx.database, server)
    size = ctx.page_size(args.get("page_size"))
    page = args["page"]
    status = ToolStatus(args["status"]) if "status" in args else None
    tools, total = await tool_store.list_tools(
        ctx.database, server=server, status=status, offset=(page - 1) * size, limit=size
    )
    return {
        "tools": [
            tool_json(tool, exposed=exposed_name(tool.server, tool.name) in snapshot.exposed)
            for tool in tools
        ],
        **page_fields(page, size, total),
    }


@management_tool(
    name="mcpbox_get_tool",
    title="Get a tool",
    description="Show a tool: its current version's code, description, input schema, declared modules "
    "and hosts (with whether the server has them approved), its state and approved version. Pass "
    "`version` to read an older version's code instead.",
    properties={
        "server": SERVER_NAME,
        "name": TOOL_NAME,
        "version": {"type": "integer", "minimum": 1, "description": "A version number (default: current)."},
    },
    required=["server", "name"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def get_tool(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool = await tool_store.get_tool(ctx.database, args["server"], args["name"])
    number = args.get("version", tool.current_version)
    version = await tool_store.get_version(ctx.database, tool.id, number)
    exposed, why_not = await exposure_of(ctx.database, tool)
    return {
        "tool": tool_json(tool, exposed=exposed),
        "version": version_json(version, with_code=True),
        "is_current": number == tool.current_version,
        "decision_reason": tool.decision_reason,
        "requests": await capabilities(
            ctx.database, tool.server, version.content.modules, version.content.hosts
        ),
        "next_step": next_step_for(tool, exposed=exposed, why_not=why_not),
    }


@management_tool(
    name="mcpbox_create_tool",
    title="Create a tool",
    description="Save Python tool code as a new tool of a server, in the 'draft' state (version 1). The "
    "input schema is derived from main()'s signature. Nothing is exposed yet: test it with "
    "mcpbox_test_code (tool=<name>), request the modules and hosts it needs, then call "
    "mcpbox_request_publish for the owner's review.",
    properties={
        "server": SERVER_NAME,
        "name": TOOL_NAME,
        "code": CODE,
        "description": DESCRIPTION,
        "modules": MODULES,
        "hosts": HOSTS,
    },
    required=["server", "name", "code"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def create_tool(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool, version = await lifecycle.create_tool(
        ctx.database,
        server=args["server"],
        name=args["name"],
        code=args["code"],
        created_by=ctx.caller.identity,
        hooks=ctx.hooks,
        description=args.get("description"),
        modules=args.get("modules", ()),
        hosts=args.get("hosts", ()),
        max_code_bytes=ctx.config.call_code_bytes,
    )
    return {
        "tool": tool_json(tool, exposed=False),
        "version": version_json(version, with_code=False),
        "requests": await capabilities(
            ctx.database, tool.server, version.content.modules, version.content.hosts
        ),
        "next_step": next_step_for(tool, exposed=False, why_not=None),
    }


@management_tool(
    name="mcpbox_update_tool",
    title="Update a tool",
    description="Change a tool's code, description, modules or hosts (omitted fields keep their value). "
    "This makes a new version; a published tool leaves every client's tool list until the owner "
    "approves the new version. Pass expected_hash to refuse the change if someone else changed it.",
    properties={
        "server": SERVER_NAME,
        "name": TOOL_NAME,
        "code": CODE,
        "description": DESCRIPTION,
        "modules": MODULES,
        "hosts": HOSTS,
        "expected_hash": EXPECTED_HASH,
    },
    required=["server", "name"],
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def update_tool(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if not any(field in args for field in ("code", "description", "modules", "hosts")):
        raise InvalidInput("nothing to change: pass at least one of code, description, modules or hosts")
    before = await tool_store.get_tool(ctx.database, args["server"], args["name"])
    tool, version = await lifecycle.update_tool(
        ctx.database,
        server=args["server"],
        name=args["name"],
        updated_by=ctx.caller.identity,
        hooks=ctx.hooks,
        code=args.get("code"),
        description=args.get("description"),
        modules=args.get("modules"),
        hosts=args.get("hosts"),
        expected_hash=args.get("expected_hash", before.current_hash),
        max_code_bytes=ctx.config.call_code_bytes,
    )
    if version is None:
        exposed, _ = await exposure_of(ctx.database, tool)
        return {
            "changed": False,
            "tool": tool_json(tool, exposed=exposed),
            "next_step": "The content is identical to the current version; nothing was changed.",
        }
    step = next_step_for(tool, exposed=False, why_not=None)
    if before.status is ToolStatus.APPROVED:
        step = (
            f"Version {version.number} replaces the published version {before.approved_version}, which "
            f"clients can no longer call until this one is approved. {step}"
        )
    return {
        "changed": True,
        "tool": tool_json(tool, exposed=False),
        "version": version_json(version, with_code=False),
        "requests": await capabilities(
            ctx.database, tool.server, version.content.modules, version.content.hosts
        ),
        "next_step": step,
    }


@management_tool(
    name="mcpbox_delete_tool",
    title="Delete a tool",
    description="Delete a tool with all its versions; a published tool disappears from every client. "
    "This cannot be undone; pass confirm=true to proceed.",
    properties={
        "server": SERVER_NAME,
        "name": TOOL_NAME,
        "confirm": {"type": "boolean", "description": "Must be true: deletion cannot be undone."},
    },
    required=["server", "name", "confirm"],
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def delete_tool(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if args["confirm"] is not True:
        raise Conflict("not deleted: pass confirm=true to delete the tool and all its versions")
    tool = await lifecycle.delete_tool(
        ctx.database,
        server=args["server"],
        name=args["name"],
        deleted_by=ctx.caller.identity,
        hooks=ctx.hooks,
    )
    return {"deleted": tool.label, "was_status": tool.status.value}


@management_tool(
    name="mcpbox_list_tool_versions",
    title="List tool versions",
    description="List a tool's versions, newest first (paged): hash, who made each and how (create, "
    "update, rollback), and which were approved. mcpbox_get_tool with `version` shows one's code.",
    properties={"server": SERVER_NAME, "name": TOOL_NAME, "page": PAGE, "page_size": PAGE_SIZE},
    required=["server", "name"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def list_tool_versions(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool = await tool_store.get_tool(ctx.database, args["server"], args["name"])
    size = ctx.page_size(args.get("page_size"))
    page = args["page"]
    versions, total = await tool_store.list_versions(
        ctx.database, tool.id, offset=(page - 1) * size, limit=size
    )
    items = []
    for version in versions:
        item = version_json(version, with_code=False)
        item["is_current"] = version.number == tool.current_version
        items.append(item)
    return {
        "server": tool.server,
        "name": tool.name,
        "current_version": tool.current_version,
        "approved_version": tool.approved_version,
        "versions": items,
        **page_fields(page, size, total),
    }


@management_tool(
    name="mcpbox_rollback_tool",
    title="Roll back a tool",
    description="Make a new version with the content of an older version. If that content was approved "
    "before, it is published again at once; otherwise it needs the owner's approval like any change, "
    "and a published tool leaves the clients' lists until then.",
    properties={
        "server": SERVER_NAME,
        "name": TOOL_NAME,
        "version": {"type": "integer", "minimum": 1, "description": "The version whose content to restore."},
        "expected_hash": EXPECTED_HASH,
    },
    required=["server", "name", "version"],
    read_only=False,
    destructive=True,
    idempotent=False,
)
async def rollback_tool(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool, version = await lifecycle.rollback_tool(
        ctx.database,
        server=args["server"],
        name=args["name"],
        to_version=args["version"],
        requested_by=ctx.caller.identity,
        hooks=ctx.hooks,
        expected_hash=args.get("expected_hash"),
    )
    exposed, why_not = await exposure_of(ctx.database, tool)
    return {
        "tool": tool_json(tool, exposed=exposed),
        "version": version_json(version, with_code=False),
        "approved_again": tool.status is ToolStatus.APPROVED,
        "next_step": next_step_for(tool, exposed=exposed, why_not=why_not),
    }


@management_tool(
    name="mcpbox_request_publish",
    title="Request publishing a tool",
    description="Send a tool's current version (draft or rejected) to the owner for review. Once "
    "approved it is exposed to every client as <server>__<tool>. The approval covers exactly this "
    "version: any later change needs a new approval.",
    properties={"server": SERVER_NAME, "name": TOOL_NAME, "expected_hash": EXPECTED_HASH},
    required=["server", "name"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def request_publish(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool = await lifecycle.request_publish(
        ctx.database,
        server=args["server"],
        name=args["name"],
        requested_by=ctx.caller.identity,
        hooks=ctx.hooks,
        expected_hash=args.get("expected_hash"),
    )
    version = await tool_store.get_version(ctx.database, tool.id, tool.current_version)
    needs = await capabilities(ctx.database, tool.server, version.content.modules, version.content.hosts)
    exposed, why_not = await exposure_of(ctx.database, tool)
    if tool.status is ToolStatus.PENDING_REVIEW:
        step = f"Version {tool.current_version} is pending review; {approve_hint(f'tool:{tool.id}')}."
    else:
        step = next_step_for(tool, exposed=exposed, why_not=why_not)
    if needs["missing"]:
        step += " It will fail when it reaches for what is not approved, so also: " + "; ".join(
            needs["missing"]
        )
    return {"tool": tool_json(tool, exposed=exposed), "requests": needs, "next_step": step}


TOOL_AUTHORING_TOOLS: tuple[ManagementTool, ...] = (
    list_tools,
    get_tool,
    create_tool,
    update_tool,
    delete_tool,
    list_tool_versions,
    rollback_tool,
    request_publish,
)
