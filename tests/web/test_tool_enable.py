"""Disabling and enabling one tool from its page and the API: it leaves and rejoins every client's list."""

from __future__ import annotations

import pytest

from mcpbox.approvals import service
from mcpbox.db import tool_store
from mcpbox.db.models import ToolStatus
from mcpbox.errors import NotCallable
from mcpbox.management.catalog import LOCAL_CALLER
from tests.web.admin_harness import OWNER, Admin, CallCounter, pending_tool, wait_for_event

pytestmark = pytest.mark.anyio
TOOL_PAGE = "/admin/servers/home/tools/weather"
TOOL_API = "/api/servers/home/tools/weather"
EXPOSED = "home__weather"
BADGE = '<span class="badge badge-idle">disabled</span>'
DISABLED_SENTENCE = (
    "Disabled: not listed or callable by any client, whatever its approval; enable it to publish it again."
)
DISABLE_FORM = f'action="{TOOL_PAGE}/disable"'
ENABLE_FORM = f'action="{TOOL_PAGE}/enable"'


async def _approved(admin: Admin) -> None:
    """Tool ``weather`` of the running server ``home``, approved: listed and callable."""
    state = admin.state
    tool = await pending_tool(state)
    await service.approve_tool(
        state.database, tool.id, content_hash=tool.current_hash, decided_by=OWNER, hooks=state.hooks
    )
    assert EXPOSED in await _listed(admin)


async def _listed(admin: Admin) -> list[str]:
    """The names an MCP client's tools/list shows now."""
    return [tool.name for tool in await admin.state.catalog.list_tools(LOCAL_CALLER)]


async def _enabled(admin: Admin) -> bool:
    return (await tool_store.get_tool(admin.state.database, "home", "weather")).enabled


async def _post_api(admin: Admin, action: str, path: str = TOOL_API) -> dict[str, object]:
    response = await admin.client.post(f"{path}/{action}", headers={"X-CSRF-Token": await admin.csrf()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


async def test_disabling_an_approved_tool_over_the_api_takes_it_off_every_clients_list(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _approved(admin)
    changes = CallCounter(admin.state.watcher.local_change)
    monkeypatch.setattr(admin.state.watcher, "local_change", changes)
    body = await _post_api(admin, "disable")
    tool = body["tool"]
    assert isinstance(tool, dict)
    assert (tool["server"], tool["name"], tool["enabled"], tool["status"]) == (
        "home",
        "weather",
        False,
        "approved",  # the approval stands; only the exposure changes
    )
    assert changes.calls == 1  # open streams hear list_changed, cached lists are dropped
    assert EXPOSED not in await _listed(admin)
    with pytest.raises(NotCallable, match="is disabled"):
        await admin.state.catalog.call_tool(EXPOSED, {"city": "Oslo"}, LOCAL_CALLER)
    detail = (await admin.client.get(TOOL_API)).json()
    assert (detail["enabled"], detail["exposed"]) == (False, False)
    assert "is disabled" in detail["not_exposed_because"]
    event = await wait_for_event(admin.state, "tool.disabled")
    assert (event.actor, event.server, event.tool) == (OWNER, "home", "weather")


async def test_enabling_a_disabled_tool_over_the_api_lists_it_again(admin: Admin) -> None:
    await _approved(admin)
    await _post_api(admin, "disable")
    assert EXPOSED not in await _listed(admin)
    body = await _post_api(admin, "enable")
    tool = body["tool"]
    assert isinstance(tool, dict)
    assert (tool["enabled"], tool["status"]) == (True, "approved")
    assert EXPOSED in await _listed(admin)
    assert (await admin.client.get(TOOL_API)).json()["exposed"] is True
    event = await wait_for_event(admin.state, "tool.enabled")
    assert (event.actor, event.tool) == (OWNER, "weather")


async def test_a_tool_disabled_while_pending_stays_unlisted_once_approved(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    await _post_api(admin, "disable")
    await service.approve_tool(
        admin.state.database,
        tool.id,
        content_hash=tool.current_hash,
        decided_by=OWNER,
        hooks=admin.state.hooks,
    )
    assert (await tool_store.get_tool(admin.state.database, "home", "weather")).status is ToolStatus.APPROVED
    assert EXPOSED not in await _listed(admin)


@pytest.mark.parametrize("action", ["disable", "enable"])
@pytest.mark.parametrize(
    "path", ["/api/servers/home/tools/nosuch", "/api/servers/nosuch/tools/weather"], ids=["tool", "server"]
)
async def test_disabling_or_enabling_an_unknown_tool_is_404(admin: Admin, action: str, path: str) -> None:
    await _approved(admin)
    response = await admin.client.post(f"{path}/{action}", headers={"X-CSRF-Token": await admin.csrf()})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert await _enabled(admin)


async def test_disabling_needs_the_csrf_token_and_a_session(admin: Admin) -> None:
    await _approved(admin)
    no_token = await admin.client.post(f"{TOOL_API}/disable")
    assert no_token.status_code == 403
    assert no_token.json()["error"]["code"] == "csrf_failed"
    form_no_token = await admin.client.post(f"{TOOL_PAGE}/disable", data={})
    assert form_no_token.status_code == 403
    token = await admin.csrf()
    admin.client.cookies.clear()
    no_session = await admin.client.post(f"{TOOL_API}/disable", headers={"X-CSRF-Token": token})
    assert no_session.status_code == 401
    form = await admin.client.post(f"{TOOL_PAGE}/disable", data={"csrf_token": token})
    assert form.status_code == 303
    assert form.headers["location"].startswith("/admin/login?next=")
    assert await _enabled(admin)
    assert EXPOSED in await _listed(admin)


async def test_the_tool_page_of_an_enabled_tool_offers_disable(admin: Admin) -> None:
    await _approved(admin)
    page = await admin.client.get(TOOL_PAGE)
    assert DISABLE_FORM in page.text
    assert ">Disable</button>" in page.text
    assert ENABLE_FORM not in page.text
    assert BADGE not in page.text
    assert DISABLED_SENTENCE not in page.text


async def test_disabling_from_the_tool_page_redirects_with_a_notice_and_shows_the_badge(admin: Admin) -> None:
    await _approved(admin)
    response = await admin.client.post(f"{TOOL_PAGE}/disable", data={"csrf_token": await admin.csrf()})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == f"{TOOL_PAGE}?notice=tool-disabled"
    page = await admin.client.get(location)
    notice = "Tool weather disabled: it left every client&#39;s tool list."
    assert f'<p class="notice" role="status">{notice}</p>' in page.text
    assert BADGE in page.text
    assert DISABLED_SENTENCE in page.text
    assert ENABLE_FORM in page.text
    assert ">Enable</button>" in page.text
    assert DISABLE_FORM not in page.text
    assert not await _enabled(admin)
    assert EXPOSED not in await _listed(admin)
    assert (await wait_for_event(admin.state, "tool.disabled")).actor == OWNER


async def test_enabling_from_the_tool_page_flips_the_button_back(admin: Admin) -> None:
    await _approved(admin)
    csrf = await admin.csrf()
    await admin.client.post(f"{TOOL_PAGE}/disable", data={"csrf_token": csrf})
    response = await admin.client.post(f"{TOOL_PAGE}/enable", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == f"{TOOL_PAGE}?notice=tool-enabled"
    page = await admin.client.get(response.headers["location"])
    assert "Tool weather enabled: clients see it again if it is approved and its server runs." in page.text
    assert DISABLE_FORM in page.text
    assert ENABLE_FORM not in page.text
    assert BADGE not in page.text
    assert DISABLED_SENTENCE not in page.text
    assert EXPOSED in await _listed(admin)


async def test_the_notice_names_the_tool_of_the_page_not_text_from_the_url(admin: Admin) -> None:
    await _approved(admin)
    page = await admin.client.get(f"{TOOL_PAGE}?notice=tool-disabled&tool=everything")
    assert "Tool weather disabled" in page.text
    assert "everything" not in page.text
    unknown = await admin.client.get(f"{TOOL_PAGE}?notice=Tool+weather+disabled")
    assert 'class="notice"' not in unknown.text


async def test_the_form_for_an_unknown_tool_is_404(admin: Admin) -> None:
    await _approved(admin)
    response = await admin.client.post(
        "/admin/servers/home/tools/nosuch/disable", data={"csrf_token": await admin.csrf()}
    )
    assert response.status_code == 404
    assert await _enabled(admin)
