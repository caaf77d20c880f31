"""mcpbox_list_tools, _get_tool, _create_tool, _update_tool, _delete_tool, _list_tool_versions,
_rollback_tool and _request_publish, called the way the gateway calls them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcpbox.db import setting_store
from tests.app_harness import running_app
from tests.management.harness import (
    LOCAL,
    REMOTE,
    WEATHER,
    WEATHER_V2,
    call,
    error,
    publish,
    recorded,
    server_with_tool,
)

pytestmark = pytest.mark.anyio


async def test_create_tool_makes_a_draft_owned_by_the_caller_and_says_what_to_do_next(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        created = await call(
            state,
            "mcpbox_create_tool",
            {"server": "home", "name": "weather", "code": WEATHER, "hosts": ["API.Example.org"]},
            REMOTE,  # creating a draft is not destructive: remote callers may
        )
        tool, version = created["tool"], created["version"]
        assert (tool["status"], tool["current_version"], tool["exposed"]) == ("draft", 1, False)
        assert tool["created_by"] == "token:laptop"
        assert version["created_by"] == "token:laptop"
        assert version["description"] == "Daily forecast for a city."
        assert version["input_schema"]["required"] == ["city"]
        assert version["hosts"] == ["api.example.org"]  # canonical form, as the broker compares
        assert created["requests"]["hosts"] == [
            {"name": "api.example.org", "status": "not_requested", "ref": None}
        ]
        assert "mcpbox_request_network_access" in created["requests"]["missing"][0]
        assert "mcpbox_test_code" in created["next_step"]
        assert "mcpbox_request_publish" in created["next_step"]
        [event] = await recorded(state, "tool.created")
        assert event.actor == "token:laptop"


async def test_create_tool_reports_what_breaks_the_tool_contract(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        no_main = await error(
            state,
            "mcpbox_create_tool",
            {"server": "home", "name": "x", "code": "def helper():\n    return 1\n"},
        )
        assert "main" in no_main
        unknown = await error(state, "mcpbox_create_tool", {"server": "nope", "name": "x", "code": WEATHER})
        assert "mcpbox_list_servers" in unknown
        await call(state, "mcpbox_create_tool", {"server": "home", "name": "x", "code": WEATHER})
        duplicate = await error(state, "mcpbox_create_tool", {"server": "home", "name": "x", "code": WEATHER})
        assert "already has a tool named 'x'" in duplicate


async def test_modules_and_hosts_must_be_arrays_of_strings(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        text = await error(
            state,
            "mcpbox_create_tool",
            {"server": "home", "name": "w", "code": WEATHER, "hosts": ["ok.example", 5], "modules": "yaml"},
        )
        assert "'hosts[1]' must be a string" in text
        assert "'modules' must be an array" in text
        bad_name = await error(
            state, "mcpbox_create_tool", {"server": "home", "name": "a__b", "code": WEATHER}
        )
        assert "'name' must match" in bad_name


async def test_list_tools_filters_by_server_and_state_and_caps_the_page_size(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_PAGE_SIZE_MAX": "2"}) as (_, state):
        await server_with_tool(state)
        for name in ("alpha", "beta", "gamma"):
            await call(state, "mcpbox_create_tool", {"server": "home", "name": name, "code": WEATHER})
        await call(state, "mcpbox_create_server", {"name": "lab"})
        await call(state, "mcpbox_create_tool", {"server": "lab", "name": "other", "code": WEATHER})
        await publish(state)

        first = await call(state, "mcpbox_list_tools", {"server": "home", "page_size": 100})
        assert first["page_size"] == 2
        assert [t["name"] for t in first["tools"]] == ["alpha", "beta"]
        assert (first["total"], first["next_page"]) == (4, 2)
        second = await call(state, "mcpbox_list_tools", {"server": "home", "page": 2})
        assert [t["name"] for t in second["tools"]] == ["gamma", "weather"]
        assert second["tools"][1]["exposed"] is True
        assert second["tools"][1]["exposed_name"] == "home__weather"

        approved = await call(state, "mcpbox_list_tools", {"status": "approved"})
        assert [t["name"] for t in approved["tools"]] == ["weather"]
        everywhere = await call(state, "mcpbox_list_tools", {"status": "draft", "page_size": 2, "page": 2})
        assert [(t["server"], t["name"]) for t in everywhere["tools"]] == [
            ("home", "gamma"),
            ("lab", "other"),
        ]
        assert "mcpbox_list_servers" in await error(state, "mcpbox_list_tools", {"server": "nope"})


async def test_get_tool_shows_the_current_code_and_an_older_version_on_request(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await call(state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2})
        current = await call(state, "mcpbox_get_tool", {"server": "home", "name": "weather"})
        assert current["version"]["version"] == 2
        assert current["version"]["code"] == WEATHER_V2
        assert current["is_current"] is True
        old = await call(state, "mcpbox_get_tool", {"server": "home", "name": "weather", "version": 1})
        assert (old["version"]["code"], old["is_current"]) == (WEATHER, False)
        missing = await error(state, "mcpbox_get_tool", {"server": "home", "name": "weather", "version": 9})
        assert "mcpbox_list_tool_versions" in missing
        unknown = await error(state, "mcpbox_get_tool", {"server": "home", "name": "nothing"})
        assert "mcpbox_list_tools" in unknown


async def test_updating_a_published_tool_makes_a_new_draft_and_takes_it_off_the_list(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await publish(state)
        names = [d.name for d in await state.catalog.list_tools(LOCAL)]
        assert "home__weather" in names

        updated = await call(
            state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2}, LOCAL
        )
        assert updated["changed"] is True
        assert (updated["tool"]["status"], updated["tool"]["current_version"]) == ("draft", 2)
        assert updated["tool"]["approved_version"] == 1
        assert "can no longer call" in updated["next_step"]
        assert "home__weather" not in [d.name for d in await state.catalog.list_tools(LOCAL)]

        same = await call(
            state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2}
        )
        assert same["changed"] is False
        nothing = await error(state, "mcpbox_update_tool", {"server": "home", "name": "weather"})
        assert "nothing to change" in nothing


async def test_an_update_based_on_a_stale_hash_is_refused(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        created = await server_with_tool(state)
        first_hash = created["tool"]["current_hash"]
        await call(
            state, "mcpbox_update_tool", {"server": "home", "name": "weather", "description": "Forecast."}
        )
        stale = await error(
            state,
            "mcpbox_update_tool",
            {"server": "home", "name": "weather", "code": WEATHER_V2, "expected_hash": first_hash},
        )
        assert "changed" in stale
        assert "fetch it again" in stale


async def test_remote_callers_may_not_update_delete_or_roll_back_until_the_owner_allows_it(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await call(
            state, "mcpbox_update_tool", {"server": "home", "name": "weather", "description": "Forecast."}
        )
        attempts: dict[str, dict[str, Any]] = {
            "mcpbox_update_tool": {"server": "home", "name": "weather", "code": WEATHER_V2},
            "mcpbox_rollback_tool": {"server": "home", "name": "weather", "version": 1},
            "mcpbox_delete_tool": {"server": "home", "name": "weather", "confirm": True},
        }
        for name, arguments in attempts.items():
            assert "remote_tool_editing" in await error(state, name, arguments, REMOTE), name
        # Non-destructive tools stay available to remote callers.
        await call(state, "mcpbox_request_publish", {"server": "home", "name": "weather"}, REMOTE)

        await setting_store.set_setting(state.database, "remote_tool_editing", "on", updated_by="test")
        rolled = await call(state, "mcpbox_rollback_tool", attempts["mcpbox_rollback_tool"], REMOTE)
        assert rolled["version"]["created_by"] == "token:laptop"
        await call(state, "mcpbox_delete_tool", attempts["mcpbox_delete_tool"], REMOTE)


async def test_delete_needs_confirm_true_and_removes_the_tool(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await publish(state)
        refused = await error(
            state, "mcpbox_delete_tool", {"server": "home", "name": "weather", "confirm": False}
        )
        assert "confirm=true" in refused
        deleted = await call(
            state, "mcpbox_delete_tool", {"server": "home", "name": "weather", "confirm": True}
        )
        assert deleted == {"deleted": "home/weather", "was_status": "approved"}
        assert "home__weather" not in [d.name for d in await state.catalog.list_tools(LOCAL)]
        assert (await call(state, "mcpbox_list_tools", {}))["total"] == 0


async def test_versions_are_listed_newest_first_and_paged(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_PAGE_SIZE_MAX": "2"}) as (_, state):
        await server_with_tool(state)
        await publish(state)
        await call(state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2})
        await call(
            state, "mcpbox_update_tool", {"server": "home", "name": "weather", "description": "Forecast."}
        )
        first = await call(
            state, "mcpbox_list_tool_versions", {"server": "home", "name": "weather", "page_size": 50}
        )
        assert [v["version"] for v in first["versions"]] == [3, 2]
        assert first["versions"][0]["is_current"] is True
        assert (first["total"], first["next_page"], first["approved_version"]) == (3, 2, 1)
        assert "code" not in first["versions"][0]
        second = await call(
            state, "mcpbox_list_tool_versions", {"server": "home", "name": "weather", "page": 2}
        )
        [v1] = second["versions"]
        assert (v1["version"], v1["approved_by"], v1["change_source"]) == (1, "admin:owner", "create")


async def test_rolling_back_to_approved_content_publishes_it_again_at_once(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await publish(state)
        await call(state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2})
        rolled = await call(
            state, "mcpbox_rollback_tool", {"server": "home", "name": "weather", "version": 1}
        )
        assert rolled["approved_again"] is True
        assert (rolled["tool"]["status"], rolled["tool"]["current_version"]) == ("approved", 3)
        assert rolled["version"]["rolled_back_from"] == 1
        assert rolled["tool"]["exposed"] is True
        assert "home__weather" in rolled["next_step"]
        same = await error(state, "mcpbox_rollback_tool", {"server": "home", "name": "weather", "version": 1})
        assert "same content" in same


async def test_rolling_back_to_content_never_approved_needs_approval(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await call(state, "mcpbox_update_tool", {"server": "home", "name": "weather", "code": WEATHER_V2})
        rolled = await call(
            state, "mcpbox_rollback_tool", {"server": "home", "name": "weather", "version": 1}
        )
        assert rolled["approved_again"] is False
        assert rolled["tool"]["status"] == "draft"
        assert "mcpbox_request_publish" in rolled["next_step"]


async def test_request_publish_says_who_must_approve_it_and_what_is_still_missing(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state, hosts=["api.example.org"])
        answer = await call(state, "mcpbox_request_publish", {"server": "home", "name": "weather"}, REMOTE)
        assert answer["tool"]["status"] == "pending_review"
        assert "pending review" in answer["next_step"]
        assert "admin UI" in answer["next_step"]
        assert "`mcpbox approvals approve tool:1`" in answer["next_step"]
        assert "mcpbox_request_network_access" in answer["next_step"]
        [event] = await recorded(state, "tool.publish_requested")
        assert event.actor == "token:laptop"
        again = await error(state, "mcpbox_request_publish", {"server": "home", "name": "weather"})
        assert "already pending review; the owner must approve or reject it" in again


async def test_request_publish_under_auto_approve_publishes_at_once(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await server_with_tool(state)
        await setting_store.set_setting(state.database, "tool_approval_mode", "auto_approve", updated_by="t")
        answer = await call(state, "mcpbox_request_publish", {"server": "home", "name": "weather"})
        assert answer["tool"]["status"] == "approved"
        assert answer["tool"]["exposed_name"] == "home__weather"
        assert "published" in answer["next_step"]
