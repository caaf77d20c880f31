"""The worker's own confinement (rlimits, descriptors, no_new_privs), proven with the policy off.

Every tool here runs with ``policy=False`` - real builtins, real imports - so only the OS layer
stands between it and the host.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from mcpbox.config import Config
from mcpbox.errors import LimitExceeded
from mcpbox.sandbox.call_limits import SandboxLimits
from mcpbox.sandbox.egress import EgressGrant
from mcpbox.sandbox.pool import SandboxPool
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

pytestmark = pytest.mark.anyio
GRANT = EgressGrant(server="test")


async def refuse(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
    return HttpResponse(error="refused: no network in this test")


@contextlib.asynccontextmanager
async def running_pool(**settings: object) -> AsyncIterator[SandboxPool]:
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 2, **settings})
    pool = SandboxPool(config, refuse)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


async def run_raw(pool: SandboxPool, source: str, limits: SandboxLimits | None = None) -> str:
    outcome = await pool.run_once(source, {}, secrets={}, grant=GRANT, policy=False, limits=limits)
    assert outcome.ok, outcome.error
    assert outcome.result_json is not None
    return outcome.result_json


FORK = """
import os
def main() -> str:
    try:
        pid = os.fork()
    except OSError as exc:
        return "refused: " + type(exc).__name__
    if pid == 0:
        os._exit(0)
    return "forked"
"""

SUBPROCESS = """
import subprocess
def main() -> str:
    try:
        subprocess.run(["/bin/true"], check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return "refused: " + type(exc).__name__
    return "ran"
"""

THREAD = """
import threading
def main() -> str:
    try:
        threading.Thread(target=print).start()
    except (OSError, RuntimeError) as exc:
        return "refused: " + type(exc).__name__
    return "started"
"""

DESCRIPTORS = """
import os
import stat
def main() -> list:
    found = []
    for fd in range(64):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        found.append([fd, stat.S_ISREG(mode) or stat.S_ISDIR(mode)])
    return found
"""

NO_NEW_PRIVS = """
import ctypes
def main() -> int:
    return ctypes.CDLL(None).prctl(39, 0, 0, 0, 0)
"""

MEMORY_BOMB = """
def main() -> int:
    data = b"x" * 10**10
    return len(data)
"""

CPU_LOOP = """
def main() -> int:
    n = 0
    while True:
        n += 1
"""


async def test_fork_fails_in_a_worker() -> None:
    async with running_pool() as pool:
        assert await run_raw(pool, FORK) == '"refused: BlockingIOError"'


async def test_subprocess_cannot_start_in_a_worker() -> None:
    async with running_pool() as pool:
        assert (await run_raw(pool, SUBPROCESS)).startswith('"refused: ')


async def test_threads_cannot_start_in_a_worker() -> None:
    async with running_pool() as pool:
        assert (await run_raw(pool, THREAD)).startswith('"refused: ')


async def test_only_the_channel_descriptor_is_left_open() -> None:
    async with running_pool() as pool:
        # 0-2 are /dev/null, 3 the channel; the worker's own event loop (epoll, self-pipe) sits
        # above. No file or directory of the host is open, so none can be read through an fd.
        open_fds = json.loads(await run_raw(pool, DESCRIPTORS))
        assert [fd for fd, _ in open_fds][:4] == [0, 1, 2, 3]
        assert not [fd for fd, is_file in open_fds if is_file]
        assert pool.isolation is not None
        assert pool.isolation.layer("descriptors").active


async def test_no_new_privs_is_set() -> None:
    async with running_pool() as pool:
        assert await run_raw(pool, NO_NEW_PRIVS) == "1"


async def test_memory_bomb_is_a_memory_error_not_a_host_problem() -> None:
    async with running_pool() as pool:
        outcome = await pool.run_once(MEMORY_BOMB, {}, secrets={}, grant=GRANT, policy=False)
        assert not outcome.ok
        assert outcome.error is not None
        assert "MemoryError" in outcome.error
        assert await run_raw(pool, "def main() -> int:\n    return 1\n") == "1"


async def test_cpu_loop_is_stopped_by_the_cpu_limit() -> None:
    async with running_pool() as pool:
        limits = pool.default_limits.replace(cpu_seconds=1, timeout_seconds=30.0)
        with pytest.raises(LimitExceeded, match="CPU limit of 1 s"):
            await pool.run_once(CPU_LOOP, {}, secrets={}, grant=GRANT, policy=False, limits=limits)
        assert await run_raw(pool, "def main() -> int:\n    return 2\n") == "2"


async def test_every_rlimit_reads_back_as_set() -> None:
    async with running_pool() as pool:
        report = pool.isolation
        assert report is not None
        assert report.layer("rlimits").active, report.layer("rlimits").detail


SCHEDULER = """
import os
def main() -> str:
    return "batch" if os.sched_getscheduler(0) == os.SCHED_BATCH else "other"
"""


async def test_workers_run_as_batch_tasks_so_they_do_not_preempt_the_gateway() -> None:
    async with running_pool() as pool:
        assert json.loads(await run_raw(pool, SCHEDULER)) == "batch"
