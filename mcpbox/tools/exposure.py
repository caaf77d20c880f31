"""Which user tools MCP clients see and may call, by exposed name ``<server>__<tool>``.

One predicate (``mcpbox.db.exposure_store``) decides both listing and calling: approved, enabled,
server running, current version = approved version. The gateway must resolve a call through
``get_exposed_tool`` at call time and run exactly the returned version's code, so a tool that
was listed a moment ago but has since been updated, disabled, or had its server stopped is
refused even if the client still has it in its list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcpbox.db import exposure_store, server_store, tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import ServerStatus, ToolStatus
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.errors import NotCallable, NotFound

SEPARATOR = "__"


@dataclass(frozen=True, slots=True)
class ExposedTool:
    """A callable tool pinned to its approved version."""

    exposed_name: str
    server: str
    tool: str
    tool_id: int
    version: int
    version_id: int
    content_hash: str
    code: str
    description: str
    input_schema: dict[str, Any]
    modules: tuple[str, ...]
    hosts: tuple[str, ...]


def exposed_name(server: str, tool: str) -> str:
    return f"{server}{SEPARATOR}{tool}"


def split_exposed_name(name: str) -> tuple[str, str] | None:
    """``"home__weather"`` -> ``("home", "weather")``; None when it is not of that shape.

    Tool names never contain ``__`` (server names may), so the last separator splits them.
    """
    server, sep, tool = name.rpartition(SEPARATOR)
    if not sep or not server or not tool:
        return None
    return server, tool


async def list_exposed_tools(
    db: Database, *, offset: int = 0, limit: int = 100
) -> tuple[list[ExposedTool], int]:
    """One page of listed tools ordered by exposed name's parts, and the total."""
    rows, total = await exposure_store.list_exposed(db, offset=offset, limit=limit)
    return [_exposed(tool, version) for tool, version in rows], total


async def find_exposed_tool(db: Database, name: str) -> ExposedTool | None:
    parts = split_exposed_name(name)
    if parts is None:
        return None
    found = await exposure_store.find_exposed(db, *parts)
    return None if found is None else _exposed(*found)


async def get_exposed_tool(db: Database, name: str) -> ExposedTool:
    """The callable tool ``name``; ``NotFound`` says why it is not callable (for the LLM)."""
    found = await find_exposed_tool(db, name)
    if found is not None:
        return found
    reason, known = await _why_not(db, name)
    raise NotCallable(reason) if known else NotFound(reason)


async def _why_not(db: Database, name: str) -> tuple[str, bool]:
    """Why ``name`` is not callable, and whether it names a tool that exists."""
    parts = split_exposed_name(name)
    if parts is None:
        return f"unknown tool {name!r}", False
    server_name, tool_name = parts
    server = await server_store.find_server(db, server_name)
    tool = await tool_store.find_tool(db, server_name, tool_name) if server is not None else None
    if server is None or tool is None:
        return f"unknown tool {name!r}", False
    if tool.status is ToolStatus.PENDING_REVIEW:
        return f"tool {name!r} is pending review; the owner must approve it before it can be called", True
    if tool.status is not ToolStatus.APPROVED:
        return (
            f"tool {name!r} is not published ({tool.status.value}); request publishing and wait for approval",
            True,
        )
    if not tool.enabled:
        return f"tool {name!r} is disabled", True
    if server.status != ServerStatus.RUNNING.value:
        return f"server {server_name!r} is stopped; start it to call its tools", True
    return f"tool {name!r} is not published", True


def _exposed(tool: ToolInfo, version: VersionInfo) -> ExposedTool:
    return ExposedTool(
        exposed_name=exposed_name(tool.server, tool.name),
        server=tool.server,
        tool=tool.name,
        tool_id=tool.id,
        version=version.number,
        version_id=version.id,
        content_hash=version.content_hash,
        code=version.content.code,
        description=version.content.description,
        input_schema=version.content.input_schema,
        modules=version.content.modules,
        hosts=version.content.hosts,
    )
