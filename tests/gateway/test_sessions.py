"""Session lifetime: idle expiry, the maintenance loop, the size cap, and what closing does."""

from __future__ import annotations

import anyio
import pytest

from mcpbox.gateway.sessions import SessionState, SessionTable
from mcpbox.management.catalog import Caller
from tests.gateway.conftest import MCP, GatewayFactory, client_for, open_session, rpc, session_headers

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_idle_session_expires_and_then_404(make_gateway: GatewayFactory) -> None:
    clock = Clock()
    gateway = make_gateway({"session_idle_seconds": 60}, clock=clock)
    async with client_for(gateway) as http:
        session_id = await open_session(http)
        clock.now += 59
        assert (
            await http.post(MCP, json=rpc("ping"), headers=session_headers(session_id))
        ).status_code == 200
        clock.now += 59  # the ping above renewed it
        assert (
            await http.post(MCP, json=rpc("ping"), headers=session_headers(session_id))
        ).status_code == 200
        clock.now += 61
        response = await http.post(MCP, json=rpc("ping"), headers=session_headers(session_id))
    assert response.status_code == 404
    assert gateway.session_count == 0


async def test_maintenance_sweeps_idle_sessions(make_gateway: GatewayFactory) -> None:
    clock = Clock()
    gateway = make_gateway({"session_idle_seconds": 10}, clock=clock)
    async with client_for(gateway) as http:
        await open_session(http)
        await open_session(http)
    assert gateway.session_count == 2
    assert gateway.expire_idle_sessions() == 0
    clock.now += 11
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(gateway.run_maintenance)
        with anyio.fail_after(5):
            while gateway.session_count:
                await anyio.sleep(0.05)
        tasks.cancel_scope.cancel()


async def test_oldest_idle_session_is_evicted_at_the_cap(make_gateway: GatewayFactory) -> None:
    clock = Clock()
    gateway = make_gateway({"max_sessions": 2}, clock=clock)
    async with client_for(gateway) as http:
        first = await open_session(http)
        clock.now += 1
        second = await open_session(http)
        clock.now += 1
        await http.post(MCP, json=rpc("ping"), headers=session_headers(first))  # first is now the fresher
        clock.now += 1
        third = await open_session(http)
        assert gateway.session_count == 2
        statuses = {
            name: (await http.post(MCP, json=rpc("ping"), headers=session_headers(sid))).status_code
            for name, sid in (("first", first), ("second", second), ("third", third))
        }
    assert statuses == {"first": 200, "second": 404, "third": 200}


async def test_closing_a_session_cancels_its_work() -> None:
    table = SessionTable(idle_seconds=10, max_sessions=5, clock=Clock())
    session = table.create(version="2025-11-25", caller=Caller(identity="local"))
    assert session.caller.session_id == session.id
    with anyio.CancelScope() as scope:
        session.inflight[1] = scope
        table.remove(session.id)
        await anyio.sleep(5)
    assert scope.cancelled_caught
    assert session.state is SessionState.CLOSED
    assert table.get(session.id) is None


async def test_cancel_request_ignores_unknown_ids() -> None:
    table = SessionTable(idle_seconds=10, max_sessions=5, clock=Clock())
    session = table.create(version="2025-11-25", caller=Caller(identity="local"))
    assert session.cancel_request(99) is False
    assert session.cancel_request(None) is False
