"""Management tools for server secrets: the LLM declares a placeholder, the owner sets the value.

The value never passes through an MCP client: an LLM must not learn or choose an API key. The
owner sets it in the admin UI or with ``mcpbox secrets set``; tools read it from ``secrets`` in
the sandbox for the duration of one call.
"""

from __future__ import annotations

from typing import Any

from mcpbox.activity.events import ActivityEvent
from mcpbox.db import secret_store, server_store
from mcpbox.management.context import ManagementContext
from mcpbox.management.registry import ManagementTool, management_tool
from mcpbox.management.servers import SERVER_NAME, iso

SECRET_KEY = {
    "type": "string",
    "pattern": r"^[A-Z][A-Z0-9_]*$",
    "maxLength": 64,
    "description": "Secret name in UPPER_SNAKE_CASE, e.g. WEATHER_API_KEY.",
}


@management_tool(
    name="mcpbox_create_server_secret",
    title="Declare a server secret",
    description="Declare a secret a server's tools need (e.g. an API key). This creates an empty "
    "placeholder: the owner sets its value in the admin UI or with `mcpbox secrets set`. Tools "
    "read it as secrets['KEY']. Values are never shown to MCP clients.",
    properties={
        "server": SERVER_NAME,
        "key": SECRET_KEY,
        "description": {"type": "string", "maxLength": 500, "default": "", "description": "What it is for."},
    },
    required=["server", "key"],
    read_only=False,
    destructive=False,
    idempotent=False,
)
async def create_server_secret(ctx: ManagementContext, args: dict[str, Any]) -> object:
    server = await server_store.get_server(ctx.database, args["server"])
    secret = await secret_store.create_secret_placeholder(
        ctx.database,
        server.name,
        key=args["key"],
        description=args["description"],
        created_by=ctx.caller.identity,
    )
    ctx.record(
        ActivityEvent(
            name="secret.declared", actor=ctx.caller.identity, server=server.name, detail={"key": secret.key}
        )
    )
    return {
        "server": server.name,
        "key": secret.key,
        "has_value": False,
        "next_step": "Ask the owner to set the value in the mcpbox admin UI or with "
        f"`mcpbox secrets set {server.name} {secret.key}`.",
    }


@management_tool(
    name="mcpbox_list_server_secrets",
    title="List server secrets",
    description="List the secrets declared for a server and whether each has a value. Values are "
    "never returned.",
    properties={"server": SERVER_NAME},
    required=["server"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def list_server_secrets(ctx: ManagementContext, args: dict[str, Any]) -> object:
    server = await server_store.get_server(ctx.database, args["server"])
    secrets = await secret_store.list_secrets(ctx.database, server.name)
    return {
        "server": server.name,
        "secrets": [
            {
                "key": item.key,
                "description": item.description,
                "has_value": item.has_value,
                "created_by": item.created_by,
                "updated_at": iso(item.updated_at),
            }
            for item in secrets
        ],
    }


SECRET_TOOLS: tuple[ManagementTool, ...] = (create_server_secret, list_server_secrets)
