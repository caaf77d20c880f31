"""Management tools for servers: list, get, create, delete, start, stop.

A server groups tools and owns secrets and approved hosts. Names are short identifiers because
they become the ``<server>__<tool>`` prefix of every published tool's MCP name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcpbox.activity.events import ActivityEvent
from mcpbox.db import secret_store, server_store
from mcpbox.db.models import Server
from mcpbox.errors import Conflict, NotFound
from mcpbox.management.context import ManagementContext, page_fields
from mcpbox.management.registry import ManagementTool, management_tool

SERVER_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
SERVER_NAME = {
    "type": "string",
    "pattern": SERVER_NAME_PATTERN,
    "description": "Server name: lowercase letter first, then lowercase letters, digits or _ (max 32).",
}
PAGE = {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1, "description": "Page, from 1."}
PAGE_SIZE = {
    "type": "integer",
    "minimum": 1,
    "maximum": 1000,
    "description": "Items per page (capped by the server's page_size_max).",
}


def iso(timestamp: datetime | None) -> str | None:
    if timestamp is None:
        return None
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.isoformat().replace("+00:00", "Z")


def server_json(server: Server, *, secret_count: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": server.name,
        "description": server.description,
        "status": server.status,
        "created_by": server.created_by,
        "created_at": iso(server.created_at),
        "updated_at": iso(server.updated_at),
    }
    if secret_count is not None:
        item["secret_count"] = secret_count
    return item


@management_tool(
    name="mcpbox_list_servers",
    title="List servers",
    description="List the servers on this mcpbox (paged). A server groups tools and owns their "
    "secrets and approved network hosts.",
    properties={"page": PAGE, "page_size": PAGE_SIZE},
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def list_servers(ctx: ManagementContext, args: dict[str, Any]) -> object:
    size = ctx.page_size(args.get("page_size"))
    page = args["page"]
    servers = (await ctx.catalog.get()).servers
    total = len(servers)
    rows = servers[(page - 1) * size : page * size]
    return {
        "servers": [server_json(row) for row in rows],
        **page_fields(page, size, total),
    }


@management_tool(
    name="mcpbox_get_server",
    title="Get a server",
    description="Show one server: its status, description and how many secrets it has.",
    properties={"name": SERVER_NAME},
    required=["name"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def get_server(ctx: ManagementContext, args: dict[str, Any]) -> object:
    server = (await ctx.catalog.get()).find_server(args["name"])
    if server is None:
        raise NotFound(f"no server named {args['name']!r}")
    secrets = await secret_store.list_secrets(ctx.database, server.name)
    return server_json(server, secret_count=len(secrets))


@management_tool(
    name="mcpbox_create_server",
    title="Create a server",
    description="Create a server to hold tools. It starts in the 'running' state. Its tools are "
    "exposed as <server>__<tool> once the owner approves them.",
    properties={
        "name": SERVER_NAME,
        "description": {"type": "string", "maxLength": 2000, "default": "", "description": "What it is for."},
    },
    required=["name"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def create_server(ctx: ManagementContext, args: dict[str, Any]) -> object:
    server = await server_store.create_server(
        ctx.database, name=args["name"], description=args["description"], created_by=ctx.caller.identity
    )
    ctx.catalog_changed()
    ctx.record(ActivityEvent(name="server.created", actor=ctx.caller.identity, server=server.name))
    return server_json(server, secret_count=0)


@management_tool(
    name="mcpbox_delete_server",
    title="Delete a server",
    description="Delete a server with its secrets and tools. This cannot be undone; pass "
    "confirm=true to proceed.",
    properties={
        "name": SERVER_NAME,
        "confirm": {"type": "boolean", "description": "Must be true: deletion cannot be undone."},
    },
    required=["name", "confirm"],
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def delete_server(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if args["confirm"] is not True:
        raise Conflict("not deleted: pass confirm=true to delete the server and everything in it")
    await server_store.delete_server(ctx.database, args["name"])
    ctx.catalog_changed()
    ctx.record(ActivityEvent(name="server.deleted", actor=ctx.caller.identity, server=args["name"]))
    return {"deleted": args["name"]}


async def _transition(ctx: ManagementContext, name: str, expected: str, new: str, event: str) -> object:
    server = await server_store.get_server(ctx.database, name)
    if server.status == new:
        return server_json(server)  # already there: idempotent, no event
    updated = await server_store.set_server_status(ctx.database, name, expected=expected, new=new)
    ctx.catalog_changed()
    ctx.record(ActivityEvent(name=event, actor=ctx.caller.identity, server=name))
    return server_json(updated)


@management_tool(
    name="mcpbox_start_server",
    title="Start a server",
    description="Start a stopped server: its approved tools become listed and callable again.",
    properties={"name": SERVER_NAME},
    required=["name"],
    read_only=False,
    destructive=False,
    idempotent=True,
)
async def start_server(ctx: ManagementContext, args: dict[str, Any]) -> object:
    return await _transition(ctx, args["name"], "stopped", "running", "server.started")


@management_tool(
    name="mcpbox_stop_server",
    title="Stop a server",
    description="Stop a server: its tools disappear from every client's tool list and cannot be "
    "called until it is started again. Nothing is deleted.",
    properties={"name": SERVER_NAME},
    required=["name"],
    read_only=False,
    destructive=False,
    idempotent=True,
)
async def stop_server(ctx: ManagementContext, args: dict[str, Any]) -> object:
    return await _transition(ctx, args["name"], "running", "stopped", "server.stopped")


SERVER_TOOLS: tuple[ManagementTool, ...] = (
    list_servers,
    get_server,
    create_server,
    delete_server,
    start_server,
    stop_server,
)
