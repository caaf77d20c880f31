"""Admission: who gets a worker, who waits in the bounded queue, and who is told "busy".

A call takes an idle worker (warm for its binding, else fresh), or starts one when the pool has
room (evicting the least recently used idle warm worker if it must), or waits for any change -
up to ``sandbox_queue_depth`` waiters for ``sandbox_queue_timeout_seconds``. Waiting is for a
worker only, so one slow tool never holds up calls that can be served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mcpbox.errors import Busy, SandboxError
from mcpbox.sandbox.roster import Binding, Roster
from mcpbox.sandbox.worker_handle import WorkerHandle, WorkerState
from mcpbox.sandbox.worker_supply import PoolCounters, WorkerSupply

if TYPE_CHECKING:
    from mcpbox.config import Config

logger = logging.getLogger(__name__)


class Admission:
    """The queue in front of the roster."""

    def __init__(self, config: Config, roster: Roster, supply: WorkerSupply, counters: PoolCounters) -> None:
        self.queued = 0
        self._config = config
        self._roster = roster
        self._supply = supply
        self._counters = counters

    async def acquire(
        self, binding: Binding | None, memory_mib: int, check_running: Callable[[], None]
    ) -> WorkerHandle:
        """A BUSY worker for this call: warm for ``binding``, else fresh; waits or raises ``Busy``."""
        check_running()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.sandbox_queue_timeout_seconds
        queued = False
        try:
            while True:
                check_running()
                worker = self._take(binding, memory_mib)
                if worker is not None:
                    return worker
                may_grow = binding is None or self._roster.may_bind(binding[0])
                zygote_ready = self._supply.ready
                if may_grow and zygote_ready and not self._roster.has_room:
                    victim = self._roster.evictable(memory_mib)
                    if victim is not None:
                        self._supply.discard(victim, retired="evicted to make room")
                if may_grow and zygote_ready and self._roster.has_room:
                    worker = await self._spawn_for(binding, memory_mib)
                    if worker is not None:
                        return worker
                    continue
                if not queued:
                    if self.queued >= self._config.sandbox_queue_depth:
                        self._counters.busy_rejections += 1
                        raise Busy(
                            f"all {self._roster.pool_size} sandbox workers are busy and "
                            f"{self.queued} calls are already waiting; try again shortly"
                        )
                    queued = True
                    self.queued += 1
                remaining = deadline - loop.time()
                changed = self._supply.changed
                try:
                    async with asyncio.timeout(max(remaining, 0.0)):
                        await changed.wait()
                except TimeoutError:
                    self._counters.busy_rejections += 1
                    raise Busy(
                        f"no sandbox worker became free within "
                        f"{self._config.sandbox_queue_timeout_seconds:g} s; try again shortly"
                    ) from None
        finally:
            if queued:
                self.queued -= 1

    def _take(self, binding: Binding | None, memory_mib: int) -> WorkerHandle | None:
        if binding is None:
            return self._roster.take_fresh(memory_mib)
        worker = self._roster.take_warm(binding)
        if worker is None and self._roster.may_bind(binding[0]):
            worker = self._roster.take_fresh(memory_mib)
            if worker is not None:
                self._roster.bind(worker, binding)
        return worker

    async def _spawn_for(self, binding: Binding | None, memory_mib: int) -> WorkerHandle | None:
        if binding is not None:
            self._roster.reserve(binding[0])
        try:
            worker = await self._supply.spawn(memory_mib)
        except BaseException as exc:
            if binding is not None:
                self._roster.unreserve(binding[0])
            if not isinstance(exc, SandboxError):
                raise
            logger.warning("could not start a sandbox worker on demand: %s", exc)
            await asyncio.sleep(self._supply.backoff())
            return None
        worker.state = WorkerState.BUSY
        if binding is not None:
            self._roster.bind(worker, binding, reserved=True)
        return worker
