"""The policy's attack corpus, run through real sandbox workers.

With the policy on, no case may return ``ESCAPED``: it is refused, fails, or is killed by a limit.
With the policy off, the cases aimed at the host (files, environment, resources) must still be
stopped by the OS layer alone - the proof that the two layers each hold by themselves.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from mcpbox.config import Config
from mcpbox.errors import LimitExceeded
from mcpbox.sandbox.call_limits import SandboxLimits
from mcpbox.sandbox.egress import EgressGrant
from mcpbox.sandbox.pool import SandboxPool
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse
from tests.sandbox.attack_corpus import ATTACKS, OS_LAYER

pytestmark = pytest.mark.anyio
GRANT = EgressGrant(server="test")
SENTINEL_NAME = "MCPBOX_ESCAPE_SENTINEL"
SENTINEL_VALUE = "supervisor-only-7f3a"
HOST_CASES = [
    case for case in ATTACKS if case[0] in ("file_reads", "environment_reads") or case[1] in OS_LAYER
]


def _ids(cases: list[tuple[str, str, str]]) -> list[str]:
    return [f"{group}-{name}" for group, name, _ in cases]


async def refuse(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
    return HttpResponse(error="refused: no network in this test")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """One event loop for the module, so one pool serves every case."""
    return "asyncio"


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    # The sentinel lives in the server's environment only; the zygote starts with a scrubbed one.
    os.environ[SENTINEL_NAME] = SENTINEL_VALUE
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 4, "sandbox_pool_size": 8})
    sandbox = SandboxPool(config, refuse)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()
        del os.environ[SENTINEL_NAME]


def _limits(pool: SandboxPool) -> SandboxLimits:
    return pool.default_limits.replace(timeout_seconds=2.0, cpu_seconds=1)


async def _result(pool: SandboxPool, source: str, *, policy: bool) -> str | None:
    """The tool's result text, or None when the call failed or was stopped."""
    try:
        outcome = await pool.run_once(source, {}, secrets={"TOKEN": "s3cret"}, grant=GRANT, policy=policy,
                                      limits=_limits(pool))  # fmt: skip
    except LimitExceeded:
        return None
    return outcome.result_json if outcome.ok else None


@pytest.mark.parametrize(("group", "name", "source"), ATTACKS, ids=_ids(ATTACKS))
async def test_both_layers_together_stop_the_attack(
    pool: SandboxPool, group: str, name: str, source: str
) -> None:
    result = await _result(pool, source, policy=True)
    assert result is None or "ESCAPED" not in result, f"{name} escaped: {result}"


@pytest.mark.parametrize(("group", "name", "source"), HOST_CASES, ids=_ids(HOST_CASES))
async def test_the_os_layer_alone_stops_attacks_on_the_host(
    pool: SandboxPool, group: str, name: str, source: str
) -> None:
    result = await _result(pool, source, policy=False)
    if name in OS_LAYER:
        assert result is None, f"{name} was not stopped: {result}"
    elif group == "file_reads":
        assert result is None or "root:" not in result, f"{name} read a host file: {result}"
    else:
        assert result is None or SENTINEL_VALUE not in result, f"{name} saw the server's environment"
