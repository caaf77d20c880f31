"""Tool detail: code with line numbers, side-by-side diff against the last approved version,
test runs in the sandbox, rollback with confirmation; and the server page's tools and start/stop."""

from __future__ import annotations

import re

import anyio
import pytest

from mcpbox.db import execution_log_store, server_store, tool_store
from mcpbox.db.models import ToolStatus
from mcpbox.tools import lifecycle
from mcpbox.tools.exposure import find_exposed_tool
from tests.web.admin_harness import (
    OWNER,
    Admin,
    CallCounter,
    approved_then_changed,
    pending_tool,
    wait_for_event,
    wait_for_pool,
)

pytestmark = pytest.mark.anyio
TOOL_PAGE = "/admin/servers/home/tools/weather"


async def test_a_new_tool_shows_all_its_code_with_line_numbers(admin: Admin) -> None:
    tool = await pending_tool(admin.state)
    page = await admin.client.get(TOOL_PAGE)
    assert page.status_code == 200
    assert "No version of this tool was approved before" in page.text
    assert '<tr><td class="ln">4</td><td>    return f&#34;sunny in {city}&#34;</td></tr>' in page.text
    assert f'value="{tool.current_hash}"' in page.text  # the decision form binds to this version
    assert "Approve v1" in page.text
    assert "&#34;city&#34;: {" in page.text  # the input schema, escaped


async def test_the_diff_against_the_approved_version_is_side_by_side(admin: Admin) -> None:
    await approved_then_changed(admin.state)
    page = await admin.client.get(TOOL_PAGE)
    assert "Changes against approved version 1" in page.text
    code_diff = page.text.split('aria-label="Side-by-side diff of the code"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="(changed|added|removed|equal)">(.*?)</tr>', code_diff, re.S)
    changed = [cells for kind, cells in rows if kind == "changed"]
    assert len(changed) == 2  # the signature and the return line
    assert "def main(city: str) -&gt; str:</td>" in changed[0]
    assert "def main(city: str, units: str = &#34;metric&#34;) -&gt; str:</td>" in changed[0]
    assert "input schema" in page.text  # the schema changed too, and is shown
    body = (await admin.client.get("/api/servers/home/tools/weather")).json()
    assert body["approved"]["number"] == 1
    assert body["current"]["number"] == 2
    assert [row["kind"] for row in body["diff"]].count("changed") == 2
    assert body["other_changes"][0]["field"] == "input schema"


async def test_approving_from_the_tool_page_returns_to_it(admin: Admin) -> None:
    tool = await approved_then_changed(admin.state)
    response = await admin.client.post(
        f"/admin/approvals/tool:{tool.id}",
        data={
            "csrf_token": await admin.csrf(),
            "decision": "approve",
            "content_hash": tool.current_hash,
            "next": TOOL_PAGE,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(TOOL_PAGE + "?notice=approved")
    exposed = await find_exposed_tool(admin.state.database, "home__weather")
    assert exposed is not None
    assert exposed.version == 2


async def test_a_test_run_shows_result_stdout_and_egress(admin: Admin) -> None:
    await pending_tool(admin.state)
    await wait_for_pool(admin.state)
    response = await admin.client.post(
        f"{TOOL_PAGE}/test", data={"csrf_token": await admin.csrf(), "arguments": '{"city": "Oslo"}'}
    )
    assert response.status_code == 200, response.text
    assert "sunny in Oslo" in response.text
    assert "looking up Oslo" in response.text
    assert "No network requests." in response.text
    event = await wait_for_event(admin.state, "tool.test_run")
    assert (event.actor, event.tool, event.outcome) == (OWNER, "weather", "ok")
    for _ in range(100):
        logs, _ = await execution_log_store.list_execution_logs(admin.state.database, server="home")
        if logs:
            break
        await anyio.sleep(0.05)
    assert logs[0].requested_by == f"admin:{OWNER}"
    assert logs[0].kind == "test"


async def test_a_test_run_reports_attempted_egress(admin: Admin) -> None:
    code = '''async def main() -> str:
    """Try a private address that no one approved."""
    response = await http.get("http://192.168.1.1/status")
    return response.text
'''
    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    await lifecycle.create_tool(
        admin.state.database,
        server="home",
        name="weather",
        code=code,
        created_by="llm",
        hooks=admin.state.hooks,
    )
    await wait_for_pool(admin.state)
    headers = {"X-CSRF-Token": await admin.csrf()}
    body = (
        await admin.client.post(
            "/api/servers/home/tools/weather/test", json={"arguments": {}}, headers=headers
        )
    ).json()
    assert body["ok"] is False, body
    (attempt,) = body["egress"]
    assert attempt["url"].startswith("http://192.168.1.1")
    assert attempt["outcome"] != "ok"
    assert attempt["refused_why"]
    page = await admin.client.post(f"{TOOL_PAGE}/test", data={"csrf_token": headers["X-CSRF-Token"]})
    assert "Network requests attempted" in page.text
    assert "<code>http://192.168.1.1:80/status</code>" in page.text


async def test_bad_test_arguments_are_explained_and_nothing_runs(admin: Admin) -> None:
    await pending_tool(admin.state)
    csrf = await admin.csrf()
    for text, message in (
        ("{not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"town": "Oslo"}', "&#39;city&#39; is required"),
    ):
        response = await admin.client.post(f"{TOOL_PAGE}/test", data={"csrf_token": csrf, "arguments": text})
        assert response.status_code == 400
        assert message in response.text, text
    headers = {"X-CSRF-Token": csrf}
    api = await admin.client.post(
        "/api/servers/home/tools/weather/test", json={"arguments": []}, headers=headers
    )
    assert api.status_code == 400
    # Only a valid run reaches the sandbox and the log: one run, one entry.
    await wait_for_pool(admin.state)
    ok = await admin.client.post(
        "/api/servers/home/tools/weather/test", json={"arguments": {"city": "Oslo"}}, headers=headers
    )
    assert ok.json()["ok"] is True
    with anyio.fail_after(10):
        while (await execution_log_store.list_execution_logs(admin.state.database, server="home"))[1] == 0:
            await anyio.sleep(0.05)
    await anyio.sleep(0.3)  # a stray earlier entry would have been flushed with it
    _, total = await execution_log_store.list_execution_logs(admin.state.database, server="home")
    assert total == 1


async def test_rollback_needs_confirmation_and_restores_an_approved_version(admin: Admin) -> None:
    tool = await approved_then_changed(admin.state)
    confirm = await admin.client.get(f"{TOOL_PAGE}/rollback?to=1")
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.text
    csrf = await admin.csrf()
    form = {"csrf_token": csrf, "to_version": "1", "expected_hash": tool.current_hash}
    unconfirmed = await admin.client.post(f"{TOOL_PAGE}/rollback", data=form)
    assert unconfirmed.status_code == 400
    assert (await tool_store.get_tool_by_id(admin.state.database, tool.id)).current_version == 2
    done = await admin.client.post(f"{TOOL_PAGE}/rollback", data={**form, "confirm": "yes"})
    assert done.status_code == 303
    stored = await tool_store.get_tool_by_id(admin.state.database, tool.id)
    assert (stored.current_version, stored.status) == (3, ToolStatus.APPROVED)  # v1 was approved
    event = await wait_for_event(admin.state, "tool.rolled_back")
    assert event.actor == OWNER
    page = await admin.client.get(done.headers["location"])
    assert "Rolled back" in page.text


async def test_a_rollback_from_a_stale_page_changes_nothing(admin: Admin) -> None:
    tool = await approved_then_changed(admin.state)
    csrf = await admin.csrf()
    stale = {"csrf_token": csrf, "to_version": "1", "expected_hash": "0" * 64, "confirm": "yes"}
    response = await admin.client.post(f"{TOOL_PAGE}/rollback", data=stale)
    assert response.status_code == 409
    assert "Nothing was changed" in response.text
    assert (await tool_store.get_tool_by_id(admin.state.database, tool.id)).current_version == 2
    headers = {"X-CSRF-Token": csrf}
    api = await admin.client.post(
        "/api/servers/home/tools/weather/rollback", json={"to_version": 1}, headers=headers
    )
    assert api.status_code == 200
    assert api.json()["tool"]["current_version"] == 3
    same = await admin.client.post(
        "/api/servers/home/tools/weather/rollback", json={"to_version": 3}, headers=headers
    )
    assert same.status_code == 409


async def test_the_server_page_lists_tools_allowlists_and_runs(admin: Admin) -> None:
    await pending_tool(admin.state)
    page = await admin.client.get("/admin/servers/home")
    assert 'href="/admin/servers/home/tools/weather"' in page.text
    assert "pending review" in page.text
    assert "1 request of this server waits" in page.text
    assert "No calls or test runs yet." in page.text
    body = (await admin.client.get("/api/servers/home/tools")).json()
    assert [item["name"] for item in body["items"]] == ["weather"]
    assert (await admin.client.get("/api/servers/home/logs?page_size=100000")).json()["page_size"] == (
        admin.state.config.page_size_max
    )


async def test_stopping_and_starting_a_server(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    changes = CallCounter(admin.state.watcher.local_change)
    monkeypatch.setattr(admin.state.watcher, "local_change", changes)
    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    stop = await admin.client.post("/admin/servers/home/stop", data={"csrf_token": await admin.csrf()})
    assert stop.status_code == 303
    assert (await server_store.get_server(admin.state.database, "home")).status == "stopped"
    assert changes.calls == 1
    assert (await wait_for_event(admin.state, "server.stopped")).actor == OWNER
    page = await admin.client.get(stop.headers["location"])
    assert "Server stopped" in page.text
    assert "Start server" in page.text
    headers = {"X-CSRF-Token": await admin.csrf()}
    started = await admin.client.post("/api/servers/home/start", headers=headers)
    assert started.json()["status"] == "running"
    assert (await wait_for_event(admin.state, "server.started")).actor == OWNER
    again = await admin.client.post("/api/servers/home/start", headers=headers)
    assert again.status_code == 200  # already running: nothing to do
    assert changes.calls == 2


async def test_unknown_tools_are_404(admin: Admin) -> None:
    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    assert (await admin.client.get(TOOL_PAGE)).status_code == 404
    api = await admin.client.get("/api/servers/home/tools/weather")
    assert api.json()["error"]["code"] == "not_found"
