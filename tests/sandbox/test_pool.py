"""The pool with real workers: one-shot and warm lifetimes, retirement, limits, busy, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.config import Config
from mcpbox.errors import Busy, IsolationUnavailable, LimitExceeded, SandboxError
from mcpbox.sandbox.egress import EgressGrant
from mcpbox.sandbox.pool import EgressHandler, PoolState, SandboxPool, call_budget
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

pytestmark = pytest.mark.anyio
GRANT = EgressGrant(server="test")
ECHO = "def main(x: int) -> dict:\n    return {'x': x}\n"
SPIN = "def main() -> int:\n    n = 0\n    while True:\n        n += 1\n"


async def refuse(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
    return HttpResponse(error="refused: no network in this test")


@contextlib.asynccontextmanager
async def running_pool(
    egress: EgressHandler = refuse, events: list[ActivityEvent] | None = None, **settings: object
) -> AsyncIterator[SandboxPool]:
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 2, **settings})
    pool = SandboxPool(config, egress, emit=events.append if events is not None else None)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


def warm_pids(pool: SandboxPool, version: str, server: str | None = None) -> list[int]:
    return [
        info.pid
        for info in pool.snapshot()
        if info.version_key == version and (server is None or info.server_key == server)
    ]


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_run_once_returns_the_result() -> None:
    async with running_pool() as pool:
        outcome = await pool.run_once(ECHO, {"x": 5}, secrets={}, grant=GRANT)
        assert outcome.ok
        assert outcome.result_json is not None
        assert json.loads(outcome.result_json) == {"x": 5}


async def test_a_one_shot_call_leaves_nothing_for_the_next() -> None:
    store = (
        "import json\n"
        "def main() -> list:\n"
        "    seen = getattr(json, 'left_behind', None)\n"
        "    json.left_behind = 'secret'\n"
        "    return [seen]\n"
    )
    async with running_pool() as pool:
        first = await pool.run_once(store, {}, secrets={}, grant=GRANT, policy=False)
        second = await pool.run_once(store, {}, secrets={}, grant=GRANT, policy=False)
    assert first.result_json == second.result_json == "[null]"


async def test_rejected_code_comes_back_with_line_numbers() -> None:
    async with running_pool() as pool:
        outcome = await pool.run_once(
            "import os\ndef main() -> int:\n    return 1\n", {}, secrets={}, grant=GRANT
        )
        assert not outcome.ok
        assert outcome.error_kind == "policy"
        assert outcome.violations
        assert outcome.violations[0].line == 1
        report = await pool.validate("import os\ndef main() -> int:\n    return 1\n")
        assert not report.ok
        assert report.violations[0].line == 1
        good = await pool.validate(ECHO)
        assert good.ok
        assert good.input_schema is not None


async def test_http_requests_are_relayed_with_the_calls_grant() -> None:
    grants: list[EgressGrant] = []

    async def egress(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
        grants.append(grant)
        return HttpResponse(status_code=200, body=b"pong " + request.url.encode())

    tool = "async def main() -> str:\n    r = await http.get('https://example.org/ping')\n    return r.text\n"
    async with running_pool(egress) as pool:
        outcome = await pool.run_once(tool, {}, secrets={}, grant=GRANT)
    assert outcome.ok, outcome.error
    assert outcome.result_json == json.dumps("pong https://example.org/ping")
    assert grants == [GRANT]


async def test_a_warm_worker_serves_only_its_version_and_server() -> None:
    async with running_pool() as pool:
        for _ in range(3):
            assert (await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)).ok
        (v1,) = warm_pids(pool, "v1")
        await pool.run_warm("v2", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        await pool.run_warm("v1", "s2", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={"token": "new"}, grant=GRANT)
        pids = {info.pid for info in pool.snapshot() if info.version_key is not None}
        assert len(pids) == 4
        assert [info.calls for info in pool.snapshot() if info.pid == v1] == [3]


async def test_secrets_reach_the_warm_worker_on_its_first_call() -> None:
    tool = "def main() -> str:\n    return secrets['token']\n"
    async with running_pool() as pool:
        for _ in range(2):
            outcome = await pool.run_warm("v1", "s1", tool, {}, secrets={"token": "t0k"}, grant=GRANT)
            assert outcome.result_json == '"t0k"'


async def test_a_warm_worker_retires_after_max_calls() -> None:
    async with running_pool(sandbox_worker_max_calls=2) as pool:
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        (pid,) = warm_pids(pool, "v1")
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        assert warm_pids(pool, "v1") == []
        await eventually(lambda: gone(pid))


async def test_a_warm_worker_retires_when_idle() -> None:
    async with running_pool(sandbox_worker_idle_seconds=1) as pool:
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        (pid,) = warm_pids(pool, "v1")
        await eventually(lambda: gone(pid), seconds=5)
        assert warm_pids(pool, "v1") == []


async def test_a_warm_worker_retires_after_an_error() -> None:
    failing = "def main() -> int:\n    return 1 // 0\n"
    async with running_pool() as pool:
        outcome = await pool.run_warm("v1", "s1", failing, {}, secrets={}, grant=GRANT)
        assert not outcome.ok
        assert outcome.error is not None
        assert "ZeroDivisionError" in outcome.error
        assert warm_pids(pool, "v1") == []


async def test_a_warm_worker_retires_past_its_rss_mark() -> None:
    async with running_pool(sandbox_worker_max_rss_mib=16) as pool:
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        assert warm_pids(pool, "v1") == []


async def test_retire_by_server_or_version_removes_matching_workers() -> None:
    async with running_pool() as pool:
        for version, server in (("v1", "s1"), ("v2", "s1"), ("v3", "s2")):
            await pool.run_warm(version, server, ECHO, {"x": 1}, secrets={}, grant=GRANT)
        assert pool.retire(server_key="s1") == 2
        assert warm_pids(pool, "v1") == warm_pids(pool, "v2") == []
        assert len(warm_pids(pool, "v3")) == 1
        assert pool.retire(version_key="v3") == 1
        assert warm_pids(pool, "v3") == []


async def test_warm_workers_per_version_are_capped() -> None:
    hold = asyncio.Event()

    async def egress(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
        await hold.wait()
        return HttpResponse(status_code=200)

    slow = "async def main() -> int:\n    await http.get('https://example.org/')\n    return 1\n"
    async with running_pool(egress, sandbox_warm_per_version=2, sandbox_queue_timeout_seconds=30) as pool:
        calls = [
            asyncio.create_task(pool.run_warm("v1", "s1", slow, {}, secrets={}, grant=GRANT))
            for _ in range(3)
        ]
        await eventually(lambda: pool.queued == 1)
        assert len(warm_pids(pool, "v1")) == 2
        hold.set()
        outcomes = await asyncio.gather(*calls)
        assert all(outcome.ok for outcome in outcomes)
        assert len(warm_pids(pool, "v1")) == 2


async def test_saturated_pool_answers_busy() -> None:
    hold = asyncio.Event()

    async def egress(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
        await hold.wait()
        return HttpResponse(status_code=200)

    slow = "async def main() -> int:\n    await http.get('https://example.org/')\n    return 1\n"
    settings: dict[str, object] = {
        "sandbox_pool_size": 1,
        "sandbox_idle_workers": 0,
        "sandbox_queue_depth": 1,
        "sandbox_queue_timeout_seconds": 0.3,
    }
    async with running_pool(egress, None, **settings) as pool:
        first = asyncio.create_task(pool.run_once(slow, {}, secrets={}, grant=GRANT))
        await eventually(lambda: pool.busy == 1)
        waiting = asyncio.create_task(pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT))
        await eventually(lambda: pool.queued == 1)
        with pytest.raises(Busy, match="already waiting"):
            await pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT)
        with pytest.raises(Busy, match="became free within"):
            await waiting
        hold.set()
        assert (await first).ok
        assert pool.counters.busy_rejections == 2


async def test_a_timeout_kills_the_worker_and_others_keep_being_served() -> None:
    events: list[ActivityEvent] = []
    async with running_pool(events=events) as pool:
        limits = pool.default_limits.replace(timeout_seconds=1.0)
        spin = asyncio.create_task(pool.run_once(SPIN, {}, secrets={}, grant=GRANT, limits=limits))
        await eventually(lambda: pool.busy == 1)
        (pid,) = [info.pid for info in pool.snapshot() if info.state == "busy"]
        for i in range(5):
            assert (await pool.run_once(ECHO, {"x": i}, secrets={}, grant=GRANT)).ok
        with pytest.raises(LimitExceeded, match="wall-clock limit of 1 s"):
            await spin
        await eventually(lambda: gone(pid))
        assert pool.counters.timeouts == 1
        killed = [event for event in events if event.name == "sandbox.worker_killed"]
        assert [event.detail for event in killed] == [
            {"pid": pid, "reason": "wall-clock timeout", "version": None}
        ]
        assert (await pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT)).ok


async def test_cancelling_the_caller_kills_the_worker() -> None:
    async with running_pool() as pool:
        spin = asyncio.create_task(pool.run_warm("v1", "s1", SPIN, {}, secrets={}, grant=GRANT))
        await eventually(lambda: pool.busy == 1)
        (pid,) = warm_pids(pool, "v1")
        spin.cancel()
        with pytest.raises(asyncio.CancelledError):
            await spin
        await eventually(lambda: gone(pid))
        assert warm_pids(pool, "v1") == []
        assert (await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)).ok


async def test_huge_output_and_results_end_with_a_clear_error_while_others_run() -> None:
    printer = "def main() -> int:\n    for _ in range(100):\n        print('x' * 1_000_000)\n    return 1\n"
    returner = "def main() -> str:\n    return 'x' * 100_000_000\n"
    bomb = "def main() -> int:\n    return len('x' * 10**10)\n"
    async with running_pool(sandbox_pool_size=6) as pool:
        limits = pool.default_limits.replace(timeout_seconds=20.0)
        results = await asyncio.gather(
            pool.run_once(printer, {}, secrets={}, grant=GRANT, limits=limits),
            pool.run_once(returner, {}, secrets={}, grant=GRANT, limits=limits),
            pool.run_once(bomb, {}, secrets={}, grant=GRANT, limits=limits),
            pool.run_once(ECHO, {"x": 3}, secrets={}, grant=GRANT),
        )
    printed, returned, bombed, echoed = results
    assert printed.stdout_truncated
    assert len(printed.stdout.encode()) <= limits.stdout_bytes
    assert not returned.ok
    assert returned.error_kind in ("result", "limit")
    assert not bombed.ok
    assert bombed.error is not None
    assert "MemoryError" in bombed.error
    assert echoed.ok


async def test_the_pool_recovers_when_the_zygote_dies() -> None:
    events: list[ActivityEvent] = []
    async with running_pool(events=events) as pool:
        zygote = pool.zygote_pid
        assert zygote is not None
        os.kill(zygote, signal.SIGKILL)
        await eventually(lambda: pool.zygote_pid not in (None, zygote), seconds=20)
        outcome = await pool.run_once(ECHO, {"x": 9}, secrets={}, grant=GRANT)
        assert outcome.ok
        assert pool.restarts == 1
        assert [event.name for event in events] == ["sandbox.zygote_restarted"]


async def test_missing_isolation_is_fatal_when_required() -> None:
    config = Config.load(environ={}, overrides={"sandbox_require_isolation": True})
    pool = SandboxPool(config, refuse, disabled_layers={"landlock"})
    with pytest.raises(IsolationUnavailable, match="landlock"):
        await pool.start()
    assert pool.state is PoolState.CLOSED


async def test_missing_isolation_is_reported_when_not_required() -> None:
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 0})
    pool = SandboxPool(config, refuse, disabled_layers={"namespaces"})
    await pool.start()
    try:
        assert pool.isolation is not None
        assert [layer.name for layer in pool.isolation.missing] == ["user_namespace", "network_namespace"]
        assert (await pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT)).ok
    finally:
        await pool.close()


async def test_lifecycle_misuse_is_refused() -> None:
    async with running_pool() as pool:
        with pytest.raises(SandboxError, match="cannot start"):
            await pool.start()
    assert pool.state is PoolState.CLOSED
    with pytest.raises(SandboxError, match="not running"):
        await pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT)


async def test_close_kills_every_worker() -> None:
    async with running_pool() as pool:
        await pool.run_warm("v1", "s1", ECHO, {"x": 1}, secrets={}, grant=GRANT)
        pids = [info.pid for info in pool.snapshot()]
        zygote = pool.zygote_pid
    assert zygote is not None
    await eventually(lambda: all(gone(pid) for pid in [*pids, zygote]))


async def test_a_warm_worker_gets_a_fresh_cpu_budget_on_every_call() -> None:
    # Each call burns 0.7 s of CPU; the budget is 1 s per call. RLIMIT_CPU counts the process's
    # whole life, so without re-arming it the second call would die - and with a limit armed only
    # once at spawn, the last call (spinning for 5 s) would not.
    burn = (
        "import time\n"
        "def main(seconds: float) -> int:\n"
        "    start = time.process_time()\n"
        "    while time.process_time() - start < seconds:\n"
        "        pass\n"
        "    return 1\n"
    )
    async with running_pool() as pool:
        limits = pool.default_limits.replace(cpu_seconds=1, timeout_seconds=30.0)
        for _ in range(4):
            outcome = await pool.run_warm(
                "v1", "s1", burn, {"seconds": 0.7}, secrets={}, grant=GRANT, limits=limits
            )
            assert outcome.ok, outcome.error
        (pid,) = warm_pids(pool, "v1")
        with pytest.raises(LimitExceeded, match="CPU limit of 1 s"):
            await pool.run_warm("v1", "s1", burn, {"seconds": 5.0}, secrets={}, grant=GRANT, limits=limits)
        await eventually(lambda: gone(pid))


async def test_a_call_with_its_own_memory_limit_gets_a_worker_forked_for_it() -> None:
    async with running_pool(sandbox_pool_size=2, sandbox_idle_workers=2) as pool:
        await eventually(lambda: pool.idle == 2)
        limits = pool.default_limits.replace(memory_mib=128)
        grow = "def main() -> int:\n    return len(b'x' * (160 * 1024 * 1024))\n"
        outcome = await pool.run_once(grow, {}, secrets={}, grant=GRANT, limits=limits)
        assert not outcome.ok
        assert outcome.error is not None
        assert "MemoryError" in outcome.error
        assert (await pool.run_once(grow, {}, secrets={}, grant=GRANT)).ok


async def test_a_zygote_that_cannot_start_fails_the_pool_start_clearly() -> None:
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 0})
    pool = SandboxPool(config, refuse, zygote_command=[sys.executable, "-I", "-c", "raise SystemExit(7)"])
    with pytest.raises(SandboxError, match="zygote died"):
        await pool.start()
    assert pool.state is PoolState.CLOSED


def test_call_budgets_spread_retirements_over_the_last_quarter() -> None:
    budgets = {call_budget(1000) for _ in range(200)}
    assert min(budgets) >= 750
    assert max(budgets) <= 1000
    assert len(budgets) > 20  # spread out, so warm workers of one tool do not all retire together
    assert {call_budget(1) for _ in range(20)} == {1}
    assert {call_budget(3) for _ in range(20)} == {3}
