"""The sandbox pool: pre-forked one-shot workers, warm workers bound to one tool version, a bound queue.

Owned by the app lifespan (``start``/``close``). Every call takes a worker, exchanges frames with
it under a wall-clock deadline, then gives it back or kills it:

- ``run_once`` and ``validate`` take a pre-forked fresh worker; it answers once and exits.
- ``run_warm`` takes a worker bound to (version, server, secrets fingerprint), binding a fresh one
  on first use (code and secrets travel then). It is retired after ``max_calls``, an idle timeout,
  an RSS high-water mark, any error, or ``retire()``; it never serves another binding.
- A timeout or a cancelled caller kills the worker at once; the pool refills in the background.
- With no worker free a call waits, up to ``queue_depth`` waiters for ``queue_timeout`` seconds;
  past that it gets ``Busy``. A call waits only for a worker, never for another call.

Errors: what the worker itself reports (tool error, policy rejection) is a ``CallOutcome`` with
``ok=False``; what the supervisor enforces raises ``LimitExceeded`` (wall time, CPU, memory) or
``SandboxError`` (crash, protocol breach, pool closed); saturation raises ``Busy``. Where workers
come from (zygote, pre-forking, reaping, restarts) is ``worker_supply``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from secrets import randbelow
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio

from mcpbox.errors import InvalidInput, IsolationUnavailable, LimitExceeded, SandboxError
from mcpbox.sandbox.admission import Admission
from mcpbox.sandbox.call_limits import SandboxLimits
from mcpbox.sandbox.isolation import IsolationReport
from mcpbox.sandbox.roster import Roster, binding_key
from mcpbox.sandbox.worker import frames
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse, MessageError
from mcpbox.sandbox.worker_handle import (
    CallOutcome,
    ValidationResult,
    WorkerHandle,
    WorkerState,
    call_message,
    parse_outcome,
    parse_validation,
)
from mcpbox.sandbox.worker_supply import EventSink, PoolCounters, WorkerSupply

if TYPE_CHECKING:
    from mcpbox.config import Config
    from mcpbox.sandbox.egress import EgressGrant

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_TIMEOUT = 5.0
EXIT_REPORT_TIMEOUT = 1.0


def call_budget(max_calls: int) -> int:
    """``max_calls`` less up to a quarter, at random: warm workers that share a busy tool's calls
    would otherwise all reach the limit in the same second and be replaced together (a fork and a
    first-call compile each), a burst that shows in every call's p99."""
    return max_calls - randbelow(max_calls // 4 + 1)


class PoolState(enum.Enum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class EgressHandler(Protocol):
    """Performs a tool's HTTP request under the grant of its call (the egress broker)."""

    async def __call__(self, request: HttpRequest, grant: EgressGrant) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    pid: int
    state: str
    version_key: str | None
    server_key: str | None
    calls: int

    @classmethod
    def of(cls, worker: WorkerHandle) -> WorkerInfo:
        version, server = (worker.binding[0], worker.binding[1]) if worker.binding else (None, None)
        return cls(worker.pid, worker.state.value, version, server, worker.calls)


class SandboxPool:
    """Supervisor of the zygote and its workers. One per app, created and closed by the lifespan.

    ``zygote_command`` replaces ``python -I -m mcpbox.sandbox.worker.zygote`` (diagnostics);
    ``disabled_layers`` ("landlock", "namespaces") pretends a layer is missing, for tests of
    degradation and of ``sandbox_require_isolation``. ``emit`` receives the pool's activity events
    (``sandbox.worker_killed``, ``sandbox.zygote_restarted``, ``sandbox.crash_loop``).
    """

    def __init__(
        self,
        config: Config,
        egress: EgressHandler,
        *,
        zygote_command: Sequence[str] | None = None,
        disabled_layers: Collection[str] = (),
        emit: EventSink | None = None,
    ) -> None:
        self.state = PoolState.CREATED
        self.counters = PoolCounters()
        self.isolation: IsolationReport | None = None
        self.default_limits = SandboxLimits.from_config(config)
        self._config = config
        self._egress = egress
        self._roster = Roster(config.sandbox_pool_size, config.sandbox_warm_per_version)
        self._supply = WorkerSupply(
            config,
            self._roster,
            self.counters,
            command=zygote_command,
            disabled=frozenset(disabled_layers),
            emit=emit,
        )
        self._admission = Admission(config, self._roster, self._supply, self.counters)

    # -- metrics ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._roster.total

    @property
    def busy(self) -> int:
        return self._roster.busy

    @property
    def idle(self) -> int:
        return len(self._roster.fresh) + self._roster.warm_idle_count

    @property
    def queued(self) -> int:
        return self._admission.queued

    @property
    def restarts(self) -> int:
        return self.counters.restarts

    @property
    def kills(self) -> int:
        return self.counters.kills

    @property
    def zygote_pid(self) -> int | None:
        return self._supply.zygote_pid

    def snapshot(self) -> list[WorkerInfo]:
        """Every live worker, for the admin system page, /metrics and tests."""
        return [WorkerInfo.of(worker) for worker in self._roster.alive.values()]

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the zygote and one worker; learn from it which isolation layers really hold."""
        if self.state is not PoolState.CREATED:
            raise SandboxError(f"the sandbox pool cannot start from state {self.state.value}")
        self.state = PoolState.STARTING
        try:
            self.isolation = await self._supply.start()
            if self._config.sandbox_require_isolation and not self.isolation.complete:
                raise IsolationUnavailable(
                    "sandbox isolation is incomplete and sandbox_require_isolation is set: "
                    + "; ".join(f"{layer.name}: {layer.detail}" for layer in self.isolation.missing)
                )
        except BaseException:
            # Shielded: a start cancelled by shutdown must still kill the zygote it began.
            with anyio.CancelScope(shield=True):
                await self._supply.close(CLOSE_TIMEOUT)
            self.state = PoolState.CLOSED
            raise
        if not self.isolation.complete:
            logger.warning("sandbox isolation degraded: %s", self.isolation.summary())
        self.state = PoolState.RUNNING
        self._supply.run()

    async def close(self, grace_seconds: float = CLOSE_TIMEOUT) -> None:
        """Kill every worker and the zygote, reap them, within ``grace_seconds``."""
        if self.state in (PoolState.CLOSING, PoolState.CLOSED):
            return
        self.state = PoolState.CLOSING
        self._supply.notify()
        await self._supply.close(grace_seconds)
        self.state = PoolState.CLOSED

    def _check_running(self) -> None:
        if self.state is not PoolState.RUNNING:
            raise SandboxError(f"the sandbox pool is not running (state {self.state.value})")

    # -- public calls ----------------------------------------------------------------------------
    async def validate(
        self,
        source: str,
        *,
        allowed_modules: Collection[str] | None = None,
        limits: SandboxLimits | None = None,
    ) -> ValidationResult:
        """Check source against the policy in a one-shot worker; report every violation."""
        limits = limits or self.default_limits
        message = {"op": "validate", "source": source, "limits": limits.to_wire()}
        if allowed_modules is not None:
            message["allowed_modules"] = sorted(allowed_modules)
        return await self._one_shot(message, source, limits, None, "validated", parse_validation)

    async def run_once(
        self,
        source: str,
        arguments: Mapping[str, Any],
        *,
        secrets: Mapping[str, str],
        grant: EgressGrant,
        limits: SandboxLimits | None = None,
        policy: bool = True,
        allowed_modules: Collection[str] | None = None,
    ) -> CallOutcome:
        """Run one call in a fresh worker that exits afterwards: nothing survives the call."""
        limits = limits or self.default_limits
        message = call_message(source, arguments, secrets, limits, allowed_modules, policy, keep=False)
        return await self._one_shot(message, source, limits, grant, "outcome", parse_outcome)

    async def _one_shot(
        self,
        message: frames.Frame,
        source: str,
        limits: SandboxLimits,
        grant: EgressGrant | None,
        expected: str,
        parse: Callable[[frames.Frame], T],
    ) -> T:
        """One exchange with a fresh worker that is discarded afterwards, whatever happens.

        The reply is parsed inside, so a malformed reply is a protocol breach of this worker.
        """
        worker = await self._admission.acquire(None, limits.memory_mib, self._check_running)
        try:
            return parse(
                await self._exchange(worker, self._encode(message, source, limits), limits, grant, expected)
            )
        except MessageError as exc:
            raise self._protocol_breach(worker, exc) from exc
        finally:
            self._supply.discard(worker)

    async def run_warm(
        self,
        version_key: str,
        server_key: str,
        source: str,
        arguments: Mapping[str, Any],
        *,
        secrets: Mapping[str, str],
        grant: EgressGrant,
        limits: SandboxLimits | None = None,
        allowed_modules: Collection[str] | None = None,
    ) -> CallOutcome:
        """Run a published tool's call in a worker bound to this version, server and secrets."""
        limits = limits or self.default_limits
        modules = sorted(allowed_modules) if allowed_modules is not None else None
        binding = binding_key(
            version_key, server_key, secrets, [limits.to_wire(), limits.memory_mib, modules]
        )
        worker = await self._admission.acquire(binding, limits.memory_mib, self._check_running)
        first = worker.calls == 0
        message = call_message(
            source if first else None,
            arguments,
            secrets if first else None,
            limits,
            allowed_modules if first else None,  # the worker compiles once, on its first call
            True,
            keep=True,
        )
        try:
            reply = await self._exchange(
                worker, self._encode(message, source, limits), limits, grant, "outcome"
            )
            outcome = parse_outcome(reply)
        except MessageError as exc:
            raise self._protocol_breach(worker, exc) from exc
        except BaseException:
            self._supply.discard(worker)
            raise
        worker.calls += 1
        reason = self._retire_reason(worker, outcome)
        if reason is None and self.state is PoolState.RUNNING:
            self._roster.park(worker, asyncio.get_running_loop().time())
            self._supply.notify()
        else:
            self._supply.discard(worker, retired=reason)
        return outcome

    def retire(self, version_key: str | None = None, server_key: str | None = None) -> int:
        """Retire warm workers of a version and/or server (tool, approval or secret change)."""
        matched = self._roster.matching(version_key, server_key)
        for worker in matched:
            if worker.state is WorkerState.BUSY:
                worker.retiring = True
            else:
                self._supply.discard(worker, retired="retire() called")
        return len(matched)

    # -- calls, internals ------------------------------------------------------------------------
    def _encode(self, message: frames.Frame, source: str, limits: SandboxLimits) -> bytes:
        if len(source.encode("utf-8")) > limits.code_bytes:
            raise InvalidInput(f"the tool source is larger than {limits.code_bytes} bytes")
        payload = frames.encode(message)
        if len(payload) > self._supply.max_frame:
            raise InvalidInput("the call (source, arguments and secrets) is too large for the sandbox")
        return payload

    async def _exchange(
        self,
        worker: WorkerHandle,
        payload: bytes,
        limits: SandboxLimits,
        grant: EgressGrant | None,
        expect: str,
    ) -> frames.Frame:
        async def relay(request: HttpRequest) -> HttpResponse:
            if grant is None:  # validation runs no tool code; a request here is out of turn
                return HttpResponse(error="refused: validation has no network access")
            return await self._egress(request, grant)

        try:
            async with asyncio.timeout(limits.timeout_seconds):
                reply = await worker.exchange(payload, relay=relay, http_limit=limits.http_requests)
        except TimeoutError:
            self.counters.timeouts += 1
            self._supply.kill(worker, "wall-clock timeout")
            raise LimitExceeded(
                f"the call ran past its wall-clock limit of {limits.timeout_seconds:g} s"
            ) from None
        except asyncio.CancelledError:
            self._supply.kill(worker, "caller cancelled")
            raise
        except (frames.FrameError, frames.ChannelClosed) as exc:
            self._supply.kill(worker, f"channel failed: {exc}")
            self.counters.crashes += 1
            raise await worker.death_reason(limits.cpu_seconds, EXIT_REPORT_TIMEOUT) from exc
        if reply.get("op") != expect:
            raise MessageError(f"expected {expect!r}, got {reply.get('op')!r}")
        return reply

    def _protocol_breach(self, worker: WorkerHandle, exc: MessageError) -> SandboxError:
        logger.warning("sandbox worker %s broke the protocol: %s", worker.pid, exc)
        self._supply.kill(worker, "protocol breach")
        return SandboxError(
            f"the sandbox worker sent a malformed answer: {exc}",
            public_message="the sandbox worker sent a malformed answer",
        )

    def _retire_reason(self, worker: WorkerHandle, outcome: CallOutcome) -> str | None:
        if not outcome.ok:
            return f"call failed ({outcome.error_kind})"
        if worker.retiring:
            return "retire() called"
        if worker.call_budget is None:
            worker.call_budget = call_budget(self._config.sandbox_worker_max_calls)
        if worker.calls >= worker.call_budget:
            return "max calls reached"
        if outcome.rss_kib > self._config.sandbox_worker_max_rss_mib * 1024:
            return "RSS high-water mark passed"
        return None
