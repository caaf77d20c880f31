"""The tool state machine: versions are immutable, changes reset review, rollback, auto-approve."""

from __future__ import annotations

import pytest

from mcpbox.approvals import service
from mcpbox.db import setting_store, tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import ToolStatus
from mcpbox.errors import Conflict, InvalidInput
from mcpbox.tools import exposure, lifecycle
from tests.db.sql import run_sql
from tests.tools.harness import CODE, Recorded, new_tool, publish

pytestmark = pytest.mark.anyio
CODE_V2 = CODE.replace('"days": days}', '"days": days, "v": 2}')


async def test_create_records_the_requester_and_starts_in_draft(
    database: Database, recorded: Recorded
) -> None:
    tool, version = await new_tool(database, recorded)
    assert tool.status is ToolStatus.DRAFT
    assert (tool.created_by, version.created_by, version.number, version.change_source) == (
        "token:ci",
        "token:ci",
        1,
        "create",
    )
    assert recorded.names() == ["tool.created"]


async def test_names_with_double_underscore_are_refused(database: Database, recorded: Recorded) -> None:
    with pytest.raises(InvalidInput, match="single '_'"):
        await new_tool(database, recorded, name="a__b")


async def test_duplicate_names_conflict(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    with pytest.raises(Conflict, match="already has a tool"):
        await new_tool(database, recorded)


async def test_update_creates_a_new_version_and_keeps_the_old_one_unchanged(
    database: Database, recorded: Recorded
) -> None:
    tool, first = await new_tool(database, recorded)
    updated, second = await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=recorded.hooks
    )
    assert second is not None
    assert (second.number, updated.current_version) == (2, 2)
    assert second.content_hash != first.content_hash
    assert await tool_store.get_version(database, tool.id, 1) == first


async def test_an_update_without_changes_makes_no_version(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    tool, version = await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE, updated_by="token:ci", hooks=recorded.hooks
    )
    assert version is None
    assert tool.current_version == 1


async def test_publish_resets_when_code_changes(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    await publish(database, recorded)
    assert await exposure.find_exposed_tool(database, "home__weather") is not None
    before = recorded.exposure_changes
    tool, _ = await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=recorded.hooks
    )
    assert tool.status is ToolStatus.DRAFT
    assert recorded.exposure_changes == before + 1
    assert await exposure.find_exposed_tool(database, "home__weather") is None


async def test_an_update_while_pending_stays_pending_with_the_new_hash(
    database: Database, recorded: Recorded
) -> None:
    await new_tool(database, recorded)
    pending = await lifecycle.request_publish(
        database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
    )
    tool, _ = await lifecycle.update_tool(
        database,
        server="home",
        name="weather",
        description="New words.",
        updated_by="token:ci",
        hooks=recorded.hooks,
    )
    assert tool.status is ToolStatus.PENDING_REVIEW
    with pytest.raises(Conflict, match="changed meanwhile"):
        await service.approve_tool(
            database,
            tool.id,
            content_hash=pending.current_hash,
            decided_by="admin:owner",
            hooks=recorded.hooks,
        )


async def test_a_stale_expected_hash_is_a_conflict(database: Database, recorded: Recorded) -> None:
    _, first = await new_tool(database, recorded)
    await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=recorded.hooks
    )
    with pytest.raises(Conflict, match="changed"):
        await lifecycle.update_tool(
            database,
            server="home",
            name="weather",
            description="x",
            updated_by="token:ci",
            hooks=recorded.hooks,
            expected_hash=first.content_hash,
        )


async def test_request_publish_twice_tells_the_llm_to_wait(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    await lifecycle.request_publish(
        database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
    )
    with pytest.raises(Conflict, match="the owner must approve"):
        await lifecycle.request_publish(
            database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
        )
    assert "tool.publish_requested" in recorded.names()


async def test_auto_approve_mode_publishes_on_request(database: Database, recorded: Recorded) -> None:
    await setting_store.set_setting(database, "tool_approval_mode", "auto_approve")
    await new_tool(database, recorded)
    tool = await lifecycle.request_publish(
        database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
    )
    assert tool.status is ToolStatus.APPROVED
    assert tool.decided_by == "policy:auto_approve"
    assert recorded.names()[-3:] == ["tool.publish_requested", "approval.decided", "tool.published"]
    assert await exposure.find_exposed_tool(database, "home__weather") is not None


async def test_require_approval_mode_leaves_the_tool_pending(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    tool = await lifecycle.request_publish(
        database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
    )
    assert tool.status is ToolStatus.PENDING_REVIEW
    assert await exposure.find_exposed_tool(database, "home__weather") is None


async def test_rollback_to_approved_content_is_approved_again_and_recorded(
    database: Database, recorded: Recorded
) -> None:
    _, first = await new_tool(database, recorded)
    await publish(database, recorded)
    await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=recorded.hooks
    )
    rolled, version = await lifecycle.rollback_tool(
        database, server="home", name="weather", to_version=1, requested_by="token:ci", hooks=recorded.hooks
    )
    assert (version.number, version.change_source, version.rolled_back_from) == (3, "rollback", 1)
    assert version.content_hash == first.content_hash
    assert rolled.status is ToolStatus.APPROVED
    assert rolled.approved_version == 3
    assert rolled.decided_by == lifecycle.ROLLBACK_APPROVER
    assert recorded.names()[-3:] == ["tool.rolled_back", "approval.decided", "tool.published"]
    exposed = await exposure.get_exposed_tool(database, "home__weather")
    assert (exposed.version, exposed.code) == (3, CODE)


async def test_rollback_to_never_approved_content_needs_review(
    database: Database, recorded: Recorded
) -> None:
    await new_tool(database, recorded)
    await lifecycle.update_tool(
        database, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=recorded.hooks
    )
    await publish(database, recorded)
    rolled, version = await lifecycle.rollback_tool(
        database, server="home", name="weather", to_version=1, requested_by="token:ci", hooks=recorded.hooks
    )
    assert rolled.status is ToolStatus.DRAFT
    assert version.approved_at is None
    assert await exposure.find_exposed_tool(database, "home__weather") is None


async def test_rollback_to_the_current_content_is_a_conflict(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    with pytest.raises(Conflict, match="same content"):
        await lifecycle.rollback_tool(
            database,
            server="home",
            name="weather",
            to_version=1,
            requested_by="token:ci",
            hooks=recorded.hooks,
        )


async def test_delete_removes_the_tool_and_its_versions(database: Database, recorded: Recorded) -> None:
    tool, _ = await new_tool(database, recorded)
    await publish(database, recorded)
    await lifecycle.delete_tool(
        database, server="home", name="weather", deleted_by="local", hooks=recorded.hooks
    )
    assert await tool_store.find_tool(database, "home", "weather") is None
    assert await run_sql(
        database, "SELECT count(*) FROM tool_versions WHERE tool_id = :id", {"id": tool.id}
    ) == [(0,)]
    assert recorded.names()[-1] == "tool.deleted"
