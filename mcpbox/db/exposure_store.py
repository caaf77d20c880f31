"""The one query that decides which user tools exist for MCP clients.

A tool is exposed only when it is approved, enabled, its server is running, and the version
its row calls current is the approved version with the approved hash. The gateway runs the
same predicate at list time and at call time, and a call gets the code of exactly that
version row, so a tool updated after approval (back in draft) is neither listed nor callable.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlmodel import col, select

from mcpbox.db.engine import Database
from mcpbox.db.models import Server, ServerStatus, Tool, ToolStatus, ToolVersion
from mcpbox.db.tool_store import ToolInfo, VersionInfo, tool_info, version_info
from mcpbox.errors import InvalidInput


def _exposed() -> list[ColumnElement[bool]]:
    return [
        col(Tool.status) == ToolStatus.APPROVED.value,
        col(Tool.enabled).is_(True),
        col(Server.status) == ServerStatus.RUNNING.value,
        col(Tool.approved_version) == col(Tool.current_version),
        col(ToolVersion.approved_at).is_not(None),
    ]


def _joined(*columns: Any) -> Any:
    return (
        select(*columns)
        .join(Server, col(Server.id) == col(Tool.server_id))
        .join(
            ToolVersion,
            and_(
                col(ToolVersion.tool_id) == col(Tool.id),
                col(ToolVersion.number) == col(Tool.current_version),
                col(ToolVersion.content_hash) == col(Tool.current_hash),
            ),
        )
    )


async def list_exposed(
    db: Database, *, offset: int = 0, limit: int = 100
) -> tuple[list[tuple[ToolInfo, VersionInfo]], int]:
    """One page of exposed tools ordered by (server, tool), and how many there are."""
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    async with db.session() as session:
        total = (await session.exec(_joined(func.count()).select_from(Tool).where(*_exposed()))).one()
        rows = await session.exec(
            _joined(Tool, Server.name, ToolVersion)
            .where(*_exposed())
            .order_by(col(Server.name), col(Tool.name))
            .offset(offset)
            .limit(limit)
        )
        return [(tool_info((tool, name)), version_info(version)) for tool, name, version in rows.all()], int(
            total
        )


async def find_exposed(db: Database, server: str, name: str) -> tuple[ToolInfo, VersionInfo] | None:
    """The exposed tool ``server``/``name`` with its approved version, or None."""
    async with db.session() as session:
        row = (
            await session.exec(
                _joined(Tool, Server.name, ToolVersion).where(
                    *_exposed(), col(Server.name) == server, col(Tool.name) == name
                )
            )
        ).first()
    if row is None:
        return None
    return tool_info((row[0], row[1])), version_info(row[2])
