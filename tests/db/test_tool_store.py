"""tool_store: immutable versions, conditional transitions, paging."""

from __future__ import annotations

import dataclasses

import pytest

from mcpbox.db import tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import ToolStatus
from mcpbox.errors import Conflict, InvalidInput, NotFound
from mcpbox.tools.versions import build_content, content_hash
from tests.db.sql import run_sql
from tests.tools.harness import CODE, config, database

__all__ = ["config", "database"]  # the forge fixtures: they migrate to every head

pytestmark = pytest.mark.anyio


async def _insert(db: Database, name: str = "weather") -> tool_store.ToolInfo:
    content = build_content(CODE)
    tool, _ = await tool_store.insert_tool(
        db, server="home", name=name, content=content, content_hash=content_hash(content), created_by="x"
    )
    return tool


async def test_transitions_never_touch_version_content(database: Database) -> None:
    tool = await _insert(database)
    before = await tool_store.get_version(database, tool.id, 1)
    pending = await tool_store.transition(
        database,
        tool.id,
        expected_status=ToolStatus.DRAFT,
        expected_hash=tool.current_hash,
        new_status=ToolStatus.PENDING_REVIEW,
        review_requested_by="token:ci",
    )
    approved = await tool_store.transition(
        database,
        tool.id,
        expected_status=ToolStatus.PENDING_REVIEW,
        expected_hash=tool.current_hash,
        new_status=ToolStatus.APPROVED,
        decided_by="admin",
        approve=True,
    )
    after = await tool_store.get_version(database, tool.id, 1)
    assert (after.content, after.content_hash) == (before.content, before.content_hash)
    assert after.approved_by == "admin"
    assert pending.review_requested_by == "token:ci"
    assert approved.approved_version == 1


async def test_a_transition_from_the_wrong_state_changes_nothing(database: Database) -> None:
    tool = await _insert(database)
    with pytest.raises(Conflict, match="is draft, not pending_review"):
        await tool_store.transition(
            database,
            tool.id,
            expected_status=ToolStatus.PENDING_REVIEW,
            expected_hash=tool.current_hash,
            new_status=ToolStatus.APPROVED,
            approve=True,
        )
    assert await run_sql(database, "SELECT status, approved_version FROM tools") == [("draft", None)]
    assert await run_sql(database, "SELECT approved_at FROM tool_versions") == [(None,)]


async def test_a_lost_race_on_append_leaves_no_orphan_version(database: Database) -> None:
    tool = await _insert(database)
    stale = dataclasses.replace(tool, status=ToolStatus.APPROVED)
    content = build_content(CODE, description="Other.")
    with pytest.raises(Conflict):
        await tool_store.append_version(
            database,
            stale,
            content=content,
            content_hash=content_hash(content),
            new_status=ToolStatus.DRAFT,
            change_source="update",
            created_by="x",
        )
    assert await run_sql(database, "SELECT count(*) FROM tool_versions") == [(1,)]


async def test_listing_pages_and_filters(database: Database) -> None:
    for name in ("c", "a", "b"):
        await _insert(database, name)
    page, total = await tool_store.list_tools(database, server="home", offset=1, limit=1)
    assert ([t.name for t in page], total) == (["b"], 3)
    assert (await tool_store.list_tools(database, status=ToolStatus.APPROVED)) == ([], 0)
    with pytest.raises(InvalidInput):
        await tool_store.list_tools(database, offset=-1)


async def test_versions_list_newest_first(database: Database) -> None:
    tool = await _insert(database)
    content = build_content(CODE, description="Second.")
    await tool_store.append_version(
        database,
        tool,
        content=content,
        content_hash=content_hash(content),
        new_status=ToolStatus.DRAFT,
        change_source="update",
        created_by="y",
    )
    versions, total = await tool_store.list_versions(database, tool.id)
    assert ([v.number for v in versions], total) == ([2, 1], 2)
    assert versions[0].created_by == "y"


async def test_missing_things_are_not_found(database: Database) -> None:
    with pytest.raises(NotFound, match="mcpbox_list_tools"):
        await tool_store.get_tool(database, "home", "nothing")
    tool = await _insert(database)
    with pytest.raises(NotFound, match="version 9"):
        await tool_store.get_version(database, tool.id, 9)
    with pytest.raises(NotFound, match="no server"):
        await tool_store.insert_tool(
            database, server="nope", name="x", content=build_content(CODE), content_hash="h", created_by="x"
        )
