"""Handshake era over POST: negotiation, sessions, notifications, batches, activity events."""

from __future__ import annotations

import httpx
import pytest

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.gateway import McpGateway
from tests.gateway.conftest import (
    MCP,
    POST_HEADERS,
    GatewayFactory,
    client_for,
    init_params,
    open_session,
    rpc,
    session_headers,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"])
async def test_initialize_echoes_each_supported_version(client: httpx.AsyncClient, version: str) -> None:
    response = await client.post(MCP, json=rpc("initialize", init_params(version)), headers=POST_HEADERS)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["protocolVersion"] == version
    assert result["capabilities"] == {"tools": {"listChanged": True}, "logging": {}}
    assert result["serverInfo"]["name"] == "mcpbox"


@pytest.mark.parametrize("version", ["2099-01-01", "2026-07-28", None])
async def test_initialize_answers_latest_handshake_version_otherwise(
    client: httpx.AsyncClient, version: str | None
) -> None:
    params = init_params()
    params["protocolVersion"] = version
    response = await client.post(MCP, json=rpc("initialize", params), headers=POST_HEADERS)
    assert response.json()["result"]["protocolVersion"] == "2025-11-25"


async def test_initialize_with_id_zero_is_a_request(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=rpc("initialize", init_params(), 0), headers=POST_HEADERS)
    assert response.status_code == 200
    assert response.json()["id"] == 0
    assert "result" in response.json()


async def test_session_id_is_random_visible_ascii(client: httpx.AsyncClient) -> None:
    first = await open_session(client)
    second = await open_session(client)
    assert first != second
    assert len(first) >= 32
    assert all(0x21 <= ord(char) <= 0x7E for char in first)


async def test_instructions_are_sent_when_configured(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(instructions="Use mcpbox_* tools to manage tools.")
    async with client_for(gateway) as http:
        response = await http.post(MCP, json=rpc("initialize", init_params()), headers=POST_HEADERS)
    assert response.json()["result"]["instructions"] == "Use mcpbox_* tools to manage tools."


async def test_request_without_session_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=rpc("tools/list"), headers=POST_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


async def test_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers("no-such-session"))
    assert response.status_code == 404


async def test_delete_ends_session_then_404(client: httpx.AsyncClient, gateway: McpGateway) -> None:
    session_id = await open_session(client)
    assert gateway.session_count == 1
    deleted = await client.delete(MCP, headers={"mcp-session-id": session_id})
    assert deleted.status_code == 200
    assert gateway.session_count == 0
    after = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id))
    assert after.status_code == 404
    again = await client.delete(MCP, headers={"mcp-session-id": session_id})
    assert again.status_code == 404


async def test_delete_without_session_is_400(client: httpx.AsyncClient) -> None:
    response = await client.delete(MCP)
    assert response.status_code == 400


async def test_ping_returns_empty_result(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(MCP, json=rpc("ping", request_id="p-1"), headers=session_headers(session_id))
    assert response.json() == {"jsonrpc": "2.0", "id": "p-1", "result": {}}


async def test_missing_protocol_version_header_is_tolerated(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id, version=None))
    assert response.status_code == 200


async def test_unsupported_protocol_version_header_is_400(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id, "1999-01-01"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


async def test_supported_but_different_header_version_is_accepted(client: httpx.AsyncClient) -> None:
    # Claude Code negotiates 2024-11-05 and then sends 2025-11-25 (MCP-NOTES §3a).
    session_id = await open_session(client, "2024-11-05")
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id, "2025-11-25"))
    assert response.status_code == 200


async def test_notifications_and_responses_get_202_without_body(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    headers = session_headers(session_id)
    note = await client.post(MCP, json=rpc("notifications/whatever", request_id=None), headers=headers)
    reply = await client.post(MCP, json={"jsonrpc": "2.0", "id": 7, "result": {}}, headers=headers)
    for response in (note, reply):
        assert response.status_code == 202
        assert response.content == b""


@pytest.mark.parametrize("bad_id", [None, 1.5, True, {"a": 1}])
async def test_invalid_ids_are_invalid_requests(client: httpx.AsyncClient, bad_id: object) -> None:
    session_id = await open_session(client)
    message = {"jsonrpc": "2.0", "id": bad_id, "method": "ping"}
    response = await client.post(MCP, json=message, headers=session_headers(session_id))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert response.json()["id"] is None


async def test_not_jsonrpc_shape_is_invalid_request(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(MCP, json={"hello": "world"}, headers=session_headers(session_id))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


async def test_unknown_method_is_32601(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    for method in ("resources/read", "prompts/get", "server/discover", "no/such"):
        response = await client.post(MCP, json=rpc(method), headers=session_headers(session_id))
        assert response.json()["error"]["code"] == -32601


@pytest.mark.parametrize(
    "level", ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
)
async def test_set_level_accepts_syslog_levels(client: httpx.AsyncClient, level: str) -> None:
    session_id = await open_session(client)
    response = await client.post(
        MCP, json=rpc("logging/setLevel", {"level": level}), headers=session_headers(session_id)
    )
    assert response.json()["result"] == {}


async def test_set_level_rejects_unknown_level(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await client.post(
        MCP, json=rpc("logging/setLevel", {"level": "verbose"}), headers=session_headers(session_id)
    )
    assert response.json()["error"]["code"] == -32602


async def test_batch_is_served_on_2025_03_26(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client, "2025-03-26")
    batch = [
        rpc("ping", request_id=1),
        rpc("notifications/initialized", request_id=None),
        rpc("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, request_id=2),
        {"jsonrpc": "2.0", "id": 3},
    ]
    response = await client.post(MCP, json=batch, headers=session_headers(session_id, "2025-03-26"))
    assert response.status_code == 200
    answers = {item["id"]: item for item in response.json()}
    assert answers[1]["result"] == {}
    assert answers[2]["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert answers[3]["error"]["code"] == -32600
    assert len(answers) == 3


async def test_batch_of_notifications_is_202(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client, "2025-03-26")
    batch = [rpc("notifications/initialized", request_id=None)]
    response = await client.post(MCP, json=batch, headers=session_headers(session_id, "2025-03-26"))
    assert response.status_code == 202


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2024-11-05"])
async def test_batch_is_refused_on_other_versions(client: httpx.AsyncClient, version: str) -> None:
    session_id = await open_session(client, version)
    response = await client.post(MCP, json=[rpc("ping")], headers=session_headers(session_id, version))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32600
    assert error["message"] == "batch not supported in this version"


async def test_initialize_is_never_batched(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client, "2025-03-26")
    batch = [rpc("initialize", init_params("2025-03-26"))]
    for headers in (POST_HEADERS, session_headers(session_id, "2025-03-26")):
        response = await client.post(MCP, json=batch, headers=headers)
        assert response.status_code == 400
        assert "initialize" in response.json()["error"]["message"]


async def test_empty_batch_is_invalid(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client, "2025-03-26")
    response = await client.post(MCP, json=[], headers=session_headers(session_id, "2025-03-26"))
    assert response.status_code == 400


async def test_every_request_is_recorded(client: httpx.AsyncClient, events: list[ActivityEvent]) -> None:
    session_id = await open_session(client)
    await client.post(
        MCP,
        json=rpc("tools/call", {"name": "failing", "arguments": {}}),
        headers=session_headers(session_id),
    )
    assert [event.method for event in events] == ["initialize", "notifications/initialized", "tools/call"]
    assert all(event.name == "mcp.request" for event in events)
    call = events[-1]
    assert call.tool == "failing"
    assert call.outcome is Outcome.ERROR
    assert call.session_id == session_id
    assert call.client_name == "pytest"
    assert call.actor == "local"
    assert call.duration_ms is not None
    assert call.duration_ms >= 0


async def test_recorder_failure_does_not_fail_the_request(make_gateway: GatewayFactory) -> None:
    def broken(event: ActivityEvent) -> None:
        raise RuntimeError("queue gone")

    gateway = make_gateway(record=broken)
    async with client_for(gateway) as http:
        response = await http.post(MCP, json=rpc("initialize", init_params()), headers=POST_HEADERS)
    assert response.status_code == 200
