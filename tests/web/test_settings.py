"""Settings: the six security policy settings (validated, recorded, applied) and the module allowlist."""

from __future__ import annotations

import pytest

from mcpbox.db import secret_store, server_store
from mcpbox.tools import requests as tool_requests
from mcpbox.tools.policy import POLICY_SETTINGS, load_policy
from tests.web.admin_harness import OWNER, Admin, CallCounter, wait_for_event

pytestmark = pytest.mark.anyio


async def test_the_page_shows_every_policy_setting_with_its_value(admin: Admin) -> None:
    page = await admin.client.get("/admin/settings")
    assert page.status_code == 200
    for setting in POLICY_SETTINGS:
        assert f'action="/admin/settings/{setting.key}"' in page.text
    assert '<option value="require_approval" selected>' in page.text
    assert 'name="value" type="number" min="1" max="3650" value="30"' in page.text
    body = (await admin.client.get("/api/settings")).json()
    assert [item["key"] for item in body["settings"]] == [setting.key for setting in POLICY_SETTINGS]
    assert {item["key"]: item["value"] for item in body["settings"]}["log_retention_days"] == 30


async def test_changing_a_setting_is_stored_recorded_and_applied(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = CallCounter(admin.state.watcher.local_change)
    monkeypatch.setattr(admin.state.watcher, "local_change", changes)
    response = await admin.client.post(
        "/admin/settings/network_access_policy",
        data={"csrf_token": await admin.csrf(), "value": "public_internet"},
    )
    assert response.status_code == 303
    assert (await load_policy(admin.state.database)).network_access_policy == "public_internet"
    assert changes.calls == 1  # warm workers built under the old policy are retired
    event = await wait_for_event(admin.state, "settings.changed")
    assert event.actor == OWNER
    assert event.detail == {"key": "network_access_policy", "old": "allowlist", "new": "public_internet"}
    page = await admin.client.get(response.headers["location"])
    assert "Saved network_access_policy" in page.text
    assert '<option value="public_internet" selected>' in page.text


async def test_invalid_values_are_refused_with_what_is_allowed(admin: Admin) -> None:
    csrf = await admin.csrf()
    bad = await admin.client.post(
        "/admin/settings/log_retention_days", data={"csrf_token": csrf, "value": "0"}
    )
    assert bad.status_code == 400
    assert "an integer from 1 to 3650" in bad.text
    unknown = await admin.client.post("/admin/settings/sudo_mode", data={"csrf_token": csrf, "value": "on"})
    assert unknown.status_code == 400
    headers = {"X-CSRF-Token": csrf}
    api_bad = await admin.client.put(
        "/api/settings/remote_tool_editing", json={"value": "yes"}, headers=headers
    )
    assert api_bad.status_code == 400
    assert "one of off, on" in api_bad.json()["error"]["message"]
    assert (await load_policy(admin.state.database)).log_retention_days == 30
    assert (await load_policy(admin.state.database)).remote_tool_editing is False
    ok = await admin.client.put("/api/settings/log_retention_days", json={"value": 7}, headers=headers)
    assert ok.json()["value"] == 7
    assert (await load_policy(admin.state.database)).log_retention_days == 7


async def test_the_module_allowlist_shows_defaults_and_approved_modules_per_server(admin: Admin) -> None:
    db = admin.state.database
    await server_store.create_server(db, name="home", created_by="llm")
    request = await tool_requests.request_module(
        db, server="home", module="csv", requested_by="llm", hooks=admin.state.hooks
    )
    page = await admin.client.get("/admin/settings")
    assert "No extra modules are approved" in page.text
    assert "<code>json</code>" in page.text  # a default module
    headers = {"X-CSRF-Token": await admin.csrf()}
    await admin.client.post(f"/api/approvals/{request.ref}/approve", json={}, headers=headers)
    page = await admin.client.get("/admin/settings")
    assert "<td><code>csv</code></td>" in page.text
    body = (await admin.client.get("/api/settings?page_size=100000")).json()
    assert "json" in body["modules"]["default"]
    assert [item["subject"] for item in body["modules"]["approved"]["items"]] == ["csv"]
    assert body["modules"]["approved"]["page_size"] == admin.state.config.page_size_max


async def test_secret_changes_reach_running_calls_at_once(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = CallCounter(admin.state.watcher.local_change)
    monkeypatch.setattr(admin.state.watcher, "local_change", changes)
    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    csrf = await admin.csrf()
    await admin.client.post(
        "/admin/servers/home/secrets", data={"csrf_token": csrf, "key": "K", "value": "v1"}
    )
    assert changes.calls == 1
    await admin.client.delete("/api/servers/home/secrets/K", headers={"X-CSRF-Token": csrf})
    assert changes.calls == 2
    assert await secret_store.list_secrets(admin.state.database, "home") == []
