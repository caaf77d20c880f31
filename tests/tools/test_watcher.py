"""The catalog watcher: one list_changed per real change, including changes made by another process."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcpbox.config import Config
from mcpbox.db import server_store
from mcpbox.db.engine import open_database
from mcpbox.management.catalog import Caller
from tests.app_harness import running_app

pytestmark = pytest.mark.anyio


async def test_a_change_written_by_another_connection_reaches_subscribers(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state), state.bus.subscribe() as changes:
        other = await open_database(Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)}))
        try:
            await server_store.create_server(other, name="from_cli", created_by="cli")
        finally:
            await other.close()
        with anyio.fail_after(5):
            await changes.receive()
        snapshot = await state.catalog_cache.get()
        assert snapshot.find_server("from_cli") is not None


async def test_a_local_change_is_visible_at_once_and_published_once(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state), state.bus.subscribe() as changes:
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        assert (await state.catalog_cache.get()).find_server("lab") is not None
        with anyio.fail_after(5):
            await changes.receive()
        with anyio.move_on_after(1.5):  # longer than one poll: no second notification
            await changes.receive()
            pytest.fail("a single change was published twice")


async def test_nothing_is_published_when_nothing_changed(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state), state.bus.subscribe() as changes:
        await state.watcher.check()
        with anyio.move_on_after(1.5):
            await changes.receive()
            pytest.fail("published without a change")
