"""GET streams and cancellation against a real hypercorn server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from mcpbox.activity.bus import ChangeBus
from tests.gateway.conftest import (
    FakeCatalog,
    GatewayFactory,
    modern_headers,
    modern_meta,
    open_session,
    rpc,
    served,
    session_headers,
)

pytestmark = pytest.mark.anyio

SDK_ACCEPT = {"accept": "application/json, text/event-stream"}


async def read_until(chunks: AsyncIterator[bytes], marker: bytes, seconds: float = 5) -> bytes:
    seen = b""
    with anyio.fail_after(seconds):
        async for chunk in chunks:
            seen += chunk
            if marker in seen:
                return seen
    raise AssertionError(f"stream ended before {marker!r}: {seen!r}")


async def test_list_changed_is_pushed_on_the_get_stream(make_gateway: GatewayFactory, bus: ChangeBus) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        session_id = await open_session(http, url=url)
        headers = {**SDK_ACCEPT, "mcp-session-id": session_id}
        async with http.stream("GET", url, headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"] == "text/event-stream"
            assert stream.headers["cache-control"] == "no-cache, no-transform"
            assert stream.headers["x-accel-buffering"] == "no"
            chunks = stream.aiter_raw()
            await read_until(chunks, b": stream open")
            assert gateway.stream_count == 1
            bus.publish()
            seen = await read_until(chunks, b"list_changed")
    assert b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}' in seen


async def test_list_changed_reaches_every_open_stream(make_gateway: GatewayFactory, bus: ChangeBus) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        first, second = await open_session(http, url=url), await open_session(http, url=url)
        async with (
            http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": first}) as one,
            http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": second}) as two,
        ):
            chunks = [one.aiter_raw(), two.aiter_raw()]
            for stream_chunks in chunks:
                await read_until(stream_chunks, b": stream open")
            bus.publish()
            for stream_chunks in chunks:
                await read_until(stream_chunks, b"list_changed")


async def test_gateway_close_ends_open_streams(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        session_id = await open_session(http, url=url)
        async with http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": session_id}) as stream:
            chunks = stream.aiter_raw()
            await read_until(chunks, b": stream open")
            await gateway.close()
            with anyio.fail_after(5):
                async for _ in chunks:
                    pass
        assert gateway.stream_count == 0
        assert gateway.session_count == 0


async def test_keepalive_comments_flow_while_idle(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"sse_keepalive_seconds": 1})
    async with served(gateway) as url, httpx.AsyncClient() as http:
        session_id = await open_session(http, url=url)
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with http.stream("GET", url, headers=headers) as stream:
            await read_until(stream.aiter_raw(), b": keep-alive\n\n", seconds=4)


async def test_stream_count_is_capped_and_one_per_session(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_sse_streams": 1})
    async with served(gateway) as url, httpx.AsyncClient() as http:
        first = await open_session(http, url=url)
        second = await open_session(http, url=url)
        async with http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": first}) as stream:
            chunks = stream.aiter_raw()  # keep a reference: a collected iterator closes the stream
            await read_until(chunks, b": stream open")
            assert gateway.stream_count == 1
            same = await http.get(url, headers={**SDK_ACCEPT, "mcp-session-id": first})
            assert same.status_code == 409
            over = await http.get(url, headers={**SDK_ACCEPT, "mcp-session-id": second})
            assert over.status_code == 503
            assert over.json()["error"]["code"] == -32603
        with anyio.fail_after(5):
            while gateway.stream_count:  # the client hung up: the slot frees
                await anyio.sleep(0.02)
        async with http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": second}) as stream:
            assert stream.status_code == 200


async def test_delete_closes_the_sessions_stream(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        session_id = await open_session(http, url=url)
        async with http.stream("GET", url, headers={**SDK_ACCEPT, "mcp-session-id": session_id}) as stream:
            chunks = stream.aiter_raw()
            await read_until(chunks, b": stream open")
            assert (await http.delete(url, headers={"mcp-session-id": session_id})).status_code == 200
            with anyio.fail_after(5):
                async for _ in chunks:
                    pass  # ends because the server closed the stream
        assert gateway.stream_count == 0


async def test_get_rules(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        session_id = await open_session(http, url=url)
        probe = await http.get(url, headers={"accept": "text/event-stream"})  # mcp-remote's probe
        assert probe.status_code == 400
        unknown = await http.get(url, headers={"accept": "text/event-stream", "mcp-session-id": "nope"})
        assert unknown.status_code == 404
        json_only = await http.get(url, headers={"accept": "application/json", "mcp-session-id": session_id})
        assert json_only.status_code == 406


async def test_cancelled_notification_cancels_in_flight_call(
    make_gateway: GatewayFactory, catalog: FakeCatalog
) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient(timeout=10) as http:
        session_id = await open_session(http, url=url)
        headers = session_headers(session_id)
        outcome: dict[str, httpx.Response] = {}

        async def slow_call() -> None:
            message = rpc("tools/call", {"name": "slow", "arguments": {}}, request_id="call-7")
            outcome["slow"] = await http.post(url, json=message, headers=headers)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(slow_call)
            with anyio.fail_after(5):
                await catalog.slow_started.wait()
            cancel = rpc(
                "notifications/cancelled", {"requestId": "call-7", "reason": "user"}, request_id=None
            )
            assert (await http.post(url, json=cancel, headers=headers)).status_code == 202
            with anyio.fail_after(5):
                await catalog.slow_cancelled.wait()
        assert outcome["slow"].status_code == 202
        assert outcome["slow"].content == b""


async def test_cancelling_another_request_id_does_nothing(
    make_gateway: GatewayFactory, catalog: FakeCatalog
) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient(timeout=10) as http:
        session_id = await open_session(http, url=url)
        other_session = await open_session(http, url=url)
        async with anyio.create_task_group() as tasks:
            message = rpc("tools/call", {"name": "slow", "arguments": {}}, request_id=5)
            tasks.start_soon(lambda: http.post(url, json=message, headers=session_headers(session_id)))
            with anyio.fail_after(5):
                await catalog.slow_started.wait()
            for sid, request_id in ((session_id, 6), (other_session, 5)):
                cancel = rpc("notifications/cancelled", {"requestId": request_id}, request_id=None)
                await http.post(url, json=cancel, headers=session_headers(sid))
            await anyio.sleep(0.2)
            assert not catalog.slow_cancelled.is_set()
            tasks.cancel_scope.cancel()


async def test_modern_call_is_cancelled_when_client_hangs_up(
    make_gateway: GatewayFactory, catalog: FakeCatalog
) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient(timeout=10) as http:
        message = rpc("tools/call", {"name": "slow", "arguments": {}, "_meta": modern_meta()})
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                lambda: http.post(url, json=message, headers=modern_headers("tools/call", "slow"))
            )
            with anyio.fail_after(5):
                await catalog.slow_started.wait()
            tasks.cancel_scope.cancel()  # closes the connection mid-request
        with anyio.fail_after(5):
            await catalog.slow_cancelled.wait()


def listen_request(notifications: object, request_id: int = 41) -> dict[str, object]:
    return rpc("subscriptions/listen", {"notifications": notifications, "_meta": modern_meta()}, request_id)


LISTEN_HEADERS = modern_headers("subscriptions/listen")


async def test_listen_stream_acknowledges_then_pushes_stamped_changes(
    make_gateway: GatewayFactory, bus: ChangeBus
) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        request = listen_request({"toolsListChanged": True, "promptsListChanged": True})
        async with http.stream("POST", url, json=request, headers=LISTEN_HEADERS) as stream:
            assert stream.headers["content-type"] == "text/event-stream"
            chunks = stream.aiter_raw()
            seen = await read_until(chunks, b"acknowledged")
            assert (
                b'"method":"notifications/subscriptions/acknowledged","params":{"notifications":'
                b'{"toolsListChanged":true},"_meta":{"io.modelcontextprotocol/subscriptionId":41}}' in seen
            )
            assert gateway.stream_count == 1
            bus.publish()
            seen = await read_until(chunks, b"list_changed")
            assert (
                b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed",'
                b'"params":{"_meta":{"io.modelcontextprotocol/subscriptionId":41}}}' in seen
            )
        with anyio.fail_after(5):
            while gateway.stream_count:  # hanging up ends the subscription
                await anyio.sleep(0.02)


async def test_listen_stream_sends_only_requested_kinds(make_gateway: GatewayFactory, bus: ChangeBus) -> None:
    gateway = make_gateway({"sse_keepalive_seconds": 1})
    async with served(gateway) as url, httpx.AsyncClient() as http:
        request = listen_request({"promptsListChanged": True})
        async with http.stream("POST", url, json=request, headers=LISTEN_HEADERS) as stream:
            chunks = stream.aiter_raw()
            seen = await read_until(chunks, b"acknowledged")
            assert b'"notifications":{}' in seen
            bus.publish()
            seen = await read_until(chunks, b": keep-alive", seconds=4)
            assert b"list_changed" not in seen


async def test_listen_stream_ends_with_result_on_shutdown(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        request = listen_request({"toolsListChanged": True}, request_id=9)
        async with http.stream("POST", url, json=request, headers=LISTEN_HEADERS) as stream:
            chunks = stream.aiter_raw()
            await read_until(chunks, b"acknowledged")
            await gateway.close()
            seen = await read_until(chunks, b'"result"')
            async for _ in chunks:
                pass
    assert b'"id":9,"result":{"resultType":"complete"' in seen
    assert b'"io.modelcontextprotocol/subscriptionId":9' in seen


async def test_listen_streams_share_the_stream_cap(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"max_sse_streams": 1})
    async with (
        served(gateway) as url,
        httpx.AsyncClient() as http,
        http.stream("POST", url, json=listen_request({}), headers=LISTEN_HEADERS) as stream,
    ):
        chunks = stream.aiter_raw()
        await read_until(chunks, b"acknowledged")
        second = await http.post(url, json=listen_request({}, 42), headers=LISTEN_HEADERS)
        assert second.status_code == 503
        session_id = await open_session(http, url=url)
        get = await http.get(url, headers={**SDK_ACCEPT, "mcp-session-id": session_id})
        assert get.status_code == 503


async def test_listen_needs_a_filter(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async with served(gateway) as url, httpx.AsyncClient() as http:
        response = await http.post(url, json=listen_request("tools"), headers=LISTEN_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
