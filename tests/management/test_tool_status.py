"""mcpbox_get_tool_status and mcpbox_get_tool_logs: what the LLM learns after the owner acts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mcpbox.approvals import service
from mcpbox.db import execution_log_store
from mcpbox.db.execution_log_store import NewExecutionLog
from mcpbox.db.models import utcnow
from tests.app_harness import running_app
from tests.management.harness import call, error, publish, server_with_tool

pytestmark = pytest.mark.anyio


async def test_the_owners_rejection_reason_reaches_the_llm(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        pending = await call(state, "mcpbox_request_publish", {"server": "home", "name": "weather"})
        waiting = await call(state, "mcpbox_get_tool_status", {"server": "home", "name": "weather"})
        assert waiting["status"] == "pending_review"
        assert waiting["exposed"] is False
        assert "pending review" in waiting["not_exposed_because"]
        assert "mcpbox approvals approve tool:1" in waiting["next_step"]

        await service.reject_tool(
            state.database,
            1,
            content_hash=pending["tool"]["current_hash"],
            decided_by="admin:owner",
            reason="Cache the forecast: do not call the API more than once a minute.",
            hooks=state.hooks,
        )
        status = await call(state, "mcpbox_get_tool_status", {"server": "home", "name": "weather"})
        assert status["status"] == "rejected"
        assert status["decided_by"] == "admin:owner"
        assert (
            status["rejection_reason"] == "Cache the forecast: do not call the API more than once a minute."
        )
        assert "mcpbox_update_tool" in status["next_step"]
        assert status["review_requested_by"] == "local"


async def test_a_published_tool_names_its_exposed_name_and_a_stopped_server_says_why_not(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await publish(state)
        status = await call(state, "mcpbox_get_tool_status", {"server": "home", "name": "weather"})
        assert (status["status"], status["approved_version"]) == ("approved", 1)
        assert (status["exposed"], status["exposed_name"]) == (True, "home__weather")
        assert status["not_exposed_because"] is None
        assert status["rejection_reason"] is None

        await call(state, "mcpbox_stop_server", {"name": "home"})
        stopped = await call(state, "mcpbox_get_tool_status", {"server": "home", "name": "weather"})
        assert stopped["exposed"] is False
        assert stopped["server_status"] == "stopped"
        assert "stopped; start it" in stopped["not_exposed_because"]
        assert "not callable" in stopped["next_step"]


async def test_status_lists_the_hosts_a_tool_still_needs(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state, hosts=["api.example.org", "other.example.org"])
        await call(
            state,
            "mcpbox_request_network_access",
            {"server": "home", "host": "api.example.org", "justification": "forecasts"},
        )
        status = await call(state, "mcpbox_get_tool_status", {"server": "home", "name": "weather"})
        assert status["requests"]["hosts"] == [
            {"name": "api.example.org", "status": "pending", "ref": "host:1"},
            {"name": "other.example.org", "status": "not_requested", "ref": None},
        ]
        assert len(status["requests"]["missing"]) == 1
        assert "mcpbox_list_tools" in await error(
            state, "mcpbox_get_tool_status", {"server": "home", "name": "x"}
        )


async def test_logs_are_newest_first_filtered_and_paged(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_PAGE_SIZE_MAX": "2"}) as (_, state):
        await server_with_tool(state)
        start = utcnow() - timedelta(minutes=10)
        for index, (tool, kind) in enumerate(
            [("weather", "test"), ("weather", "call"), ("other", "call"), ("weather", "call")]
        ):
            await execution_log_store.insert_execution_log(
                state.database,
                NewExecutionLog(
                    server="home",
                    kind=kind,  # type: ignore[arg-type]
                    requested_by="token:ci",
                    outcome="ok",
                    duration_ms=1.5,
                    tool=tool,
                    version=1,
                    arguments={"city": f"c{index}"},
                    result_summary=f"r{index}",
                    egress=[{"host": "api.example.org", "outcome": "ok"}],
                    at=start + timedelta(seconds=index),
                ),
            )
        first = await call(
            state, "mcpbox_get_tool_logs", {"server": "home", "tool": "weather", "page_size": 10}
        )
        assert first["page_size"] == 2
        assert [log["result_summary"] for log in first["logs"]] == ["r3", "r1"]
        assert (first["total"], first["next_page"]) == (3, 2)
        assert first["logs"][0]["arguments"] == {"city": "c3"}
        assert first["logs"][0]["egress"] == [{"host": "api.example.org", "outcome": "ok"}]
        tests_only = await call(state, "mcpbox_get_tool_logs", {"server": "home", "kind": "test"})
        assert [log["result_summary"] for log in tests_only["logs"]] == ["r0"]
        whole_server = await call(state, "mcpbox_get_tool_logs", {"server": "home", "page": 2})
        assert [log["tool"] for log in whole_server["logs"]] == ["weather", "weather"]
        assert "mcpbox_create_server" in await error(state, "mcpbox_get_tool_logs", {"server": "nope"})
