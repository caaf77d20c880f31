"""Cheap fingerprints of what decides which tools exist and how their calls run.

Writers never have to remember to bump a counter: every write to these tables changes a row
count or sets ``updated_at`` to now, so ``(count, max(updated_at))`` per table changes with it.
The catalog watcher polls these to notice changes made by another process (``mcpbox approvals``
on the CLI) and to invalidate in-memory snapshots; one aggregate per table, the same query on
PostgreSQL.

Two fingerprints, because they call for different reactions: a change to *exposure* (servers,
tools) changes the tool list clients see; a change to a *call context* (secrets, module and host
approvals, policy settings) changes how calls run but not the list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from mcpbox.db.engine import Database
from mcpbox.db.models import HostRequest, ModuleRequest, Server, ServerSecret, SettingRow, Tool

Fingerprint = tuple[object, ...]

EXPOSURE_TABLES: tuple[Any, ...] = (Server, Tool)
CONTEXT_TABLES: tuple[Any, ...] = (ServerSecret, ModuleRequest, HostRequest, SettingRow)


async def _fingerprint(db: Database, tables: tuple[Any, ...]) -> Fingerprint:
    parts: list[object] = []
    async with db.session() as session:
        for table in tables:
            parts.extend((await session.exec(select(func.count(), func.max(table.updated_at)))).one())
    return tuple(parts)


async def exposure_fingerprint(db: Database) -> Fingerprint:
    return await _fingerprint(db, EXPOSURE_TABLES)


async def context_fingerprint(db: Database) -> Fingerprint:
    return await _fingerprint(db, CONTEXT_TABLES)
