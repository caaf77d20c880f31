"""servers: names, duplicates, paging, deletion, conditional status changes."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from mcpbox.db import server_store
from mcpbox.db.engine import Database
from mcpbox.db.models import ServerStatus
from mcpbox.errors import Conflict, InvalidInput, NotFound

RUNNING, STOPPED = ServerStatus.RUNNING, ServerStatus.STOPPED


@pytest.mark.anyio
async def test_create_then_get_returns_the_server(database: Database) -> None:
    created = await server_store.create_server(database, name="home", created_by="local", description="d")
    got = await server_store.get_server(database, "home")
    assert got.id == created.id
    assert (got.name, got.description, got.status, got.created_by) == ("home", "d", "running", "local")
    assert got.created_at == got.updated_at
    assert got.created_at.tzinfo is UTC


@pytest.mark.anyio
async def test_duplicate_name_is_a_conflict(database: Database) -> None:
    await server_store.create_server(database, name="home", created_by="local")
    with pytest.raises(Conflict, match="already exists"):
        await server_store.create_server(database, name="home", created_by="someone")


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["", "Home", "1abc", "_x", "a-b", "a" * 33, "home\n", "hôme"])
async def test_invalid_names_are_refused(database: Database, name: str) -> None:
    with pytest.raises(InvalidInput):
        await server_store.create_server(database, name=name, created_by="local")


@pytest.mark.anyio
async def test_find_returns_none_and_get_raises_for_a_missing_server(database: Database) -> None:
    assert await server_store.find_server(database, "nope") is None
    with pytest.raises(NotFound):
        await server_store.get_server(database, "nope")


@pytest.mark.anyio
async def test_list_pages_by_name_with_a_total(database: Database) -> None:
    for name in ["c", "a", "d", "b", "e"]:
        await server_store.create_server(database, name=name, created_by="local")
    page, total = await server_store.list_servers(database, offset=1, limit=2)
    assert total == 5
    assert [s.name for s in page] == ["b", "c"]
    with pytest.raises(InvalidInput):
        await server_store.list_servers(database, offset=-1)


@pytest.mark.anyio
async def test_delete_removes_and_a_second_delete_is_not_found(database: Database) -> None:
    await server_store.create_server(database, name="home", created_by="local")
    await server_store.delete_server(database, "home")
    assert await server_store.find_server(database, "home") is None
    with pytest.raises(NotFound):
        await server_store.delete_server(database, "home")


@pytest.mark.anyio
async def test_status_changes_only_from_the_expected_status(database: Database) -> None:
    await server_store.create_server(database, name="home", created_by="local", status=STOPPED)
    updated = await server_store.set_server_status(database, "home", expected=STOPPED, new=RUNNING)
    assert updated.status == "running"
    assert updated.updated_at > updated.created_at
    assert (await server_store.get_server(database, "home")).status == "running"
    with pytest.raises(Conflict, match="is running, not stopped"):
        await server_store.set_server_status(database, "home", expected=STOPPED, new=RUNNING)
    with pytest.raises(NotFound):
        await server_store.set_server_status(database, "nope", expected=STOPPED, new=RUNNING)
    with pytest.raises(InvalidInput):
        await server_store.set_server_status(database, "home", expected="running", new="paused")
    stopped = await server_store.set_server_status(database, "home", expected="running", new="stopped")
    assert stopped.status == "stopped"


@pytest.mark.anyio
async def test_two_concurrent_starts_one_wins_one_conflicts(database: Database) -> None:
    await server_store.create_server(database, name="home", created_by="local", status=STOPPED)
    results = await asyncio.gather(
        server_store.set_server_status(database, "home", expected=STOPPED, new=RUNNING),
        server_store.set_server_status(database, "home", expected=STOPPED, new=RUNNING),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Server"]
