"""The settings page (UI and API): the six security policy settings and the module allowlist.

Values come from ``mcpbox.tools.policy`` (the one table, the one validation); a change is stored
there under the admin's name (``settings.changed``), and then the call contexts every warm
worker was built with are dropped through the catalog watcher, so the next call runs under the
new policy. The module allowlist is read-only here: the sandbox's default modules plus every
approved module request, per server (approving and rejecting happen in the approvals queue).
"""

from __future__ import annotations

from dataclasses import dataclass

from mcpbox.db import request_store
from mcpbox.db.models import RequestStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.setting_store import JSONValue
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.state import AppState
from mcpbox.tools.policy import (
    POLICY_BY_KEY,
    POLICY_SETTINGS,
    PolicySetting,
    current_value,
    set_policy_value,
)
from mcpbox.web.operations import Page, page_window


@dataclass(frozen=True, slots=True)
class SettingState:
    setting: PolicySetting
    value: str | int

    @property
    def is_default(self) -> bool:
        return self.value == self.setting.default


@dataclass(frozen=True, slots=True)
class ModuleAllowlist:
    default_modules: tuple[str, ...]
    approved: Page[RequestInfo]  # approved module requests, every server


async def policy_settings(state: AppState) -> list[SettingState]:
    return [
        SettingState(setting, await current_value(state.database, setting.key)) for setting in POLICY_SETTINGS
    ]


async def change_setting(state: AppState, actor: str, key: str, value: JSONValue) -> SettingState:
    """Validate and store one policy setting (``InvalidInput`` names what is allowed)."""
    await set_policy_value(state.database, key, value, updated_by=actor, hooks=state.hooks)
    state.watcher.local_change()
    return SettingState(POLICY_BY_KEY[key], await current_value(state.database, key))


async def module_allowlist(state: AppState, page: int | None, page_size: int | None) -> ModuleAllowlist:
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await request_store.list_requests(
        state.database,
        RequestKind.MODULE,
        status=RequestStatus.APPROVED,
        offset=(number - 1) * size,
        limit=size,
    )
    return ModuleAllowlist(
        default_modules=tuple(sorted(DEFAULT_MODULES)),
        approved=Page(items=items, total=total, page=number, page_size=size),
    )
