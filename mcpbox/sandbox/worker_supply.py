"""Where workers come from and where they go: the zygote, spawning, pre-forking, reaping, restarts.

The pool asks for workers and hands back the ones it is done with; this module keeps the zygote
alive (restarting it with capped exponential backoff, reported as ``sandbox.zygote_restarted``
and, when it keeps failing, ``sandbox.crash_loop``), keeps ``sandbox_idle_workers`` fresh
workers forked ahead of demand, retires warm workers left idle, and learns from the zygote when
each pid is really gone. Every change wakes whoever waits on ``changed`` (callers in the queue).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.errors import SandboxError
from mcpbox.sandbox.call_limits import SandboxLimits, inbound_frame_bound, outbound_frame_bound
from mcpbox.sandbox.isolation import IsolationReport, report_from_facts
from mcpbox.sandbox.roster import Roster
from mcpbox.sandbox.worker import frames
from mcpbox.sandbox.worker.messages import MessageError
from mcpbox.sandbox.worker_handle import WorkerHandle, WorkerState
from mcpbox.sandbox.zygote_client import SpawnRequest, ZygoteClient, ZygoteState

if TYPE_CHECKING:
    from mcpbox.config import Config

logger = logging.getLogger(__name__)

START_TIMEOUT = 20.0
SPAWN_TIMEOUT = 10.0
MAINTENANCE_INTERVAL = 1.0
BACKOFF_FIRST, BACKOFF_CAP = 0.05, 10.0
CRASH_LOOP_AFTER = 3
# RLIMIT_CPU's hard limit is fixed at spawn and can never rise: room for every call at the cap.
CPU_CAP_SECONDS = 300
# The packages directory: public code, no secret; the 0700 data directory above it keeps others out.
PACKAGES_MODE = 0o755


EventSink = Callable[[ActivityEvent], None]


def _ignore(event: ActivityEvent) -> None:
    """The default sink when the pool runs without an activity recorder (CLI probes, tests)."""


@dataclass
class PoolCounters:
    """Monotonic counters for /metrics."""

    spawned: int = 0
    kills: int = 0
    crashes: int = 0
    timeouts: int = 0
    restarts: int = 0
    busy_rejections: int = 0
    retired: int = 0


def packages_dir(config: Config) -> Path:
    """Where approved packages are installed (``mcpbox.tools.packages`` writes there)."""
    return config.data_dir / "packages"


def prepare_packages_dir(path: Path) -> Path | None:
    """Create the packages directory if it is missing, so the zygote can open it at its start.

    Its parent, the data directory, is mode 0700 (it holds the database and keys) and is what keeps
    other host users out; it is the server's startup that creates it, so without it there are no
    packages (None) and nothing is created here. The packages directory itself is 0755: it holds
    public PyPI code and no secret, and a server started as root runs its workers as ``nobody``,
    who reach it without searching the data directory (see ``worker.packages``) but still need
    read and search permission on it. The mode is set explicitly because ``mkdir``'s is cut by the
    umask. An existing directory is left as it is; the zygote reports whether workers can read it.
    """
    if not path.parent.is_dir():
        return None
    try:
        path.mkdir(mode=PACKAGES_MODE)
    except FileExistsError:
        return path
    os.chmod(path, PACKAGES_MODE)
    return path


class WorkerSupply:
    """Owns the zygote and the lifecycle of every worker process."""

    def __init__(
        self,
        config: Config,
        roster: Roster,
        counters: PoolCounters,
        *,
        command: Sequence[str] | None,
        disabled: frozenset[str],
        emit: EventSink | None = None,
    ) -> None:
        self.changed = asyncio.Event()
        self._emit = emit or _ignore
        self._config = config
        self._roster = roster
        self._counters = counters
        self._command = command
        self._disabled = disabled
        self._limits = SandboxLimits.from_config(config)
        self._packages_dir = packages_dir(config)
        self._arguments_bound = 2 * config.max_body_bytes
        self._zygote: ZygoteClient | None = None
        self._reaping: dict[int, WorkerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures = 0
        self._quiet_until = 0.0
        self._running = False

    @property
    def zygote_pid(self) -> int | None:
        zygote = self._zygote
        return zygote.pid if zygote is not None and zygote.state is ZygoteState.READY else None

    @property
    def ready(self) -> bool:
        return self._zygote is not None and self._zygote.state is ZygoteState.READY

    @property
    def max_frame(self) -> int:
        """The largest frame a worker accepts (what the pool may send it)."""
        return outbound_frame_bound(self._limits, self._arguments_bound)

    def notify(self) -> None:
        """Wake everything waiting for a change (a free worker, a death, closing)."""
        self.changed.set()
        self.changed = asyncio.Event()

    async def start(self) -> IsolationReport:
        """Start the zygote and one worker, and report what isolation they achieved."""
        await self._start_zygote()
        worker = await self.spawn(self._limits.memory_mib)
        self._roster.fresh.append(worker)
        assert self._zygote is not None
        return report_from_facts(self._zygote.facts, worker.facts)

    def run(self) -> None:
        """Begin background maintenance (after a successful start)."""
        self._running = True
        self._spawn_task(self._maintain(), "sandbox-maintenance")

    async def close(self, grace_seconds: float) -> None:
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace_seconds)
        for worker in self._roster.clear():
            worker.kill()
        if self._zygote is not None:
            await self._zygote.close(grace_seconds)
        self._reaping.clear()
        self.notify()

    # -- spawning --------------------------------------------------------------------------------
    async def spawn(self, memory_mib: int) -> WorkerHandle:
        """A new confined worker that has said hello; on the books, state IDLE."""
        zygote = self._zygote
        if zygote is None or zygote.state is not ZygoteState.READY:
            raise SandboxError("the sandbox zygote is not running")
        request = SpawnRequest(
            memory_mib=memory_mib,
            cpu_seconds=self._limits.cpu_seconds,
            cpu_hard_seconds=CPU_CAP_SECONDS * self._config.sandbox_worker_max_calls + 1,
            max_frame=self.max_frame,
        )
        self._roster.spawning += 1
        try:
            sock = zygote.spawn(request)
            worker = await WorkerHandle.connect(
                sock, inbound_frame_bound(self._limits), memory_mib, SPAWN_TIMEOUT
            )
        except (OSError, TimeoutError, frames.FrameError, frames.ChannelClosed, MessageError) as exc:
            self._failed()
            raise SandboxError(f"a sandbox worker failed to start: {exc!r}") from exc
        finally:
            self._roster.spawning -= 1
        self._failures = 0
        self._counters.spawned += 1
        self._roster.add(worker)
        return worker

    def _failed(self) -> None:
        self._failures += 1
        self._counters.crashes += 1
        delay = self.backoff()
        self._quiet_until = asyncio.get_running_loop().time() + delay
        log = logger.error if self._failures >= CRASH_LOOP_AFTER else logger.warning
        log("sandbox worker start failed %d time(s) in a row; next try in %.2f s", self._failures, delay)
        if self._failures == CRASH_LOOP_AFTER:
            self._emit(ActivityEvent("sandbox.crash_loop", Outcome.ERROR, detail={"what": "worker"}))

    def backoff(self) -> float:
        return float(min(BACKOFF_FIRST * 2 ** max(self._failures - 1, 0), BACKOFF_CAP))

    # -- ending workers --------------------------------------------------------------------------
    def kill(self, worker: WorkerHandle, why: str) -> None:
        self._counters.kills += 1
        logger.info("killing sandbox worker %s: %s", worker.pid, why)
        detail = {"pid": worker.pid, "reason": why, "version": worker.binding[0] if worker.binding else None}
        self._emit(ActivityEvent("sandbox.worker_killed", Outcome.ERROR, detail=detail))
        self.discard(worker)

    def discard(self, worker: WorkerHandle, *, retired: str | None = None) -> None:
        """Take a worker off the books and make sure it is dead; the zygote reaps it."""
        if retired is not None:
            self._counters.retired += 1
            logger.debug("retiring sandbox worker %s: %s", worker.pid, retired)
        if self._roster.remove(worker) and not worker.exited.is_set():
            self._reaping[worker.pid] = worker
        worker.kill()
        self.notify()

    def _on_worker_exit(self, pid: int, code: int | None, sig: int | None) -> None:
        worker = self._reaping.pop(pid, None)
        if worker is None:
            worker = self._roster.alive.get(pid)
            if worker is None:
                return
            self._roster.remove(worker)
            if worker.state is not WorkerState.BUSY:
                self._counters.crashes += 1
                logger.warning("idle sandbox worker %s died (code %s, signal %s)", pid, code, sig)
        worker.note_exit(code, sig)
        self.notify()

    def _on_zygote_death(self) -> None:
        for worker in self._roster.clear():
            worker.kill()
        for worker in self._reaping.values():
            worker.note_exit(None, None)
        self._reaping.clear()
        self.notify()

    # -- keeping the supply up -------------------------------------------------------------------
    async def _start_zygote(self) -> None:
        packages: Path | None = None
        try:
            packages = await asyncio.to_thread(prepare_packages_dir, self._packages_dir)
        except OSError as exc:  # not fatal: tools without extra packages still run
            logger.error("cannot create the packages directory %s: %s", self._packages_dir, exc)
        zygote = ZygoteClient(
            on_exit=self._on_worker_exit,
            on_death=self._on_zygote_death,
            command=self._command,
            disable=self._disabled,
            packages_dir=None if packages is None else str(packages),
        )
        self._zygote = zygote
        facts = await zygote.start(START_TIMEOUT)
        if packages is not None and not facts.get("packages_readable"):
            reason = facts.get("packages_reason") or (
                f"the workers' uid {facts.get('uid')} may not read it; `chmod 755` it"
            )
            logger.warning("approved packages in %s are not importable: %s", self._packages_dir, reason)

    async def _maintain(self) -> None:
        """Keep the zygote alive and ``idle_workers`` fresh workers ready; retire idle warm ones."""
        loop = asyncio.get_running_loop()
        while self._running:
            changed = self.changed
            if not self.ready:
                await self._restart_zygote()
                continue
            now = loop.time()
            for worker in self._roster.expired(now, self._config.sandbox_worker_idle_seconds):
                self.discard(worker, retired="idle timeout")
            wait = MAINTENANCE_INTERVAL
            if now < self._quiet_until:
                wait = self._quiet_until - now
            else:
                missing = self._config.sandbox_idle_workers - len(self._roster.fresh) - self._roster.spawning
                for _ in range(max(0, min(missing, self._roster.pool_size - self._roster.total))):
                    self._spawn_task(self._prefork(), "sandbox-prefork")
            try:
                async with asyncio.timeout(wait):
                    await changed.wait()
            except TimeoutError:
                pass

    async def _prefork(self) -> None:
        try:
            worker = await self.spawn(self._limits.memory_mib)
        except SandboxError:
            self.notify()  # maintenance reschedules after the backoff
            return
        if not self._running:
            worker.kill()
            return
        self._roster.fresh.append(worker)
        self.notify()

    async def _restart_zygote(self) -> None:
        self._failures += 1
        delay = self.backoff()
        log = logger.error if self._failures >= CRASH_LOOP_AFTER else logger.warning
        log("sandbox zygote is down (crash loop count %d); restarting in %.2f s", self._failures, delay)
        await asyncio.sleep(delay)
        if self._zygote is not None:
            await self._zygote.close(SPAWN_TIMEOUT)
        self._counters.restarts += 1
        self._emit(
            ActivityEvent("sandbox.zygote_restarted", Outcome.ERROR, detail={"attempt": self._failures})
        )
        if self._failures == CRASH_LOOP_AFTER:
            self._emit(ActivityEvent("sandbox.crash_loop", Outcome.ERROR, detail={"what": "zygote"}))
        try:
            await self._start_zygote()
        except SandboxError as exc:
            logger.error("sandbox zygote restart failed: %s", exc)
            return
        self._failures = 0
        self.notify()

    def _spawn_task(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
