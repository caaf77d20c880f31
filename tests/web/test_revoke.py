"""Revoking an approved host or module from the server page and the API: it leaves the allowlist."""

from __future__ import annotations

import pytest

from mcpbox.approvals import service
from mcpbox.db import request_store
from mcpbox.db.models import RequestStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.tools import requests as tool_requests
from tests.web.admin_harness import OWNER, Admin, pending_tool, wait_for_event

pytestmark = pytest.mark.anyio
HOST = "api.weather.example"
REASON = "The forecast moved to another provider."


async def _host(admin: Admin, *, approve: bool = True) -> RequestInfo:
    """A host request of server ``home`` (created with a pending tool), approved unless told."""
    state = admin.state
    await pending_tool(state)
    request = await tool_requests.request_network_access(
        state.database, server="home", host=HOST, requested_by="llm", hooks=state.hooks
    )
    if approve:
        request = await service.approve_request(
            state.database, RequestKind.HOST, request.id, decided_by=OWNER, hooks=state.hooks
        )
    return request


async def _module(admin: Admin) -> RequestInfo:
    state = admin.state
    request = await tool_requests.request_module(
        state.database, server="home", module="csv", requested_by="llm", hooks=state.hooks
    )
    return await service.approve_request(
        state.database, RequestKind.MODULE, request.id, decided_by=OWNER, hooks=state.hooks
    )


async def _status(admin: Admin, request: RequestInfo) -> RequestStatus:
    return (await request_store.get_request(admin.state.database, request.kind, request.id)).status


async def _api_headers(admin: Admin) -> dict[str, str]:
    return {"X-CSRF-Token": await admin.csrf()}


async def test_revoking_an_approved_host_over_the_api_takes_it_off_the_allowlist(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await _host(admin)
    listed = (await admin.client.get("/api/servers/home")).json()["approvals"]
    assert {
        "ref": host.ref,
        "kind": "host",
        "subject": host.subject,
    } in listed  # how an API client finds the ref
    retired: list[str | None] = []

    def retire(version_key: str | None = None, server_key: str | None = None) -> int:
        retired.append(server_key)
        return 0

    monkeypatch.setattr(admin.state.pool, "retire", retire)
    response = await admin.client.post(
        f"/api/approvals/{host.ref}/revoke", json={"reason": REASON}, headers=await _api_headers(admin)
    )
    assert response.status_code == 200, response.text
    body = response.json()["request"]
    assert (body["ref"], body["status"], body["decided_by"], body["reason"]) == (
        host.ref,
        "revoked",
        OWNER,
        REASON,
    )
    assert await request_store.approved_subjects(admin.state.database, RequestKind.HOST, "home") == set()
    assert "home" in retired  # warm workers built with the old allowlist are retired
    event = await wait_for_event(admin.state, "host.revoked")
    assert (event.actor, event.server) == (OWNER, "home")
    decided = await wait_for_event(admin.state, "approval.decided")
    assert decided.detail is not None
    assert (decided.detail["decision"], decided.detail["reason"]) == ("revoked", REASON)


async def test_revoking_a_pending_request_is_a_conflict(admin: Admin) -> None:
    host = await _host(admin, approve=False)
    response = await admin.client.post(
        f"/api/approvals/{host.ref}/revoke", json={"reason": REASON}, headers=await _api_headers(admin)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert await _status(admin, host) is RequestStatus.PENDING


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}, {"reason": 7}]
)
async def test_a_revocation_needs_a_reason_of_sensible_size(admin: Admin, body: dict[str, object]) -> None:
    host = await _host(admin)
    response = await admin.client.post(
        f"/api/approvals/{host.ref}/revoke", json=body, headers=await _api_headers(admin)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert await _status(admin, host) is RequestStatus.APPROVED


async def test_a_tool_cannot_be_revoked(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    await service.approve_tool(
        admin.state.database,
        tool.id,
        content_hash=tool.current_hash,
        decided_by=OWNER,
        hooks=admin.state.hooks,
    )
    response = await admin.client.post(
        f"/api/approvals/tool:{tool.id}/revoke", json={"reason": REASON}, headers=await _api_headers(admin)
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "only module and host approvals can be revoked" in message
    assert "disable it" in message


async def test_revoking_an_unknown_request_is_404(admin: Admin) -> None:
    await _host(admin)
    response = await admin.client.post(
        "/api/approvals/host:999/revoke", json={"reason": REASON}, headers=await _api_headers(admin)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_revoking_needs_the_csrf_token_and_a_session(admin: Admin) -> None:
    host = await _host(admin)
    path = f"/api/approvals/{host.ref}/revoke"
    no_token = await admin.client.post(path, json={"reason": REASON})
    assert no_token.status_code == 403
    assert no_token.json()["error"]["code"] == "csrf_failed"
    headers = await _api_headers(admin)
    admin.client.cookies.clear()
    no_session = await admin.client.post(path, json={"reason": REASON}, headers=headers)
    assert no_session.status_code == 401
    form = await admin.client.post(
        f"/admin/approvals/{host.ref}/revoke",
        data={"csrf_token": headers["X-CSRF-Token"], "server": "home", "reason": REASON},
    )
    assert form.status_code == 303
    assert form.headers["location"].startswith("/admin/login?next=")
    assert await _status(admin, host) is RequestStatus.APPROVED


async def test_the_server_page_offers_a_revoke_form_with_the_ref(admin: Admin) -> None:
    host = await _host(admin)
    module = await _module(admin)
    page = await admin.client.get("/admin/servers/home")
    for request in (host, module):
        assert f"<code>{request.ref}</code>" in page.text
        assert f'action="/admin/approvals/{request.ref.replace(":", "%3A")}/revoke"' in page.text
    assert page.text.count('name="reason" required') == 2


async def test_revoking_a_host_from_the_server_page_redirects_with_a_notice(admin: Admin) -> None:
    host = await _host(admin)
    response = await admin.client.post(
        f"/admin/approvals/{host.ref}/revoke",
        data={"csrf_token": await admin.csrf(), "server": "home", "reason": REASON},
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/admin/servers/home?notice=host-revoked&")
    page = await admin.client.get(location)
    assert f"Revoked {host.ref} ({HOST}) for server home: its tools can no longer reach it." in page.text
    assert f'id="allow-{host.ref.replace(":", "-")}"' not in page.text
    assert f"/admin/approvals/{host.ref.replace(':', '%3A')}/revoke" not in page.text
    assert await _status(admin, host) is RequestStatus.REVOKED
    assert (await wait_for_event(admin.state, "host.revoked")).actor == OWNER


async def test_revoking_a_module_from_the_server_page_says_it_can_no_longer_be_imported(
    admin: Admin,
) -> None:
    await _host(admin)
    module = await _module(admin)
    response = await admin.client.post(
        f"/admin/approvals/{module.ref}/revoke",
        data={"csrf_token": await admin.csrf(), "server": "home", "reason": REASON},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert f"Revoked {module.ref} (csv) for server home: its tools can no longer import it." in response.text
    assert f'id="allow-{module.ref.replace(":", "-")}"' not in response.text
    assert "csv" not in await request_store.approved_subjects(
        admin.state.database, RequestKind.MODULE, "home"
    )


async def test_a_failed_revocation_shows_the_error_on_the_server_page(admin: Admin) -> None:
    host = await _host(admin)
    pending = await tool_requests.request_network_access(
        admin.state.database, server="home", host="other.example", requested_by="llm", hooks=admin.state.hooks
    )
    csrf = await admin.csrf()
    no_reason = await admin.client.post(
        f"/admin/approvals/{host.ref}/revoke", data={"csrf_token": csrf, "server": "home", "reason": ""}
    )
    assert no_reason.status_code == 400
    assert 'role="alert">a revocation needs a reason' in no_reason.text
    assert f'id="allow-{host.ref.replace(":", "-")}"' in no_reason.text  # still approved, still listed
    not_approved = await admin.client.post(
        f"/admin/approvals/{pending.ref}/revoke",
        data={"csrf_token": csrf, "server": "home", "reason": REASON},
    )
    assert not_approved.status_code == 409
    assert 'role="alert">Nothing was changed:' in not_approved.text
    assert await _status(admin, host) is RequestStatus.APPROVED
    assert await _status(admin, pending) is RequestStatus.PENDING
