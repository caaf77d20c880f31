"""Published tools through the catalog: listed and callable only while approved, exactly that version."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcpbox.approvals import service as approvals
from mcpbox.db import server_store
from mcpbox.errors import NotFound
from mcpbox.management.catalog import Caller
from mcpbox.state import AppState
from mcpbox.tools import lifecycle
from tests.app_harness import running_app

pytestmark = pytest.mark.anyio
OWNER = Caller("local")
ECHO_V1 = '''
def main(text: str) -> dict:
    """Echo text back."""
    return {"echo": text, "version": 1}
'''
ECHO_V2 = ECHO_V1.replace('"version": 1', '"version": 2')


async def publish(state: AppState, code: str = ECHO_V1) -> None:
    with anyio.fail_after(30):
        while state.pool.state.value != "running":
            await anyio.sleep(0.05)
    if await server_store.find_server(state.database, "lab") is None:
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, OWNER)
        await lifecycle.create_tool(
            state.database, server="lab", name="echo", code=code, created_by="local", hooks=state.hooks
        )
    tool = await lifecycle.request_publish(
        state.database, server="lab", name="echo", requested_by="local", hooks=state.hooks
    )
    await approvals.approve_tool(
        state.database, tool.id, content_hash=tool.current_hash, decided_by="owner", hooks=state.hooks
    )


async def listed(state: AppState) -> set[str]:
    return {tool.name for tool in await state.catalog.list_tools(OWNER)}


async def test_an_unapproved_tool_is_neither_listed_nor_callable(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, OWNER)
        await lifecycle.create_tool(
            state.database, server="lab", name="echo", code=ECHO_V1, created_by="local", hooks=state.hooks
        )
        assert "lab__echo" not in await listed(state)
        with pytest.raises(NotFound, match="not published"):
            await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        await lifecycle.request_publish(
            state.database, server="lab", name="echo", requested_by="local", hooks=state.hooks
        )
        with pytest.raises(NotFound, match="pending review"):
            await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)


async def test_an_approved_tool_is_listed_and_runs_its_approved_version(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state), state.bus.subscribe() as changes:
        await publish(state)
        with anyio.fail_after(5):
            await changes.receive()  # clients hear about it
        assert "lab__echo" in await listed(state)
        result = await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        assert not result.is_error
        assert result.structured == {"echo": "hi", "version": 1}


async def test_arguments_are_validated_before_the_sandbox_is_touched(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await publish(state)
        kills_before = state.pool.kills
        result = await state.catalog.call_tool("lab__echo", {"text": 5, "extra": 1}, OWNER)
        assert result.is_error
        assert "invalid arguments" in result.content[0]["text"]
        assert state.pool.kills == kills_before


async def test_an_update_withdraws_the_tool_until_the_new_version_is_approved(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await publish(state)
        await lifecycle.update_tool(
            state.database, server="lab", name="echo", updated_by="local", hooks=state.hooks, code=ECHO_V2
        )
        assert "lab__echo" not in await listed(state)
        with pytest.raises(NotFound):
            await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        await publish(state)
        result = await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        assert result.structured == {"echo": "hi", "version": 2}


async def test_stopping_the_server_withdraws_its_tools_at_once(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await publish(state)
        await state.catalog.call_tool("mcpbox_stop_server", {"name": "lab"}, OWNER)
        assert "lab__echo" not in await listed(state)
        with pytest.raises(NotFound, match="stopped"):
            await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)


async def test_approval_made_by_another_process_is_callable_without_waiting_for_the_poll(
    tmp_path: Path,
) -> None:
    from mcpbox.approvals.hooks import Hooks
    from mcpbox.config import Config
    from mcpbox.db.engine import open_database

    async with running_app(tmp_path) as (_, state):
        await publish(state)
        await lifecycle.update_tool(
            state.database, server="lab", name="echo", updated_by="local", hooks=state.hooks, code=ECHO_V2
        )
        assert "lab__echo" not in await listed(state)
        other = await open_database(Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)}))
        quiet = Hooks(record=lambda event: None, exposure_changed=lambda: None)
        try:
            tool = await lifecycle.request_publish(
                other, server="lab", name="echo", requested_by="cli", hooks=quiet
            )
            await approvals.approve_tool(
                other, tool.id, content_hash=tool.current_hash, decided_by="cli", hooks=quiet
            )
        finally:
            await other.close()
        result = await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        assert result.structured == {"echo": "hi", "version": 2}


async def test_a_withdrawn_version_keeps_no_warm_worker(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await publish(state)
        await state.catalog.call_tool("lab__echo", {"text": "hi"}, OWNER)
        assert any(info.version_key for info in state.pool.snapshot())
        await state.catalog.call_tool("mcpbox_stop_server", {"name": "lab"}, OWNER)
        await state.watcher.check()
        with anyio.fail_after(10):
            while any(info.version_key for info in state.pool.snapshot()):
                await anyio.sleep(0.05)
