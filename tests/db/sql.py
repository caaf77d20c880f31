"""Raw SQL for tests that must look at (or tamper with) rows beneath the stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from mcpbox.db.engine import Database


async def run_sql(
    db: Database, statement: str, params: Mapping[str, Any] | None = None, *, write: bool = False
) -> list[tuple[Any, ...]]:
    """Run one statement; ``write=True`` goes through the serialised write path and commits."""
    context = db.write() if write else db.session()
    async with context as session:
        connection = await session.connection()
        result = await connection.execute(text(statement), dict(params or {}))
        return [tuple(row) for row in result.all()] if result.returns_rows else []
