"""HTTP-level rules of the endpoint: methods, Accept/Content-Type, body cap, parse errors,
Origin/Host checks, caller resolution and shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.gateway import McpGateway
from mcpbox.management.catalog import Caller
from tests.gateway.conftest import (
    MCP,
    POST_HEADERS,
    FakeCatalog,
    GatewayFactory,
    client_for,
    init_params,
    open_session,
    rpc,
    session_headers,
)

pytestmark = pytest.mark.anyio

INIT = rpc("initialize", init_params(), 0)


async def test_post_without_accept_header_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=INIT, headers={"content-type": "application/json"})
    assert response.status_code == 200


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "text/html"])
async def test_post_must_accept_json_and_sse(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "accept": accept})
    assert response.status_code == 406
    assert response.json()["error"]["code"] == -32600


async def test_post_accept_wildcard_is_enough(client: httpx.AsyncClient) -> None:
    response = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "accept": "*/*"})
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_post_needs_json_content_type(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"accept": POST_HEADERS["accept"]}
    if content_type is not None:
        headers["content-type"] = content_type
    response = await client.post(MCP, content=b'{"jsonrpc":"2.0"}', headers=headers)
    assert response.status_code == 415


async def test_json_content_type_with_charset_is_fine(client: httpx.AsyncClient) -> None:
    headers = {**POST_HEADERS, "content-type": "application/json; charset=utf-8"}
    response = await client.post(MCP, json=INIT, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[" * 100_000])
async def test_malformed_json_is_parse_error_with_null_id(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(MCP, content=body, headers=POST_HEADERS)
    assert response.status_code == 400
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error"},
    }


async def test_declared_oversized_body_is_413(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_body_bytes": 1024})
    async with client_for(gateway) as http:
        body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 2000 + b'"}}'
        response = await http.post(MCP, content=body, headers=POST_HEADERS)
    assert response.status_code == 413


async def test_declared_length_is_refused_before_reading(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_body_bytes": 1024})
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        raise AssertionError("the body must not be read")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000000000"),
        ],
        "client": ("127.0.0.1", 40000),
    }
    await gateway(scope, receive, send)
    assert sent[0]["status"] == 413


async def test_chunked_oversized_body_is_413_without_reading_it_all(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_body_bytes": 1024})
    produced = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(100):
            produced += 1
            yield b"x" * 512

    async with client_for(gateway) as http:
        response = await http.post(MCP, content=chunks(), headers=POST_HEADERS)
    assert response.status_code == 413
    assert produced < 10


async def test_body_at_the_limit_is_read(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_body_bytes": 1024})
    message = rpc("initialize", init_params(), 0)
    async with client_for(gateway) as http:
        response = await http.post(MCP, json=message, headers=POST_HEADERS)
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_other_http_methods_are_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, MCP)
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize(
    "origin",
    ["http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "http://[::1]:9000"],
)
async def test_loopback_origins_are_allowed(client: httpx.AsyncClient, origin: str) -> None:
    response = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "origin": origin})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "origin", ["http://evil.example.com", "null", "http://localhost.evil.com", "file://", "http://127.0.0.2"]
)
async def test_foreign_origin_is_403_with_jsonrpc_body(
    client: httpx.AsyncClient, events: list[ActivityEvent], origin: str
) -> None:
    response = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "origin": origin})
    assert response.status_code == 403
    body = response.json()
    assert body["id"] is None
    assert body["error"]["code"] == -32600
    assert events[-1].outcome is Outcome.DENIED


async def test_foreign_origin_is_refused_for_get_and_delete(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    headers = {**session_headers(session_id), "origin": "https://evil.example.com"}
    assert (await client.get(MCP, headers=headers)).status_code == 403
    assert (await client.delete(MCP, headers=headers)).status_code == 403


async def test_public_url_and_configured_origins_are_allowed(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(
        {"public_url": "https://box.example.org/", "allowed_origins": ("https://app.example.net",)}
    )
    async with client_for(gateway) as http:
        for origin in ("https://box.example.org", "https://app.example.net"):
            response = await http.post(MCP, json=INIT, headers={**POST_HEADERS, "origin": origin})
            assert response.status_code == 200, origin
        other = await http.post(MCP, json=INIT, headers={**POST_HEADERS, "origin": "https://example.org"})
        assert other.status_code == 403
        via_public_host = await http.post(MCP, json=INIT, headers={**POST_HEADERS, "host": "box.example.org"})
        assert via_public_host.status_code == 200


async def test_spoofed_host_is_refused_on_loopback(client: httpx.AsyncClient) -> None:
    # What the conformance suite's dns-rebinding-protection scenario sends.
    headers = {**POST_HEADERS, "host": "evil.example.com", "origin": "http://evil.example.com"}
    response = await client.post(MCP, json=INIT, headers=headers)
    assert 400 <= response.status_code < 500
    only_host = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "host": "evil.example.com:8000"})
    assert only_host.status_code == 421


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000"])
async def test_loopback_hosts_are_allowed(client: httpx.AsyncClient, host: str) -> None:
    response = await client.post(MCP, json=INIT, headers={**POST_HEADERS, "host": host})
    assert response.status_code == 200


async def test_host_is_not_checked_when_not_bound_to_loopback(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"host": "0.0.0.0"})
    async with client_for(gateway) as http:
        response = await http.post(MCP, json=INIT, headers={**POST_HEADERS, "host": "box.lan:8000"})
    assert response.status_code == 200


async def test_resolver_returning_none_is_401(make_gateway: GatewayFactory) -> None:
    async def nobody(scope: Any) -> Caller | None:
        return None

    gateway = make_gateway(resolve_caller=nobody)
    async with client_for(gateway) as http:
        response = await http.post(MCP, json=INIT, headers=POST_HEADERS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == -32600


async def test_resolved_caller_reaches_catalog_and_owns_session(
    make_gateway: GatewayFactory, catalog: FakeCatalog
) -> None:
    identity = {"value": "token:alice"}

    async def resolver(scope: Any) -> Caller | None:
        return Caller(identity=identity["value"], remote=True)

    gateway = make_gateway(resolve_caller=resolver)
    async with client_for(gateway) as http:
        session_id = await open_session(http)
        listed = await http.post(MCP, json=rpc("tools/list"), headers=session_headers(session_id))
        assert listed.status_code == 200
        caller = catalog.callers[-1]
        assert (caller.identity, caller.remote, caller.session_id) == ("token:alice", True, session_id)
        assert caller.client_name == "pytest"
        identity["value"] = "token:mallory"
        stolen = await http.post(MCP, json=rpc("tools/list"), headers=session_headers(session_id))
        assert stolen.status_code == 404


async def test_default_caller_is_local_and_not_remote_on_loopback(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    session_id = await open_session(client)
    await client.post(MCP, json=rpc("tools/list"), headers=session_headers(session_id))
    assert catalog.callers[-1].identity == "local"
    assert catalog.callers[-1].remote is False


async def test_peer_off_machine_is_remote(gateway: McpGateway, catalog: FakeCatalog) -> None:
    transport = httpx.ASGITransport(app=gateway, client=("192.0.2.7", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        session_id = await open_session(http)
        await http.post(MCP, json=rpc("tools/list"), headers=session_headers(session_id))
    assert catalog.callers[-1].remote is True


async def test_closed_gateway_refuses_with_503(client: httpx.AsyncClient, gateway: McpGateway) -> None:
    session_id = await open_session(client)
    await gateway.close()
    assert gateway.session_count == 0
    response = await client.post(MCP, json=rpc("ping"), headers=session_headers(session_id))
    assert response.status_code == 503
