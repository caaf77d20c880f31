"""Only approved, enabled tools of running servers are listed and callable, at the approved version."""

from __future__ import annotations

import pytest

from mcpbox.db import server_store
from mcpbox.db.engine import Database
from mcpbox.db.models import ServerStatus
from mcpbox.errors import NotFound
from mcpbox.tools import exposure, lifecycle
from tests.tools.harness import CODE, Recorded, new_tool, publish

pytestmark = pytest.mark.anyio


async def test_an_approved_tool_is_listed_and_resolved_to_its_approved_version(
    database: Database, recorded: Recorded
) -> None:
    await new_tool(database, recorded)
    tool = await publish(database, recorded)
    listed, total = await exposure.list_exposed_tools(database)
    assert total == 1
    assert listed[0].exposed_name == "home__weather"
    resolved = await exposure.get_exposed_tool(database, "home__weather")
    assert (resolved.code, resolved.content_hash, resolved.version) == (CODE, tool.current_hash, 1)
    assert resolved.input_schema["required"] == ["city"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("draft", "not published"),
        ("pending", "pending review; the owner must approve it"),
        ("disabled", "disabled"),
        ("stopped", "server 'home' is stopped"),
        ("updated", "not published"),
    ],
)
async def test_unexposed_tools_are_neither_listed_nor_callable(
    database: Database, recorded: Recorded, setup: str, message: str
) -> None:
    await new_tool(database, recorded)
    if setup == "pending":
        await lifecycle.request_publish(
            database, server="home", name="weather", requested_by="x", hooks=recorded.hooks
        )
    elif setup != "draft":
        await publish(database, recorded)
    if setup == "disabled":
        await lifecycle.set_tool_enabled(
            database, server="home", name="weather", enabled=False, changed_by="local", hooks=recorded.hooks
        )
    elif setup == "stopped":
        await server_store.set_server_status(
            database, "home", expected=ServerStatus.RUNNING, new=ServerStatus.STOPPED
        )
    elif setup == "updated":
        await lifecycle.update_tool(
            database,
            server="home",
            name="weather",
            description="Changed.",
            updated_by="x",
            hooks=recorded.hooks,
        )
    assert await exposure.list_exposed_tools(database) == ([], 0)
    with pytest.raises(NotFound, match=message):
        await exposure.get_exposed_tool(database, "home__weather")


async def test_re_enabling_exposes_the_tool_again(database: Database, recorded: Recorded) -> None:
    await new_tool(database, recorded)
    await publish(database, recorded)
    for enabled in (False, True):
        await lifecycle.set_tool_enabled(
            database, server="home", name="weather", enabled=enabled, changed_by="local", hooks=recorded.hooks
        )
    assert (await exposure.get_exposed_tool(database, "home__weather")).tool == "weather"
    assert recorded.names()[-2:] == ["tool.disabled", "tool.enabled"]


async def test_server_names_with_underscores_resolve_exactly(database: Database, recorded: Recorded) -> None:
    await server_store.create_server(database, name="my__lab_", created_by="local")
    await lifecycle.create_tool(
        database, server="my__lab_", name="ping", code=CODE, created_by="x", hooks=recorded.hooks
    )
    tool = await lifecycle.request_publish(
        database, server="my__lab_", name="ping", requested_by="x", hooks=recorded.hooks
    )
    from mcpbox.approvals import service

    await service.approve_tool(
        database, tool.id, content_hash=tool.current_hash, decided_by="o", hooks=recorded.hooks
    )
    assert exposure.split_exposed_name("my__lab___ping") == ("my__lab_", "ping")
    assert (await exposure.get_exposed_tool(database, "my__lab___ping")).server == "my__lab_"


@pytest.mark.parametrize("name", ["weather", "__weather", "home__", "nohome__weather", "home__nothing"])
async def test_unknown_names_are_not_found(database: Database, recorded: Recorded, name: str) -> None:
    await new_tool(database, recorded)
    await publish(database, recorded)
    with pytest.raises(NotFound):
        await exposure.get_exposed_tool(database, name)


async def test_listing_pages(database: Database, recorded: Recorded) -> None:
    for name in ("b_tool", "a_tool", "c_tool"):
        await new_tool(database, recorded, name=name)
        await publish(database, recorded, name=name)
    page, total = await exposure.list_exposed_tools(database, offset=1, limit=1)
    assert ([t.tool for t in page], total) == (["b_tool"], 3)


async def test_setting_the_state_a_tool_already_has_records_nothing(
    database: Database, recorded: Recorded
) -> None:
    await new_tool(database, recorded)
    await publish(database, recorded)
    before = (len(recorded.events), recorded.exposure_changes)
    tool = await lifecycle.set_tool_enabled(
        database, server="home", name="weather", enabled=True, changed_by="local", hooks=recorded.hooks
    )
    assert tool.enabled
    assert (len(recorded.events), recorded.exposure_changes) == before
