"""The six policy settings: defaults, validation, typed read, and fail-safe reading."""

from __future__ import annotations

import pytest

from mcpbox.db import setting_store
from mcpbox.db.engine import Database
from mcpbox.errors import InvalidInput
from mcpbox.tools import policy
from tests.tools.harness import Recorded

pytestmark = pytest.mark.anyio


async def test_defaults_are_the_safe_choices(database: Database) -> None:
    assert await policy.load_policy(database) == policy.SecurityPolicy(
        tool_approval_mode="require_approval",
        module_approval_mode="require_approval",
        network_access_policy="allowlist",
        remote_tool_editing=False,
        redact_secrets_in_output=True,
        log_retention_days=30,
    )
    assert {s.key for s in policy.POLICY_SETTINGS} == {
        "tool_approval_mode",
        "module_approval_mode",
        "network_access_policy",
        "remote_tool_editing",
        "redact_secrets_in_output",
        "log_retention_days",
    }


async def test_set_values_are_read_back_typed_and_audited(database: Database, recorded: Recorded) -> None:
    for key, value in (
        ("tool_approval_mode", "auto_approve"),
        ("module_approval_mode", "auto_approve"),
        ("network_access_policy", "public_internet"),
        ("remote_tool_editing", "on"),
        ("redact_secrets_in_output", "off"),
        ("log_retention_days", "7"),
    ):
        await policy.set_policy_value(database, key, value, updated_by="admin:owner", hooks=recorded.hooks)
    loaded = await policy.load_policy(database)
    assert loaded.auto_approve_tools
    assert loaded.auto_approve_modules
    assert loaded.network_access_policy == "public_internet"
    assert loaded.remote_tool_editing
    assert not loaded.redact_secrets_in_output
    assert loaded.log_retention_days == 7
    assert await policy.current_value(database, "log_retention_days") == 7
    last = recorded.events[-1]
    assert (last.name, last.actor, last.detail) == (
        "settings.changed",
        "admin:owner",
        {"key": "log_retention_days", "old": 30, "new": 7},
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("no_such_setting", "x", "unknown policy setting"),
        ("tool_approval_mode", "yes", "one of require_approval, auto_approve"),
        ("network_access_policy", "everything", "one of allowlist, public_internet"),
        ("remote_tool_editing", True, "one of off, on"),
        ("log_retention_days", 0, "from 1 to 3650"),
        ("log_retention_days", 3651, "from 1 to 3650"),
        ("log_retention_days", "ten", "from 1 to 3650"),
        ("log_retention_days", True, "from 1 to 3650"),
    ],
)
async def test_invalid_values_are_refused_with_the_allowed_values(
    database: Database, recorded: Recorded, key: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await policy.set_policy_value(database, key, value, updated_by="x", hooks=recorded.hooks)  # type: ignore[arg-type]
    assert recorded.events == []


async def test_an_unreadable_stored_value_falls_back_to_the_safe_default(database: Database) -> None:
    await setting_store.set_setting(database, "remote_tool_editing", "maybe")
    await setting_store.set_setting(database, "log_retention_days", -5)
    loaded = await policy.load_policy(database)
    assert not loaded.remote_tool_editing
    assert loaded.log_retention_days == 30
