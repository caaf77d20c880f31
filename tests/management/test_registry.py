"""Management tools: declared schemas, argument validation at the edge, remote-caller rule, paging."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpbox.db import setting_store
from mcpbox.management.arguments import check_schema, validate_arguments
from mcpbox.management.catalog import Caller, ToolCallResult
from mcpbox.management.tools import build_registry
from tests.app_harness import running_app

pytestmark = pytest.mark.anyio

LOCAL = Caller(identity="local")
REMOTE = Caller(identity="token:laptop", remote=True)


def payload(result: ToolCallResult) -> Any:
    return json.loads(result.content[0]["text"])


def test_every_tool_has_a_closed_schema_title_and_all_four_annotations() -> None:
    for tool in build_registry():
        descriptor = tool.descriptor.to_mcp()
        check_schema(descriptor["inputSchema"])
        assert descriptor["name"].startswith("mcpbox_")
        assert descriptor["title"]
        assert set(descriptor["annotations"]) >= {
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        }
        if descriptor["annotations"]["readOnlyHint"]:
            assert descriptor["annotations"]["destructiveHint"] is False


def test_validation_reports_every_problem_at_once() -> None:
    schema = build_registry().find("mcpbox_create_server")
    assert schema is not None
    with pytest.raises(Exception, match="pattern") as info:
        validate_arguments(
            schema.descriptor.input_schema, {"name": "Bad Name", "colour": "red", "description": 5}
        )
    message = str(info.value)
    assert "unknown argument 'colour'" in message
    assert "'description' must be a string" in message


def test_booleans_are_not_integers() -> None:
    tool = build_registry().find("mcpbox_list_servers")
    assert tool is not None
    with pytest.raises(Exception, match="integer"):
        validate_arguments(tool.descriptor.input_schema, {"page": True})


async def test_bad_arguments_come_back_as_a_tool_error_the_llm_can_fix(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        result = await state.catalog.call_tool("mcpbox_create_server", {"name": "9lives"}, LOCAL)
        assert result.is_error
        assert "must match the pattern" in result.content[0]["text"]


async def test_remote_callers_cannot_use_destructive_tools_until_the_owner_allows_it(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, LOCAL)
        refused = await state.catalog.call_tool(
            "mcpbox_delete_server", {"name": "lab", "confirm": True}, REMOTE
        )
        assert refused.is_error
        assert "remote_tool_editing" in refused.content[0]["text"]
        await setting_store.set_setting(state.database, "remote_tool_editing", "on", updated_by="test")
        allowed = await state.catalog.call_tool(
            "mcpbox_delete_server", {"name": "lab", "confirm": True}, REMOTE
        )
        assert not allowed.is_error


async def test_delete_requires_confirm_true(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, LOCAL)
        result = await state.catalog.call_tool(
            "mcpbox_delete_server", {"name": "lab", "confirm": False}, LOCAL
        )
        assert result.is_error
        assert "confirm=true" in result.content[0]["text"]


async def test_list_servers_caps_page_size_at_the_configured_maximum(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_PAGE_SIZE_MAX": "3"}) as (_, state):
        for index in range(5):
            await state.catalog.call_tool("mcpbox_create_server", {"name": f"s{index}"}, LOCAL)
        first = payload(await state.catalog.call_tool("mcpbox_list_servers", {"page_size": 1000}, LOCAL))
        assert first["page_size"] == 3
        assert [s["name"] for s in first["servers"]] == ["s0", "s1", "s2"]
        assert (first["total"], first["next_page"]) == (5, 2)
        second = payload(
            await state.catalog.call_tool("mcpbox_list_servers", {"page": 2, "page_size": 3}, LOCAL)
        )
        assert [s["name"] for s in second["servers"]] == ["s3", "s4"]
        assert second["next_page"] is None


async def test_created_rows_record_the_requester(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        created = payload(await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, REMOTE))
        assert created["created_by"] == "token:laptop"


async def test_secret_values_are_never_returned(tmp_path: Path) -> None:
    from mcpbox.db import secret_store

    async with running_app(tmp_path) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, LOCAL)
        await state.catalog.call_tool(
            "mcpbox_create_server_secret", {"server": "lab", "key": "API_KEY"}, LOCAL
        )
        await secret_store.set_secret_value(
            state.database, "lab", "API_KEY", "hunter2-very-secret", state.keyring
        )
        listed = await state.catalog.call_tool("mcpbox_list_server_secrets", {"server": "lab"}, LOCAL)
        text = listed.content[0]["text"]
        assert "hunter2" not in text
        assert payload(listed)["secrets"][0]["has_value"] is True
