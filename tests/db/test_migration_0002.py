"""Migration 0002 (tool forge) upgrades, downgrades cleanly and upgrades again."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import mcpbox.db.models  # noqa: F401  (registers the tables)
from mcpbox.config import Config
from mcpbox.db import migrate, server_store
from mcpbox.db.engine import open_database
from tests.db.sql import run_sql

FORGE_TABLES = {"tools", "tool_versions", "module_requests", "host_requests", "execution_logs"}
INITIAL_TABLES = {"servers", "server_secrets", "settings", "activity", "setup_tokens"}


async def _tables(config: Config) -> set[str]:
    db = await open_database(config)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await db.close()


@pytest.mark.anyio
async def test_0002_up_down_up_keeps_the_initial_tables_and_their_rows(config: Config) -> None:
    await migrate.upgrade_async(config, "0002")
    assert FORGE_TABLES | INITIAL_TABLES <= await _tables(config)
    db = await open_database(config)
    try:
        await server_store.create_server(db, name="home", created_by="local")
        await run_sql(
            db,
            "INSERT INTO tools (server_id, name, status, enabled, current_version, current_hash, created_by, "
            "created_at, updated_at) VALUES (1, 't', 'draft', 1, 1, 'h', 'x', '2026-01-01', '2026-01-01')",
            write=True,
        )
    finally:
        await db.close()
    await migrate.downgrade_async(config, "0001")
    tables = await _tables(config)
    assert not FORGE_TABLES & tables
    assert INITIAL_TABLES <= tables
    await migrate.upgrade_async(config, "0002")
    assert FORGE_TABLES <= await _tables(config)
    db = await open_database(config)
    try:
        assert await run_sql(db, "SELECT name FROM servers") == [("home",)]
        assert await run_sql(db, "SELECT count(*) FROM tools") == [(0,)]
    finally:
        await db.close()


@pytest.mark.anyio
async def test_deleting_a_server_cascades_to_its_tools_and_requests(config: Config) -> None:
    await migrate.upgrade_async(config, "heads")
    db = await open_database(config)
    try:
        await server_store.create_server(db, name="home", created_by="local")
        await run_sql(
            db,
            "INSERT INTO host_requests (server_id, host, status, requested_by, created_at, updated_at) "
            "VALUES (1, 'a.org', 'pending', 'x', '2026-01-01', '2026-01-01')",
            write=True,
        )
        await server_store.delete_server(db, "home")
        assert await run_sql(db, "SELECT count(*) FROM host_requests") == [(0,)]
    finally:
        await db.close()


@pytest.mark.anyio
async def test_the_forge_tables_match_the_models(config: Config) -> None:
    await migrate.upgrade_async(config, "heads")
    db = await open_database(config)

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, SQLModel.metadata) if _table_of(d) in FORGE_TABLES]

    try:
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await db.close()
    assert differences == []


def _table_of(difference: Any) -> str | None:
    item = difference[0] if isinstance(difference, list) else difference
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if name is not None and hasattr(part, "columns"):
            return str(name)
        if isinstance(part, str):
            return part
    return None
