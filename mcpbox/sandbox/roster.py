"""The pool's bookkeeping of live workers: fresh, warm-idle, busy; who may be bound or evicted.

Pure and synchronous, so the rules (capacity, warm workers per version, least-recently-used
eviction, retirement) read in one place and need no event loop to test. The pool does the I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, deque
from collections.abc import Mapping

from mcpbox.sandbox.worker_handle import WorkerHandle, WorkerState

Binding = tuple[str, str, str]  # (version key, server key, fingerprint of secrets and limits)


def binding_key(version_key: str, server_key: str, secrets: Mapping[str, str], extra: object) -> Binding:
    """A worker holds the secrets it got first; a call with other secrets must not reuse it."""
    digest = hashlib.blake2b(
        json.dumps([sorted(secrets.items()), extra], separators=(",", ":"), default=str).encode(),
        digest_size=16,
    ).hexdigest()
    return (version_key, server_key, digest)


class Roster:
    """Every worker the pool owns, by role."""

    def __init__(self, pool_size: int, warm_per_version: int) -> None:
        self.pool_size = pool_size
        self.warm_per_version = warm_per_version
        self.alive: dict[int, WorkerHandle] = {}
        self.fresh: deque[WorkerHandle] = deque()
        self.warm_idle: dict[Binding, list[WorkerHandle]] = {}
        self.bound_per_version: Counter[str] = Counter()
        self.spawning = 0

    @property
    def total(self) -> int:
        return len(self.alive) + self.spawning

    @property
    def has_room(self) -> bool:
        return self.total < self.pool_size

    @property
    def busy(self) -> int:
        return sum(1 for worker in self.alive.values() if worker.state is WorkerState.BUSY)

    @property
    def warm_idle_count(self) -> int:
        return sum(len(workers) for workers in self.warm_idle.values())

    def add(self, worker: WorkerHandle) -> None:
        self.alive[worker.pid] = worker

    def take_fresh(self, memory_mib: int) -> WorkerHandle | None:
        """An idle, unbound, pre-forked worker with this memory limit (oldest first)."""
        for worker in self.fresh:
            if worker.memory_mib == memory_mib and worker.state is WorkerState.IDLE:
                self.fresh.remove(worker)
                worker.state = WorkerState.BUSY
                return worker
        return None

    def take_warm(self, binding: Binding) -> WorkerHandle | None:
        """The most recently used idle worker bound to exactly this binding."""
        workers = self.warm_idle.get(binding)
        while workers:
            worker = workers.pop()
            if worker.state is WorkerState.IDLE:
                if not workers:
                    del self.warm_idle[binding]
                worker.state = WorkerState.BUSY
                return worker
        self.warm_idle.pop(binding, None)
        return None

    def may_bind(self, version_key: str) -> bool:
        return self.bound_per_version[version_key] < self.warm_per_version

    def bind(self, worker: WorkerHandle, binding: Binding, *, reserved: bool = False) -> None:
        """Bind a worker; ``reserved`` when its slot was taken by ``reserve`` before a spawn."""
        worker.binding = binding
        if not reserved:
            self.bound_per_version[binding[0]] += 1

    def reserve(self, version_key: str) -> None:
        """Hold a warm slot while a worker for it is being spawned, so racing calls see it taken."""
        self.bound_per_version[version_key] += 1

    def unreserve(self, version_key: str) -> None:
        self.bound_per_version[version_key] -= 1
        if self.bound_per_version[version_key] <= 0:
            del self.bound_per_version[version_key]

    def park(self, worker: WorkerHandle, now: float) -> None:
        """A warm worker finished a call and may serve its binding again."""
        assert worker.binding is not None
        worker.state = WorkerState.IDLE
        worker.last_used = now
        self.warm_idle.setdefault(worker.binding, []).append(worker)

    def oldest_warm_idle(self) -> WorkerHandle | None:
        """The least recently used idle warm worker: the first to go when room is needed."""
        candidates = [
            w for workers in self.warm_idle.values() for w in workers if w.state is WorkerState.IDLE
        ]
        return min(candidates, key=lambda worker: worker.last_used, default=None)

    def evictable(self, memory_mib: int) -> WorkerHandle | None:
        """A worker to kill when the pool is full: the least recently used idle warm one, else a
        fresh one forked with a different memory limit than this call needs."""
        victim = self.oldest_warm_idle()
        if victim is None:
            victim = next(
                (w for w in self.fresh if w.memory_mib != memory_mib and w.state is WorkerState.IDLE), None
            )
        return victim

    def expired(self, now: float, idle_seconds: float) -> list[WorkerHandle]:
        return [
            w for workers in self.warm_idle.values() for w in workers if now - w.last_used >= idle_seconds
        ]

    def matching(self, version_key: str | None, server_key: str | None) -> list[WorkerHandle]:
        """Bound workers (idle or busy) whose binding matches the given keys (None matches all)."""
        return [
            worker
            for worker in self.alive.values()
            if worker.binding is not None
            and (version_key is None or worker.binding[0] == version_key)
            and (server_key is None or worker.binding[1] == server_key)
        ]

    def remove(self, worker: WorkerHandle) -> bool:
        """Forget a worker (dead, killed or retired); True if it was still on the books."""
        if self.alive.pop(worker.pid, None) is None:
            return False
        if worker in self.fresh:
            self.fresh.remove(worker)
        if worker.binding is not None:
            self.unreserve(worker.binding[0])
            idle = self.warm_idle.get(worker.binding)
            if idle is not None and worker in idle:
                idle.remove(worker)
                if not idle:
                    del self.warm_idle[worker.binding]
        return True

    def clear(self) -> list[WorkerHandle]:
        workers = list(self.alive.values())
        self.alive.clear()
        self.fresh.clear()
        self.warm_idle.clear()
        self.bound_per_version.clear()
        return workers
