"""Alembic migrations: upgrade to head, every step down and up again, schema equals models."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import mcpbox.auth.models
import mcpbox.db.models  # noqa: F401  (registers the tables)
from mcpbox.config import Config
from mcpbox.db import migrate
from mcpbox.db.engine import open_database
from mcpbox.errors import MigrationError
from tests.db.sql import run_sql

TABLES = {
    "servers",
    "server_secrets",
    "settings",
    "activity",
    "setup_tokens",
    "tools",
    "tool_versions",
    "module_requests",
    "host_requests",
    "execution_logs",
    "admins",
    "admin_sessions",
    "login_attempts",
}


async def _tables(config: Config) -> set[str]:
    db = await open_database(config)
    try:
        async with db.engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await db.close()
    return names - {"alembic_version"}


@pytest.mark.anyio
async def test_a_fresh_database_upgrades_to_head(config: Config) -> None:
    assert await migrate.current_async(config) is None
    await migrate.upgrade_async(config)
    assert await migrate.current_async(config) == migrate.head()
    assert await _tables(config) == TABLES


@pytest.mark.anyio
async def test_upgrade_is_idempotent(config: Config) -> None:
    await migrate.upgrade_async(config)
    await migrate.upgrade_async(config)
    assert await migrate.current_async(config) == migrate.head()


@pytest.mark.anyio
async def test_every_migration_downgrades_and_upgrades_again(config: Config) -> None:
    revisions = migrate.revisions()
    assert revisions[-1] == migrate.head()
    await migrate.upgrade_async(config)
    # Walk down one step at a time to base, then up one step at a time to head.
    for target in [*reversed(revisions[:-1]), "base"]:
        await migrate.downgrade_async(config, "-1")
        assert await migrate.current_async(config) == (None if target == "base" else target)
    assert await _tables(config) == set()
    for target in revisions:
        await migrate.upgrade_async(config, "+1")
        assert await migrate.current_async(config) == target
    assert await _tables(config) == TABLES


@pytest.mark.anyio
async def test_migrated_schema_matches_the_models(config: Config) -> None:
    await migrate.upgrade_async(config)
    db = await open_database(config)

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    try:
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await db.close()
    assert differences == []


@pytest.mark.anyio
async def test_a_bad_revision_is_a_migration_error(config: Config) -> None:
    with pytest.raises(MigrationError):
        await migrate.upgrade_async(config, "no_such_revision")


def test_migrations_are_found_beside_the_package() -> None:
    assert (migrate.migrations_dir() / "versions" / "0001_initial.py").is_file()
    assert (
        migrate.head()
        == sorted(p.name for p in (migrate.migrations_dir() / "versions").glob("0*.py"))[-1][:4]
    )


@pytest.mark.anyio
async def test_blocking_forms_run_in_a_worker_thread(config: Config) -> None:
    assert await anyio.to_thread.run_sync(migrate.upgrade_if_needed, config) is None
    assert await anyio.to_thread.run_sync(migrate.upgrade_if_needed, config) == migrate.head()
    assert await anyio.to_thread.run_sync(migrate.current, config) == migrate.head()
    await anyio.to_thread.run_sync(migrate.downgrade, config, "base")
    assert await migrate.current_async(config) is None


@pytest.mark.anyio
async def test_a_blocking_form_on_the_event_loop_is_refused(config: Config) -> None:
    with pytest.raises(RuntimeError, match="_async variant"):
        migrate.current(config)


@pytest.mark.anyio
async def test_a_database_from_a_newer_mcpbox_is_refused(config: Config) -> None:
    await migrate.upgrade_async(config)
    db = await open_database(config)
    try:
        await run_sql(db, "UPDATE alembic_version SET version_num = '9999'", write=True)
    finally:
        await db.close()
    with pytest.raises(MigrationError, match="does not know"):
        await migrate.upgrade_if_needed_async(config)


def test_the_alembic_free_head_check_agrees_with_alembic() -> None:
    from mcpbox.db.schema_version import shipped_head

    assert shipped_head() == migrate.head()


@pytest.mark.anyio
async def test_ensure_current_migrates_a_fresh_database_and_then_needs_no_alembic(config: Config) -> None:
    from mcpbox.db.schema_version import ensure_current, stored_revision

    assert await stored_revision(config) is None
    await ensure_current(config)
    assert await stored_revision(config) == migrate.head()
    await ensure_current(config)  # at head: nothing to do
    assert await migrate.current_async(config) == migrate.head()
