"""The approvals queue and its API twin: list, approve, reject with a reason, lost races."""

from __future__ import annotations

import pytest

from mcpbox.approvals import service
from mcpbox.db import request_store, tool_store
from mcpbox.db.models import RequestStatus, ToolStatus
from mcpbox.db.request_store import RequestKind
from mcpbox.tools import requests as tool_requests
from mcpbox.tools.exposure import find_exposed_tool
from tests.web.admin_harness import OWNER, Admin, CallCounter, pending_tool, wait_for_event

pytestmark = pytest.mark.anyio


async def _requests(admin: Admin) -> tuple[str, str]:
    """A pending host request and a pending standard-library module request on ``home``."""
    state = admin.state
    host = await tool_requests.request_network_access(
        state.database,
        server="home",
        host="api.weather.example",
        requested_by="llm",
        hooks=state.hooks,
        justification="the forecast API",
    )
    module = await tool_requests.request_module(
        state.database, server="home", module="csv", requested_by="llm", hooks=state.hooks
    )
    return host.ref, module.ref


async def test_an_empty_queue_says_what_will_appear(admin: Admin) -> None:
    page = await admin.client.get("/admin/approvals")
    assert page.status_code == 200
    assert "Nothing is waiting for you" in page.text
    assert "mcpbox_request_publish" in page.text


async def test_the_queue_lists_tools_modules_and_hosts(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    host_ref, module_ref = await _requests(admin)
    page = await admin.client.get("/admin/approvals")
    for ref in (f"tool:{tool.id}", host_ref, module_ref):
        assert f'action="/admin/approvals/{ref.replace(":", "%3A")}"' in page.text
    assert 'href="/admin/servers/home/tools/weather"' in page.text
    assert f'value="{tool.current_hash}"' in page.text  # the approval binds to what was shown
    assert "the forecast API" in page.text
    only_hosts = await admin.client.get("/admin/approvals?kind=host")
    assert host_ref in only_hosts.text
    assert f"tool:{tool.id}" not in only_hosts.text
    listing = (await admin.client.get("/api/approvals")).json()
    assert {item["ref"] for item in listing["items"]} == {f"tool:{tool.id}", host_ref, module_ref}
    assert listing["total"] == 3
    dashboard = (await admin.client.get("/api/dashboard")).json()
    assert (dashboard["tools"], dashboard["pending_approvals"]) == (1, 3)
    home = await admin.client.get("/admin/")
    assert "Decide all 3 in the approvals queue" in home.text


async def test_approving_a_tool_publishes_it_under_the_admins_name(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = CallCounter(admin.state.watcher.local_change)
    monkeypatch.setattr(admin.state.watcher, "local_change", changes)
    tool = await pending_tool(admin.state)
    response = await admin.client.post(
        f"/admin/approvals/tool:{tool.id}",
        data={
            "csrf_token": await admin.csrf(),
            "decision": "approve",
            "content_hash": tool.current_hash,
            "next": "/admin/approvals",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/approvals?notice=approved&ref=tool%3A{tool.id}"
    stored = await tool_store.get_tool_by_id(admin.state.database, tool.id)
    assert stored.status is ToolStatus.APPROVED
    assert stored.decided_by == OWNER
    assert await find_exposed_tool(admin.state.database, "home__weather") is not None
    assert changes.calls >= 1  # clients are told the tool list changed
    event = await wait_for_event(admin.state, "approval.decided")
    assert (event.actor, event.tool) == (OWNER, "weather")
    assert f"Approved tool:{tool.id}" in (await admin.client.get(response.headers["location"])).text


async def test_a_rejection_needs_a_reason_and_the_reason_is_kept(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    csrf = await admin.csrf()
    form = {"csrf_token": csrf, "decision": "reject", "content_hash": tool.current_hash}
    without = await admin.client.post(f"/admin/approvals/tool:{tool.id}", data=form)
    assert without.status_code == 400
    assert "a rejection needs a reason" in without.text
    assert (
        await tool_store.get_tool_by_id(admin.state.database, tool.id)
    ).status is ToolStatus.PENDING_REVIEW
    done = await admin.client.post(
        f"/admin/approvals/tool:{tool.id}", data={**form, "reason": "Use HTTPS for the weather API."}
    )
    assert done.status_code == 303
    stored = await tool_store.get_tool_by_id(admin.state.database, tool.id)
    assert stored.status is ToolStatus.REJECTED
    assert stored.decision_reason == "Use HTTPS for the weather API."
    assert (await wait_for_event(admin.state, "tool.rejected")).actor == OWNER


async def test_approving_code_that_changed_after_the_page_was_shown_changes_nothing(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    page = await admin.client.get("/admin/approvals")
    assert tool.current_hash in page.text
    # The LLM updates the tool while the owner reads the old version.
    from mcpbox.tools import lifecycle

    await lifecycle.update_tool(
        admin.state.database,
        server="home",
        name="weather",
        updated_by="llm",
        hooks=admin.state.hooks,
        description="A different description.",
    )
    response = await admin.client.post(
        f"/admin/approvals/tool:{tool.id}",
        data={"csrf_token": await admin.csrf(), "decision": "approve", "content_hash": tool.current_hash},
    )
    assert response.status_code == 409
    assert "Nothing was changed" in response.text
    assert "changed meanwhile" in response.text
    stored = await tool_store.get_tool_by_id(admin.state.database, tool.id)
    assert (stored.status, stored.current_version, stored.approved_version) == (
        ToolStatus.PENDING_REVIEW,
        2,
        None,
    )


async def test_a_decision_that_lost_the_race_is_a_conflict_in_the_api(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    await service.approve_tool(
        admin.state.database,
        tool.id,
        content_hash=tool.current_hash,
        decided_by="other",
        hooks=admin.state.hooks,
    )
    headers = {"X-CSRF-Token": await admin.csrf()}
    response = await admin.client.post(
        f"/api/approvals/tool:{tool.id}/reject",
        json={"content_hash": tool.current_hash, "reason": "too late"},
        headers=headers,
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    stored = await tool_store.get_tool_by_id(admin.state.database, tool.id)
    assert (stored.status, stored.decided_by) == (ToolStatus.APPROVED, "other")


async def test_hosts_and_modules_are_decided_from_the_queue_and_the_api(admin: Admin) -> None:
    await pending_tool(admin.state)
    host_ref, module_ref = await _requests(admin)
    db = admin.state.database
    approved = await admin.client.post(
        f"/admin/approvals/{host_ref}", data={"csrf_token": await admin.csrf(), "decision": "approve"}
    )
    assert approved.status_code == 303
    assert await request_store.approved_subjects(db, RequestKind.HOST, "home") == {"api.weather.example"}
    headers = {"X-CSRF-Token": await admin.csrf()}
    response = await admin.client.post(f"/api/approvals/{module_ref}/approve", json={}, headers=headers)
    assert response.status_code == 200
    assert response.json()["request"]["status"] == "approved"
    assert response.json()["request"]["decided_by"] == OWNER
    assert "csv" in await request_store.approved_subjects(db, RequestKind.MODULE, "home")
    again = await admin.client.post(
        f"/api/approvals/{module_ref}/reject", json={"reason": "no"}, headers=headers
    )
    assert again.status_code == 409
    module = await request_store.get_request(db, RequestKind.MODULE, int(module_ref.split(":")[1]))
    assert module.status is RequestStatus.APPROVED


async def test_the_api_needs_the_reviewed_hash_and_validates_the_ref(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    headers = {"X-CSRF-Token": await admin.csrf()}
    no_hash = await admin.client.post(f"/api/approvals/tool:{tool.id}/approve", json={}, headers=headers)
    assert no_hash.status_code == 400
    assert "content hash" in no_hash.json()["error"]["message"]
    bad_ref = await admin.client.post("/api/approvals/widget:1/approve", json={}, headers=headers)
    assert bad_ref.status_code == 400
    missing = await admin.client.post(
        "/api/approvals/tool:999/approve", json={"content_hash": "x"}, headers=headers
    )
    assert missing.status_code == 404
    assert (
        await tool_store.get_tool_by_id(admin.state.database, tool.id)
    ).status is ToolStatus.PENDING_REVIEW


async def test_the_queue_caps_page_size(admin: Admin) -> None:
    await pending_tool(admin.state)
    for index in range(3):
        await tool_requests.request_network_access(
            admin.state.database,
            server="home",
            host=f"h{index}.example",
            requested_by="llm",
            hooks=admin.state.hooks,
        )
    cap = admin.state.config.page_size_max
    body = (await admin.client.get("/api/approvals?page_size=100000")).json()
    assert body["page_size"] == cap
    two = (await admin.client.get("/api/approvals?page_size=2&page=2")).json()
    assert (two["total"], len(two["items"]), two["page"]) == (4, 2, 2)
    assert (await admin.client.get("/api/approvals?kind=widget")).status_code == 400
