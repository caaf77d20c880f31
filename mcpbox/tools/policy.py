"""The six security policy settings: one declarative table, validation, and one typed read.

Values live in the ``settings`` table (changed at run time from the admin UI or CLI). Every
default is the safe choice, so an unset key, or a stored value this version cannot read (edited
by hand, written by a newer mcpbox), falls back to the default with a warning instead of failing
open. Writes are validated here: an unknown key or a value outside the allowed set is
``InvalidInput`` naming what is allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mcpbox.approvals.hooks import Hooks, event
from mcpbox.db import setting_store
from mcpbox.db.engine import Database
from mcpbox.db.setting_store import JSONValue
from mcpbox.errors import InvalidInput

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicySetting:
    key: str
    default: str | int
    help: str
    choices: tuple[str, ...] = ()  # for word settings
    minimum: int | None = None  # for integer settings
    maximum: int | None = None

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return f"an integer from {self.minimum} to {self.maximum}"


POLICY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "tool_approval_mode",
        "require_approval",
        "require_approval: the owner approves every tool version; auto_approve: a publish request "
        "approves at once (recorded as approved by policy:auto_approve).",
        choices=("require_approval", "auto_approve"),
    ),
    PolicySetting(
        "module_approval_mode",
        "require_approval",
        "require_approval: the owner approves every module request; auto_approve: requests for "
        "standard-library modules are approved at once. PyPI packages always need the owner.",
        choices=("require_approval", "auto_approve"),
    ),
    PolicySetting(
        "network_access_policy",
        "allowlist",
        "allowlist: tools reach only approved hosts; public_internet: any public host. Private, "
        "loopback and link-local addresses are refused either way unless approved.",
        choices=("allowlist", "public_internet"),
    ),
    PolicySetting(
        "remote_tool_editing",
        "off",
        "on: remote MCP callers may use destructive management tools (create, update, delete...).",
        choices=("off", "on"),
    ),
    PolicySetting(
        "redact_secrets_in_output",
        "on",
        "on: secret values are replaced by [REDACTED:<KEY>] in tool results, output and logs.",
        choices=("on", "off"),
    ),
    PolicySetting(
        "log_retention_days",
        30,
        "Activity and execution log entries older than this many days are deleted.",
        minimum=1,
        maximum=3650,
    ),
)
POLICY_BY_KEY: Mapping[str, PolicySetting] = {setting.key: setting for setting in POLICY_SETTINGS}


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    """The policy in force, typed; read once per decision with ``load_policy``."""

    tool_approval_mode: Literal["require_approval", "auto_approve"] = "require_approval"
    module_approval_mode: Literal["require_approval", "auto_approve"] = "require_approval"
    network_access_policy: Literal["allowlist", "public_internet"] = "allowlist"
    remote_tool_editing: bool = False
    redact_secrets_in_output: bool = True
    log_retention_days: int = 30

    @property
    def auto_approve_tools(self) -> bool:
        return self.tool_approval_mode == "auto_approve"

    @property
    def auto_approve_modules(self) -> bool:
        return self.module_approval_mode == "auto_approve"


def validate_policy_value(key: str, value: JSONValue) -> str | int:
    """The value to store for ``key``; ``InvalidInput`` for an unknown key or a disallowed value.

    Integer settings accept an int or a decimal string (forms and the CLI send strings).
    """
    setting = POLICY_BY_KEY.get(key)
    if setting is None:
        raise InvalidInput(f"unknown policy setting {key!r}; known: {', '.join(POLICY_BY_KEY)}")
    if setting.choices:
        if isinstance(value, str) and value in setting.choices:
            return value
        raise InvalidInput(f"invalid value {value!r} for {key}: use {setting.allowed()}")
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    assert setting.minimum is not None
    assert setting.maximum is not None
    if number is None or not setting.minimum <= number <= setting.maximum:
        raise InvalidInput(f"invalid value {value!r} for {key}: use {setting.allowed()}")
    return number


async def set_policy_value(
    db: Database, key: str, value: JSONValue, *, updated_by: str, hooks: Hooks
) -> str | int:
    """Validate and store one setting; emits ``settings.changed``. Returns the stored value.

    Readers call ``load_policy`` per decision, so a change applies to the next call.
    """
    stored = validate_policy_value(key, value)
    previous = await current_value(db, key)
    await setting_store.set_setting(db, key, stored, updated_by=updated_by)
    hooks.record(event("settings.changed", actor=updated_by, key=key, old=previous, new=stored))
    return stored


async def current_value(db: Database, key: str) -> str | int:
    """The value in force for ``key`` (default when unset or unreadable)."""
    setting = POLICY_BY_KEY.get(key)
    if setting is None:
        raise InvalidInput(f"unknown policy setting {key!r}; known: {', '.join(POLICY_BY_KEY)}")
    stored = await setting_store.find_setting(db, key)
    if stored is None:
        return setting.default
    try:
        return validate_policy_value(key, stored)
    except InvalidInput:
        logger.warning(
            "stored policy setting %s has an unreadable value; using the default %r", key, setting.default
        )
        return setting.default


async def load_policy(db: Database) -> SecurityPolicy:
    """Every policy setting in force, typed (one query)."""
    stored = await setting_store.list_settings(db)
    values: dict[str, str | int] = {}
    for setting in POLICY_SETTINGS:
        raw = stored.get(setting.key)
        try:
            values[setting.key] = setting.default if raw is None else validate_policy_value(setting.key, raw)
        except InvalidInput:
            logger.warning("stored policy setting %s has an unreadable value; using the default", setting.key)
            values[setting.key] = setting.default
    return SecurityPolicy(
        tool_approval_mode="auto_approve"
        if values["tool_approval_mode"] == "auto_approve"
        else "require_approval",
        module_approval_mode=(
            "auto_approve" if values["module_approval_mode"] == "auto_approve" else "require_approval"
        ),
        network_access_policy=(
            "public_internet" if values["network_access_policy"] == "public_internet" else "allowlist"
        ),
        remote_tool_editing=values["remote_tool_editing"] == "on",
        redact_secrets_in_output=values["redact_secrets_in_output"] != "off",
        log_retention_days=int(values["log_retention_days"]),
    )
