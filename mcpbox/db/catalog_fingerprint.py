"""A cheap fingerprint of everything that decides which tools exist and who may call them.

Writers never have to remember to bump a counter: every write to these tables changes a row
count or sets ``updated_at`` to now, so ``(count, max(updated_at))`` per table changes with it.
The catalog watcher polls this to notice changes made by another process (``mcpbox approvals``
on the CLI) and to invalidate in-memory snapshots; one indexed aggregate per table, on
PostgreSQL the same query.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from mcpbox.db.engine import Database
from mcpbox.db.models import HostRequest, ModuleRequest, Server, Tool

Fingerprint = tuple[object, ...]


WATCHED_TABLES = (Server, Tool, ModuleRequest, HostRequest)


async def catalog_fingerprint(db: Database) -> Fingerprint:
    parts: list[object] = []
    async with db.session() as session:
        for table in WATCHED_TABLES:
            row = (await session.exec(select(func.count(), func.max(table.updated_at)))).one()
            parts.extend(row)
    return tuple(parts)
