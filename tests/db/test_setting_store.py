"""settings: JSON values round-trip, replace, delete, get vs find."""

from __future__ import annotations

import pytest

from mcpbox.db import setting_store
from mcpbox.db.engine import Database
from mcpbox.errors import InvalidInput, NotFound


@pytest.mark.anyio
async def test_json_values_round_trip_and_replace(database: Database) -> None:
    await setting_store.set_setting(database, "tool_approval_mode", "require_approval", updated_by="admin")
    await setting_store.set_setting(database, "limits", {"a": [1, 2.5, True, None]})
    assert await setting_store.get_setting(database, "tool_approval_mode") == "require_approval"
    await setting_store.set_setting(database, "tool_approval_mode", "auto_approve")
    assert await setting_store.list_settings(database) == {
        "limits": {"a": [1, 2.5, True, None]},
        "tool_approval_mode": "auto_approve",
    }


@pytest.mark.anyio
async def test_get_raises_find_returns_none_and_delete_forgets(database: Database) -> None:
    assert await setting_store.find_setting(database, "x") is None
    with pytest.raises(NotFound):
        await setting_store.get_setting(database, "x")
    assert await setting_store.get_setting(database, "x", default="off") == "off"
    assert await setting_store.get_setting(database, "x", default=None) is None
    await setting_store.set_setting(database, "x", 3)
    await setting_store.delete_setting(database, "x")
    assert await setting_store.find_setting(database, "x") is None


@pytest.mark.anyio
async def test_non_json_values_and_bad_keys_are_refused(database: Database) -> None:
    with pytest.raises(InvalidInput):
        await setting_store.set_setting(database, "x", float("nan"))
    with pytest.raises(InvalidInput):
        await setting_store.set_setting(database, "", 1)
