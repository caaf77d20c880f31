"""network_access_policy reaches every call's egress grant (the broker's own tests show what a
grant with each policy lets through), and private ranges stay refused under public_internet."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcpbox.db import setting_store
from mcpbox.management.catalog import Caller
from mcpbox.sandbox.egress import EgressBroker
from mcpbox.sandbox.worker.messages import HttpRequest
from tests.app_harness import running_app

pytestmark = pytest.mark.anyio


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="public ok")


async def fake_resolver(host: str, port: int) -> list[object]:
    """Answers only for made-up names; the addresses are only classified (MockTransport answers,
    nothing leaves the process)."""
    import ipaddress

    table = {"api.public.invalid": "8.8.8.8", "nas.home.invalid": "192.168.1.20"}
    return [ipaddress.ip_address(table[host])]


async def test_public_internet_lets_a_call_reach_any_public_host_but_never_a_private_one(
    tmp_path: Path,
) -> None:
    broker = EgressBroker(
        transport=httpx.MockTransport(answer),
        resolver=fake_resolver,  # type: ignore[arg-type]
        max_response_bytes=1 << 20,
        timeout_seconds=5,
    )
    async with running_app(tmp_path) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        public = HttpRequest(method="GET", url="https://api.public.invalid/x")
        private = HttpRequest(method="GET", url="https://nas.home.invalid/x")

        allowlist = (await state.runner.context_for("lab")).new_grant()
        assert allowlist.policy == "allowlist"
        assert (await broker(public, allowlist)).error is not None

        await setting_store.set_setting(
            state.database, "network_access_policy", "public_internet", updated_by="t"
        )
        await state.watcher.check()
        open_grant = (await state.runner.context_for("lab")).new_grant()
        assert open_grant.policy == "public_internet"
        reached = await broker(public, open_grant)
        assert reached.error is None
        assert reached.status_code == 200
        refused = await broker(private, open_grant)
        assert refused.error is not None
        assert "refused" in refused.error
    await broker.aclose()


async def test_the_request_cap_setting_reaches_the_grant(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_CALL_HTTP_REQUESTS": "50"}) as (_, state):
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        assert (await state.runner.context_for("lab")).new_grant().max_requests == 50
        assert (await state.runner.context_for(None)).new_grant().max_requests == 50
