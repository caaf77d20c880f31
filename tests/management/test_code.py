"""mcpbox_test_code with `tool`: a saved tool's current version (draft included) runs in the sandbox."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcpbox.db import execution_log_store
from tests.app_harness import running_app
from tests.management.harness import REMOTE, WEATHER_V2, call, error, pool_ready, server_with_tool

pytestmark = pytest.mark.anyio


async def test_a_saved_draft_runs_at_its_current_version_and_is_logged_as_that_tool(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await pool_ready(state)
        await server_with_tool(state)
        await call(state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2})
        report = await call(
            state,
            "mcpbox_test_code",
            {"server": "home", "tool": "weather", "arguments": {"city": "Lisbon"}},
            REMOTE,
        )
        assert report["ok"], report["error"]
        assert report["result"] == {"city": "Lisbon", "days": 3, "v": 2}
        assert (report["tool"], report["version"]) == ("weather", 2)
        with anyio.fail_after(10):  # the execution log is written in batches
            while not (
                logs := (await execution_log_store.list_execution_logs(state.database, server="home"))[0]
            ):
                await anyio.sleep(0.05)
        assert (logs[0].tool, logs[0].version, logs[0].kind) == ("weather", 2, "test")
        assert logs[0].content_hash == report["content_hash"]
        assert logs[0].requested_by == "token:laptop"
        via_tool = await call(state, "mcpbox_get_tool_logs", {"server": "home", "tool": "weather"})
        assert via_tool["logs"][0]["version"] == 2


async def test_code_and_tool_are_exclusive_and_a_tool_needs_its_server(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        both = await error(
            state, "mcpbox_test_code", {"code": "def main():\n    return 1\n", "tool": "weather"}
        )
        assert "either `code`" in both
        assert "either `code`" in await error(state, "mcpbox_test_code", {"arguments": {}})
        assert "needs `server`" in await error(state, "mcpbox_test_code", {"tool": "weather"})
        unknown = await error(state, "mcpbox_test_code", {"tool": "nothing", "server": "home"})
        assert "mcpbox_list_tools" in unknown


async def test_a_saved_tool_gets_the_argument_check_a_published_call_gets(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        text = await error(
            state, "mcpbox_test_code", {"tool": "weather", "server": "home", "arguments": {"days": "three"}}
        )
        assert "invalid arguments for weather (version 1)" in text
        assert "city" in text
