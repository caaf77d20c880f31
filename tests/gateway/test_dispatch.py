"""Method handlers: tools/list pagination, tools/call results and the error table."""

from __future__ import annotations

import logging

import httpx
import pytest

from mcpbox import errors
from mcpbox.gateway.dispatch import decode_cursor, encode_cursor
from mcpbox.gateway.errors import to_rpc_error
from mcpbox.gateway.jsonrpc import RpcError
from tests.gateway.conftest import (
    MCP,
    SECRET_FAILURE,
    FakeCatalog,
    GatewayFactory,
    client_for,
    open_session,
    rpc,
    session_headers,
)

pytestmark = pytest.mark.anyio


async def call(
    http: httpx.AsyncClient, session_id: str, method: str, params: dict[str, object]
) -> httpx.Response:
    return await http.post(MCP, json=rpc(method, params), headers=session_headers(session_id))


async def test_tools_list_pages_through_every_tool(make_gateway: GatewayFactory) -> None:
    catalog = FakeCatalog(extra_tools=7)
    gateway = make_gateway({"page_size_max": 5}, catalog=catalog)
    async with client_for(gateway) as http:
        session_id = await open_session(http)
        names: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, object] = {} if cursor is None else {"cursor": cursor}
            result = (await call(http, session_id, "tools/list", params)).json()["result"]
            pages += 1
            assert len(result["tools"]) <= 5
            names += [tool["name"] for tool in result["tools"]]
            cursor = result.get("nextCursor")
            if cursor is None:
                break
    assert pages == 3
    assert names == [tool.name for tool in catalog.tools]


async def test_tool_descriptor_shape(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    tools = (await call(client, session_id, "tools/list", {})).json()["result"]["tools"]
    echo = tools[0]
    assert echo["name"] == "echo"
    assert echo["description"]
    assert echo["inputSchema"]["type"] == "object"
    assert echo["annotations"]["readOnlyHint"] is True
    assert "nextCursor" not in (await call(client, session_id, "tools/list", {})).json()["result"]


@pytest.mark.parametrize("cursor", ["garbage", 42, "", encode_cursor(999)])
async def test_invalid_cursor_is_32602(client: httpx.AsyncClient, cursor: object) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/list", {"cursor": cursor})
    assert response.json()["error"]["code"] == -32602


def test_cursor_round_trips_and_is_opaque() -> None:
    cursor = encode_cursor(100)
    assert "100" not in cursor
    assert decode_cursor(cursor) == 100


async def test_tools_call_returns_catalog_result(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": "echo", "arguments": {"text": "héllo"}})
    assert response.json()["result"] == {"content": [{"type": "text", "text": "héllo"}], "isError": False}


async def test_tool_error_is_a_result_not_a_protocol_error(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": "failing", "arguments": {}})
    assert response.json()["result"]["isError"] is True


async def test_arguments_may_be_omitted(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": "echo"})
    assert response.json()["result"]["content"][0]["text"] == ""


@pytest.mark.parametrize("name", ["vanishing", "never_existed"])
async def test_unknown_tool_is_32602_without_internal_detail(client: httpx.AsyncClient, name: str) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": name, "arguments": {}})
    assert response.json()["error"] == {"code": -32602, "message": f"Unknown tool: {name}"}
    assert "/var/lib" not in response.text


async def test_a_known_tool_that_is_not_callable_says_why(client: httpx.AsyncClient) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": "awaiting_review", "arguments": {}})
    assert response.json()["error"] == {
        "code": -32602,
        "message": "Unknown tool: awaiting_review "
        "(tool 'awaiting_review' is pending review; the owner must approve it)",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"arguments": {}},
        {"name": 3},
        {"name": "echo", "arguments": [1, 2]},
        {"name": "echo", "arguments": "x"},
    ],
)
async def test_malformed_tools_call_params_are_32602(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", params)
    assert response.json()["error"]["code"] == -32602


async def test_unexpected_exception_is_internal_error_without_leak(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = await open_session(client)
    with caplog.at_level(logging.ERROR, logger="mcpbox.gateway"):
        response = await call(client, session_id, "tools/call", {"name": "boom", "arguments": {}})
    assert response.json()["error"] == {"code": -32603, "message": "Internal error"}
    for fragment in ("/etc/secret", "SELECT", "RuntimeError", "Traceback", "api_keys"):
        assert fragment not in response.text
    assert SECRET_FAILURE in caplog.text  # the operator still sees it in the server log


async def test_storage_error_in_listing_is_internal(client: httpx.AsyncClient, catalog: FakeCatalog) -> None:
    session_id = await open_session(client)
    catalog.list_error = errors.StorageError("SELECT * FROM tools failed at /data/mcpbox.db")
    response = await call(client, session_id, "tools/list", {})
    assert response.json()["error"] == {"code": -32603, "message": "Internal error"}


async def test_public_message_of_deliberate_errors_reaches_client(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    session_id = await open_session(client)
    catalog.list_error = errors.Busy("queue depth 64 reached", public_message="mcpbox is busy")
    response = await call(client, session_id, "tools/list", {})
    assert response.json()["error"] == {"code": -32000, "message": "mcpbox is busy"}


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.NotFound(), -32602),
        (errors.InvalidInput(), -32602),
        (errors.PermissionDenied(), -32001),
        (errors.Conflict(), -32003),
        (errors.Busy(), -32000),
        (errors.CryptoError("key file /k missing"), -32603),
        (errors.ConfigError("bad"), -32603),
        (ValueError("x"), -32603),
    ],
)
def test_error_table(exc: Exception, code: int) -> None:
    error = to_rpc_error(exc)
    assert error.code == code
    if code == -32603:
        assert error.message == "Internal error"
    else:
        assert error.message == exc.public_message  # type: ignore[attr-defined]


def test_rpc_errors_pass_through_unchanged() -> None:
    original = RpcError(-32602, "Invalid cursor")
    assert to_rpc_error(original) is original


async def test_sandbox_error_becomes_tool_error_result(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    async def refuse(*args: object) -> object:
        raise errors.LimitExceeded("rss 300 MiB > 256 MiB", public_message="the call ran out of memory")

    catalog.call_tool = refuse  # type: ignore[method-assign,assignment]
    session_id = await open_session(client)
    response = await call(client, session_id, "tools/call", {"name": "echo", "arguments": {}})
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "the call ran out of memory"}]
