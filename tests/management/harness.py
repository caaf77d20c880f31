"""Helpers for calling management tools in-process, the way the gateway does."""

from __future__ import annotations

import json
from typing import Any

import anyio

from mcpbox.management.catalog import Caller, ToolCallResult
from mcpbox.state import AppState

LOCAL = Caller(identity="local")
REMOTE = Caller(identity="token:laptop", remote=True)

WEATHER = '''
async def main(city: str, days: int = 3) -> dict:
    """Daily forecast for a city.

    Args:
        city: City name.
        days: Number of days.
    """
    return {"city": city, "days": days}
'''
WEATHER_V2 = WEATHER.replace('"days": days}', '"days": days, "v": 2}')


def payload(result: ToolCallResult) -> Any:
    return json.loads(result.content[0]["text"])


async def call(state: AppState, name: str, arguments: dict[str, Any], caller: Caller = LOCAL) -> Any:
    """The tool's JSON answer; fails the test when the tool answered with an error."""
    result = await state.catalog.call_tool(name, arguments, caller)
    assert not result.is_error, result.content[0]["text"]
    assert result.structured is not None
    return payload(result)


async def error(state: AppState, name: str, arguments: dict[str, Any], caller: Caller = LOCAL) -> str:
    """The error text the LLM would read; fails the test when the call succeeded."""
    result = await state.catalog.call_tool(name, arguments, caller)
    assert result.is_error, result.content[0]["text"]
    text: str = result.content[0]["text"]
    return text


async def server_with_tool(state: AppState, *, hosts: list[str] | None = None) -> dict[str, Any]:
    await call(state, "mcpbox_create_server", {"name": "home"})
    arguments: dict[str, Any] = {"server": "home", "name": "weather", "code": WEATHER}
    if hosts is not None:
        arguments["hosts"] = hosts
    created: dict[str, Any] = await call(state, "mcpbox_create_tool", arguments)
    return created


async def publish(state: AppState, name: str = "weather") -> None:
    """Request publishing and approve as the owner would (through the approvals service)."""
    from mcpbox.approvals import service

    answer = await call(state, "mcpbox_request_publish", {"server": "home", "name": name})
    tool = answer["tool"]
    await service.approve_tool(
        state.database,
        int(tool["ref"].split(":")[1]),
        content_hash=tool["current_hash"],
        decided_by="admin:owner",
        hooks=state.hooks,
    )


async def pool_ready(state: AppState) -> None:
    with anyio.fail_after(30):
        while state.pool.state.value != "running":
            await anyio.sleep(0.05)


async def recorded(state: AppState, name: str) -> list[Any]:
    """Activity rows called ``name``, waiting for the batched recorder to write them."""
    from mcpbox.db import activity_store

    with anyio.fail_after(10):
        while True:
            rows, _ = await activity_store.list_activity(
                state.database, activity_store.ActivityFilter(name=name)
            )
            if rows:
                return rows
            await anyio.sleep(0.05)
