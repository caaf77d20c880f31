"""Repository functions for ``tools`` and their immutable ``tool_versions``.

A version's content is written once and never updated. The tool row points at its current
version and carries that version's hash, so every state change is ONE conditional
``UPDATE tools ... WHERE id = :id AND status = :expected AND current_hash = :hash``: a writer
that read a stale state (someone updated, approved or rejected the tool meanwhile) changes no
row and gets ``Conflict`` saying what the tool looks like now, never a double transition. A new
version and the update that makes it current share one transaction, so a lost race leaves no
orphan version behind. The state machine itself (which status follows which) lives in
``mcpbox.tools.lifecycle`` and ``mcpbox.approvals``; this module only applies transitions.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mcpbox.db.engine import Database
from mcpbox.db.models import Server, Tool, ToolStatus, ToolVersion, utcnow
from mcpbox.db.tool_records import (
    Approval,
    ToolInfo,
    VersionContent,
    VersionInfo,
    info_from_row,
    tool_info,
    version_info,
    version_row,
)
from mcpbox.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "Approval",
    "ToolInfo",
    "VersionContent",
    "VersionInfo",
    "append_version",
    "delete_tool",
    "find_approved_version",
    "find_tool",
    "get_tool",
    "get_tool_by_id",
    "get_version",
    "insert_tool",
    "list_tools",
    "list_versions",
    "set_enabled",
    "tool_info",
    "transition",
    "version_info",
]


async def insert_tool(
    db: Database, *, server: str, name: str, content: VersionContent, content_hash: str, created_by: str
) -> tuple[ToolInfo, VersionInfo]:
    """A new draft tool with version 1; ``Conflict`` if the server already has ``name``."""
    now = utcnow()
    async with db.write() as session:
        server_id = await _server_id(session, server)
        tool = Tool(
            server_id=server_id,
            name=name,
            status=ToolStatus.DRAFT.value,
            current_version=1,
            current_hash=content_hash,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(tool)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"server {server!r} already has a tool named {name!r}") from exc
        assert tool.id is not None
        version = version_row(tool.id, 1, content, content_hash, "create", created_by, now)
        session.add(version)
        await session.flush()
    return info_from_row(tool, server), version_info(version)


async def append_version(
    db: Database,
    tool: ToolInfo,
    *,
    content: VersionContent,
    content_hash: str,
    new_status: ToolStatus,
    change_source: str,
    created_by: str,
    rolled_back_from: int | None = None,
    approval: Approval | None = None,
) -> tuple[ToolInfo, VersionInfo]:
    """Add the next version and make it current, if ``tool`` (as read) is still what is stored.

    ``approval`` (rollback to content approved before) also records the new version as approved.
    """
    now = utcnow()
    async with db.write() as session:
        number = (
            1
            + (
                await session.exec(
                    select(func.max(ToolVersion.number)).where(col(ToolVersion.tool_id) == tool.id)
                )
            ).one()
        )
        values: dict[str, Any] = {
            "current_version": number,
            "current_hash": content_hash,
            "status": new_status.value,
            "updated_at": now,
        }
        if approval is not None:
            values.update(approved_version=number, **_decision(approval.decided_by, approval.reason, now))
        await _conditional_update(session, tool, values)
        version = version_row(tool.id, number, content, content_hash, change_source, created_by, now)
        version.rolled_back_from = rolled_back_from
        if approval is not None:
            version.approved_by, version.approved_at = approval.decided_by, now
        session.add(version)
        await session.flush()
        updated = await _reload(session, tool)
    return updated, version_info(version)


async def transition(
    db: Database,
    tool_id: int,
    *,
    expected_status: ToolStatus,
    expected_hash: str,
    new_status: ToolStatus,
    decided_by: str | None = None,
    reason: str | None = None,
    approve: bool = False,
    review_requested_by: str | None = None,
) -> ToolInfo:
    """Move a tool between states in one conditional UPDATE on (id, status, current hash).

    ``approve`` also binds the approval to the current version (``approved_version`` and the
    version's ``approved_by``/``approved_at``); ``review_requested_by`` records who asked for
    review. ``NotFound`` if the tool is gone; ``Conflict`` when the stored state differs.
    """
    now = utcnow()
    async with db.write() as session:
        tool = await _tool_by_id(session, tool_id)
        expected = _replace_state(tool, expected_status, expected_hash)
        values: dict[str, Any] = {"status": new_status.value, "updated_at": now}
        if decided_by is not None:
            values.update(_decision(decided_by, reason, now))
        if approve:
            values["approved_version"] = tool.current_version
        if review_requested_by is not None:
            values.update(review_requested_by=review_requested_by, review_requested_at=now)
        await _conditional_update(session, expected, values)
        if approve:
            await session.exec(
                update(ToolVersion)
                .where(col(ToolVersion.tool_id) == tool_id, col(ToolVersion.content_hash) == expected_hash)
                .where(col(ToolVersion.number) == tool.current_version)
                .values(approved_by=decided_by, approved_at=now)
            )
        return await _reload(session, tool)


async def set_enabled(db: Database, tool_id: int, enabled: bool) -> ToolInfo:
    """Enable or disable a tool (does not touch its review state)."""
    async with db.write() as session:
        tool = await _tool_by_id(session, tool_id)
        await session.exec(
            update(Tool).where(col(Tool.id) == tool_id).values(enabled=enabled, updated_at=utcnow())
        )
        return await _reload(session, tool)


async def delete_tool(db: Database, tool_id: int) -> None:
    """Delete a tool and (ON DELETE CASCADE) its versions; ``NotFound`` if absent."""
    async with db.write() as session:
        result = await session.exec(delete(Tool).where(col(Tool.id) == tool_id))
        if result.rowcount == 0:
            raise NotFound(f"no tool with id {tool_id}")


async def find_tool(db: Database, server: str, name: str) -> ToolInfo | None:
    async with db.session() as session:
        row = (
            await session.exec(
                select(Tool, Server.name)
                .join(Server, col(Server.id) == col(Tool.server_id))
                .where(col(Server.name) == server, col(Tool.name) == name)
            )
        ).first()
    return None if row is None else info_from_row(row[0], row[1])


async def get_tool(db: Database, server: str, name: str) -> ToolInfo:
    """``NotFound`` names what to do next: list the server's tools."""
    tool = await find_tool(db, server, name)
    if tool is None:
        raise NotFound(f"server {server!r} has no tool named {name!r}; mcpbox_list_tools shows its tools")
    return tool


async def get_tool_by_id(db: Database, tool_id: int) -> ToolInfo:
    async with db.session() as session:
        return await _tool_by_id(session, tool_id)


async def list_tools(
    db: Database,
    *,
    server: str | None = None,
    status: ToolStatus | None = None,
    offset: int = 0,
    limit: int = 100,
    oldest_review_first: bool = False,
) -> tuple[list[ToolInfo], int]:
    """One page of tools ordered by (server, name), and the number of matches.

    ``oldest_review_first`` orders by when review was requested instead (the approval queue).
    """
    _check_page(offset, limit)
    conditions = []
    if server is not None:
        conditions.append(col(Server.name) == server)
    if status is not None:
        conditions.append(col(Tool.status) == status.value)
    base = select(Tool, Server.name).join(Server, col(Server.id) == col(Tool.server_id)).where(*conditions)
    async with db.session() as session:
        total = (
            await session.exec(
                select(func.count())
                .select_from(Tool)
                .join(Server, col(Server.id) == col(Tool.server_id))
                .where(*conditions)
            )
        ).one()
        order = (
            (col(Tool.review_requested_at), col(Tool.id))
            if oldest_review_first
            else (col(Server.name), col(Tool.name))
        )
        rows = await session.exec(base.order_by(*order).offset(offset).limit(limit))
        return [info_from_row(tool, name) for tool, name in rows.all()], int(total)


async def get_version(db: Database, tool_id: int, number: int) -> VersionInfo:
    async with db.session() as session:
        row = (
            await session.exec(
                select(ToolVersion).where(
                    col(ToolVersion.tool_id) == tool_id, col(ToolVersion.number) == number
                )
            )
        ).first()
    if row is None:
        raise NotFound(f"version {number} does not exist; mcpbox_list_tool_versions lists the versions")
    return version_info(row)


async def list_versions(
    db: Database, tool_id: int, *, offset: int = 0, limit: int = 100
) -> tuple[list[VersionInfo], int]:
    """One page of a tool's versions, newest first, and how many it has."""
    _check_page(offset, limit)
    where = col(ToolVersion.tool_id) == tool_id
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(ToolVersion).where(where))).one()
        rows = await session.exec(
            select(ToolVersion)
            .where(where)
            .order_by(col(ToolVersion.number).desc())
            .offset(offset)
            .limit(limit)
        )
        return [version_info(row) for row in rows.all()], int(total)


async def find_approved_version(db: Database, tool_id: int, content_hash: str) -> VersionInfo | None:
    """The newest version of this tool with this hash that was ever approved, or None."""
    async with db.session() as session:
        row = (
            await session.exec(
                select(ToolVersion)
                .where(
                    col(ToolVersion.tool_id) == tool_id,
                    col(ToolVersion.content_hash) == content_hash,
                    col(ToolVersion.approved_at).is_not(None),
                )
                .order_by(col(ToolVersion.number).desc())
            )
        ).first()
    return None if row is None else version_info(row)


async def _conditional_update(session: AsyncSession, tool: ToolInfo, values: dict[str, Any]) -> None:
    result = await session.exec(
        update(Tool)
        .where(
            col(Tool.id) == tool.id,
            col(Tool.status) == tool.status.value,
            col(Tool.current_hash) == tool.current_hash,
        )
        .values(**values)
    )
    if result.rowcount == 1:
        return
    now = (await session.exec(select(Tool).where(col(Tool.id) == tool.id))).first()
    if now is None:
        raise NotFound(f"tool {tool.label} no longer exists")
    if now.current_hash != tool.current_hash:
        raise Conflict(
            f"tool {tool.label} changed meanwhile: its current version is {now.current_version} "
            f"(hash {now.current_hash[:12]}), not hash {tool.current_hash[:12]}; reload it and "
            "review the current version"
        )
    raise Conflict(f"tool {tool.label} is {now.status}, not {tool.status.value}; reload it and retry")


def _replace_state(tool: ToolInfo, status: ToolStatus, content_hash: str) -> ToolInfo:
    return dataclasses.replace(tool, status=status, current_hash=content_hash)


def _decision(decided_by: str, reason: str | None, now: datetime) -> dict[str, Any]:
    return {"decided_by": decided_by, "decided_at": now, "decision_reason": reason}


async def _reload(session: AsyncSession, tool: ToolInfo) -> ToolInfo:
    row = (await session.exec(select(Tool).where(col(Tool.id) == tool.id))).one()
    await session.refresh(row)
    return info_from_row(row, tool.server)


async def _tool_by_id(session: AsyncSession, tool_id: int) -> ToolInfo:
    row = (
        await session.exec(
            select(Tool, Server.name)
            .join(Server, col(Server.id) == col(Tool.server_id))
            .where(col(Tool.id) == tool_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no tool with id {tool_id}")
    return info_from_row(row[0], row[1])


async def _server_id(session: AsyncSession, server: str) -> int:
    found = (await session.exec(select(Server.id).where(col(Server.name) == server))).first()
    if found is None:
        raise NotFound(f"no server named {server!r}; mcpbox_list_servers shows the servers")
    return found


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
