"""Migration 0003: creates the admin tables, matches the models, downgrades cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from mcpbox.auth.models import Admin, AdminSession, LoginAttempt
from mcpbox.config import Config
from mcpbox.db import migrate
from mcpbox.db.engine import open_database

pytestmark = pytest.mark.anyio
AUTH_TABLES = {"admins", "admin_sessions", "login_attempts"}
REVISION = "0003"


async def _tables(config: Config) -> set[str]:
    db = await open_database(config)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await db.close()


async def test_upgrade_creates_and_downgrade_drops_the_admin_tables(config: Config) -> None:
    await migrate.upgrade_async(config, REVISION)
    assert AUTH_TABLES <= await _tables(config)
    down = migrate.revisions()[migrate.revisions().index(REVISION) - 1]
    await migrate.downgrade_async(config, down)
    assert not AUTH_TABLES & await _tables(config)
    await migrate.upgrade_async(config)
    assert AUTH_TABLES <= await _tables(config)


async def test_the_migrated_admin_tables_match_the_models(config: Config) -> None:
    await migrate.upgrade_async(config)
    metadata = MetaData()
    for model in (Admin, AdminSession, LoginAttempt):
        SQLModel.metadata.tables[str(model.__tablename__)].to_metadata(metadata)

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in AUTH_TABLES,
            },
        )
        return list(compare_metadata(context, metadata))

    db = await open_database(config)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.close()
