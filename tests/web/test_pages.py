"""The pages and their API twins: dashboard, servers, activity (filters, paging, live tail), system."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.db import server_store
from mcpbox.db.activity_store import insert_many
from tests.web.admin_harness import Admin, admin_app, run_setup

pytestmark = pytest.mark.anyio


async def test_an_empty_dashboard_says_how_to_connect_claude(admin: Admin) -> None:
    page = await admin.client.get("/admin/")
    assert page.status_code == 200
    assert "claude mcp add --transport http mcpbox http://127.0.0.1:8000/mcp" in page.text
    assert "No errors recorded" in page.text


async def test_the_dashboard_counts_tool_calls_and_errors(admin: Admin) -> None:
    calls = [
        ActivityEvent(name="mcp.request", method="tools/call", tool="home__weather", outcome=outcome)
        for outcome in (Outcome.OK, Outcome.OK, Outcome.ERROR)
    ]
    await insert_many(admin.state.database, [*calls, ActivityEvent(name="mcp.request", method="tools/list")])
    body = (await admin.client.get("/api/dashboard")).json()
    assert body["tool_calls"]["last_hour"] == {"calls": 3, "errors": 1}
    assert body["tool_calls"]["last_day"] == {"calls": 3, "errors": 1}
    page = await admin.client.get("/admin/")
    assert "claude mcp add" not in page.text
    assert "home__weather" in page.text  # the error is listed


async def test_servers_list_empty_state_and_detail(admin: Admin) -> None:
    assert "There are no servers yet" in (await admin.client.get("/admin/servers")).text
    await server_store.create_server(admin.state.database, name="home", created_by="llm", description="Lab")
    listing = await admin.client.get("/admin/servers")
    assert 'href="/admin/servers/home"' in listing.text
    detail = await admin.client.get("/admin/servers/home")
    assert detail.status_code == 200
    assert "No secrets yet" in detail.text
    missing = await admin.client.get("/admin/servers/nowhere")
    assert missing.status_code == 404
    assert "no server named" in missing.text
    api_missing = await admin.client.get("/api/servers/nowhere")
    assert api_missing.json()["error"]["code"] == "not_found"


async def test_every_list_caps_page_size(admin: Admin) -> None:
    cap = admin.state.config.page_size_max
    for index in range(3):
        await server_store.create_server(admin.state.database, name=f"s{index}", created_by="llm")
    await insert_many(admin.state.database, [ActivityEvent(name="test.event") for _ in range(cap + 5)])
    servers = (await admin.client.get("/api/servers?page_size=100000")).json()
    assert servers["page_size"] == cap
    assert servers["total"] == 3
    activity = (await admin.client.get("/api/activity?page_size=100000&event=test.")).json()
    assert activity["page_size"] == cap
    assert len(activity["items"]) == cap
    assert activity["total"] == cap + 5
    second = (await admin.client.get(f"/api/activity?page=2&page_size={cap}&event=test.")).json()
    assert len(second["items"]) == 5
    page = await admin.client.get("/admin/activity?page_size=100000&event=test.")
    assert page.text.count("<code>test.event</code>") == cap
    assert 'rel="next"' in page.text


async def test_activity_filters(admin: Admin) -> None:
    await insert_many(
        admin.state.database,
        [
            ActivityEvent(name="mcp.request", server="home", tool="home__a", outcome=Outcome.ERROR),
            ActivityEvent(name="mcp.request", server="lab", tool="lab__b"),
            ActivityEvent(name="test.ancient", actor="owner", at=1.0),
        ],
    )

    async def names(query: str) -> list[tuple[str, str | None]]:
        items = (await admin.client.get(f"/api/activity?{query}")).json()["items"]
        return [(item["name"], item["tool"]) for item in items]

    assert await names("server=home") == [("mcp.request", "home__a")]
    assert await names("tool=lab__b") == [("mcp.request", "lab__b")]
    assert await names("outcome=error") == [("mcp.request", "home__a")]
    assert ("test.ancient", None) not in await names("window=1h")
    assert await names("event=test.&until=1970-01-01T00:00:02Z") == [("test.ancient", None)]
    bad = await admin.client.get("/api/activity?outcome=maybe")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    page = await admin.client.get("/admin/activity?server=home")
    assert "home__a" in page.text
    assert "lab__b" not in page.text
    assert 'data-stream-url="/admin/activity/stream?server=home"' in page.text


async def test_the_live_tail_streams_new_events(tmp_path: Path) -> None:
    async with admin_app(tmp_path, stream_seconds=1.5) as (client, state):
        await run_setup(client, state)

        async def emit_later() -> None:
            await anyio.sleep(0.3)
            state.observe(ActivityEvent(name="mcp.request", method="tools/call", tool="home__weather"))
            state.observe(
                ActivityEvent(name="mcp.request", method="tools/call", tool="lab__other", server="lab")
            )

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(emit_later)
            response = await client.get("/admin/activity/stream?tool=home__weather")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [block for block in response.text.split("\n\n") if block.startswith("id: ")]
        assert len(events) == 1
        data = json.loads(events[0].split("data: ", 1)[1])
        assert data["tool"] == "home__weather"
        assert data["at"].endswith("Z")


async def test_the_live_tail_needs_a_session(fresh: Admin) -> None:
    response = await fresh.client.get("/admin/activity/stream")
    assert response.status_code == 303


async def test_system_page_and_api(admin: Admin) -> None:
    page = await admin.client.get("/admin/system")
    assert page.status_code == 200
    assert "Sandbox isolation" in page.text
    body = (await admin.client.get("/api/system")).json()
    assert body["database"]["dialect"] == "sqlite"
    assert body["database"]["schema_revision"] == body["database"]["schema_head"]
