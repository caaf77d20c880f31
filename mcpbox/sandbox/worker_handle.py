"""The supervisor's end of one worker: its channel, its state, its exchange of frames, its death.

Everything a worker sends is untrusted. Frames are bounded and parsed into typed values here; a
frame that is oversized, malformed or out of turn ends the worker. ``http`` frames are relayed to
the egress handler concurrently (a tool may ``gather`` several requests) and capped in number.
Killing uses a pidfd, so a signal can never hit a recycled pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mcpbox.errors import LimitExceeded, SandboxError
from mcpbox.sandbox.call_limits import SandboxLimits
from mcpbox.sandbox.worker import frames
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse, MessageError

logger = logging.getLogger(__name__)

# Requests past the call's limit are refused one by one; a worker sending far more is hostile.
HTTP_FRAME_SLACK = 16

Relay = Callable[[HttpRequest], Awaitable[HttpResponse]]


class WorkerState(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Violation:
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What the worker reported for one call. ``ok=False`` carries the tool's (or policy's) error."""

    ok: bool
    result_json: str | None
    result_is_text: bool
    error: str | None
    error_kind: str | None
    stdout: str
    stdout_truncated: bool
    duration_ms: float
    violations: tuple[Violation, ...] = ()
    rss_kib: int = 0


@dataclass(frozen=True, slots=True)
class ValidationResult:
    ok: bool
    violations: tuple[Violation, ...]
    input_schema: dict[str, Any] | None
    description: str | None


def _opt_str(frame: frames.Frame, key: str) -> str | None:
    value = frame.get(key)
    if value is not None and not isinstance(value, str):
        raise MessageError(f"{key} must be a string or null")
    return value


def _bool(frame: frames.Frame, key: str) -> bool:
    value = frame.get(key)
    if not isinstance(value, bool):
        raise MessageError(f"{key} must be a boolean")
    return value


def _violations(frame: frames.Frame) -> tuple[Violation, ...]:
    raw = frame.get("violations") or []
    if not isinstance(raw, list) or len(raw) > 1000:
        raise MessageError("violations must be a list")
    items = []
    for item in raw:
        if not isinstance(item, dict):
            raise MessageError("each violation must be an object")
        line, column, message = item.get("line"), item.get("column"), item.get("message")
        if not (isinstance(line, int) and isinstance(column, int) and isinstance(message, str)):
            raise MessageError("a violation needs integer line/column and a message")
        items.append(Violation(line, column, message))
    return tuple(items)


def _rss(frame: frames.Frame) -> int:
    value = frame.get("rss_kib", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_outcome(frame: frames.Frame) -> CallOutcome:
    duration = frame.get("duration_ms", 0.0)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise MessageError("duration_ms must be a number")
    stdout = frame.get("stdout", "")
    if not isinstance(stdout, str):
        raise MessageError("stdout must be a string")
    return CallOutcome(
        ok=_bool(frame, "ok"),
        result_json=_opt_str(frame, "result_json"),
        result_is_text=_bool(frame, "result_is_text"),
        error=_opt_str(frame, "error"),
        error_kind=_opt_str(frame, "error_kind"),
        stdout=stdout,
        stdout_truncated=_bool(frame, "stdout_truncated"),
        duration_ms=float(duration),
        violations=_violations(frame),
        rss_kib=_rss(frame),
    )


def parse_validation(frame: frames.Frame) -> ValidationResult:
    schema = frame.get("input_schema")
    if schema is not None and not isinstance(schema, dict):
        raise MessageError("input_schema must be an object or null")
    return ValidationResult(
        ok=_bool(frame, "ok"),
        violations=_violations(frame),
        input_schema=schema,
        description=_opt_str(frame, "description"),
    )


def call_message(
    source: str | None,
    arguments: Mapping[str, Any],
    secrets: Mapping[str, str] | None,
    limits: SandboxLimits,
    allowed_modules: Collection[str] | None,
    policy: bool,
    *,
    keep: bool,
) -> frames.Frame:
    """A ``call`` frame. Source and secrets travel only on a worker's first call."""
    message: frames.Frame = {"op": "call", "keep": keep, "arguments": dict(arguments), "policy": policy,
                             "limits": limits.to_wire(), "cpu_seconds": limits.cpu_seconds}  # fmt: skip
    if source is not None:
        message["source"] = source
    if secrets is not None:
        message["secrets"] = dict(secrets)
    if allowed_modules is not None:
        message["allowed_modules"] = sorted(allowed_modules)
    return message


class ChannelProtocol(asyncio.Protocol):
    """Turns the byte stream into frames; a framing error aborts the connection."""

    def __init__(self, max_frame: int) -> None:
        self._decoder = frames.FrameDecoder(max_frame)
        self._inbox: deque[frames.Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self.error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it: no isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._inbox.extend(self._decoder.feed(data))
        except frames.FrameError as exc:
            self._fail(exc)
            return
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.error is None:
            self.error = frames.ChannelClosed("the worker closed its channel")
        self._wake()

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def receive(self) -> frames.Frame:
        while not self._inbox:
            if self.error is not None:
                raise self.error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._inbox.popleft()

    def send(self, message: frames.Frame) -> None:
        self.send_bytes(frames.encode(message))

    def send_bytes(self, payload: bytes) -> None:
        if self.error is not None or self.transport is None or self.transport.is_closing():
            raise frames.ChannelClosed("the worker's channel is closed")
        self.transport.write(payload)


class WorkerHandle:
    """One live worker process as the pool sees it."""

    def __init__(self, pid: int, channel: ChannelProtocol, memory_mib: int) -> None:
        self.pid = pid
        self.channel = channel
        self.memory_mib = memory_mib
        self.state = WorkerState.STARTING
        self.binding: tuple[str, str, str] | None = None
        self.retiring = False  # set by retire() while busy: do not reuse after this call
        self.calls = 0
        self.call_budget: int | None = None  # calls before retirement, drawn on the first call
        self.last_used = 0.0
        self.facts: dict[str, Any] = {}
        self.exited = asyncio.Event()
        self.exit_code: int | None = None
        self.exit_signal: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            self._pidfd = None  # already gone; kill() has nothing to do

    @classmethod
    async def connect(
        cls, sock: socket.socket, max_frame: int, memory_mib: int, wait_seconds: float
    ) -> WorkerHandle:
        """Wrap our end of the channel and wait for the worker's hello (sent once it is confined).

        The hello's pid is trusted: it is sent before the worker has seen any code.
        """
        loop = asyncio.get_running_loop()
        transport, channel = await loop.connect_accepted_socket(lambda: ChannelProtocol(max_frame), sock)
        try:
            async with asyncio.timeout(wait_seconds):
                hello = await channel.receive()
            pid = hello.get("pid")
            if (
                hello.get("op") != "hello"
                or not isinstance(pid, int)
                or not isinstance(hello.get("isolation"), dict)
            ):
                raise MessageError("the first frame must be a hello with a pid")
        except BaseException:
            transport.abort()
            raise
        handle = cls(pid, channel, memory_mib)
        handle.facts = hello["isolation"]
        handle.state = WorkerState.IDLE
        return handle

    async def exchange(self, payload: bytes, *, relay: Relay, http_limit: int) -> frames.Frame:
        """Send an encoded request; relay ``http`` frames until the final answer arrives; return it."""
        self.channel.send_bytes(payload)
        tasks: set[asyncio.Task[None]] = set()
        requests = 0
        try:
            while True:
                frame = await self.channel.receive()
                op = frame.get("op")
                if op == "http":
                    requests += 1
                    if requests > 2 * http_limit + HTTP_FRAME_SLACK:
                        raise MessageError("the worker flooded the channel with HTTP requests")
                    task = asyncio.create_task(self._relay(frame, relay, over_limit=requests > http_limit))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif op in ("outcome", "validated"):
                    return frame
                else:
                    raise MessageError(f"unexpected frame {op!r} from the worker")
        finally:
            for task in tasks:
                task.cancel()

    async def _relay(self, frame: frames.Frame, relay: Relay, *, over_limit: bool) -> None:
        request_id = frame.get("id")
        raw = frame.get("request")
        try:
            if not isinstance(request_id, int) or not isinstance(raw, dict):
                raise MessageError("an http frame needs an integer id and a request object")
            request = HttpRequest.from_dict(raw)
        except MessageError as exc:
            logger.warning("worker %s sent a malformed http frame (%s); killing it", self.pid, exc)
            self.kill()
            return
        if over_limit:
            response = HttpResponse(error="refused: this call made too many HTTP requests")
        else:
            try:
                response = await relay(request)
            except Exception:  # the broker's own failures must not kill the call's accounting
                logger.exception("egress handler failed for worker %s", self.pid)
                response = HttpResponse(error="egress failed")
        # If the channel is gone the call already ended; its outcome path reports why.
        with contextlib.suppress(frames.ChannelClosed):
            self.channel.send({"op": "http_result", "id": request_id, "response": response.to_dict()})

    async def death_reason(self, cpu_seconds: int, wait_seconds: float) -> SandboxError:
        """Why the worker's channel broke, from the zygote's exit report (waited for briefly)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                await self.exited.wait()
        if self.exit_signal == signal.SIGXCPU:
            return LimitExceeded(f"the call used more than its CPU limit of {cpu_seconds} s")
        if self.exit_signal == signal.SIGKILL:
            return LimitExceeded("the sandbox worker was killed (CPU or memory limit)")
        if self.exit_code == frames.EXIT_PROTOCOL:
            return SandboxError("the sandbox worker rejected the request")
        return SandboxError(
            f"the sandbox worker died unexpectedly (code {self.exit_code}, signal {self.exit_signal})",
            public_message="the sandbox worker crashed",
        )

    def note_exit(self, code: int | None, sig: int | None) -> None:
        self.exit_code, self.exit_signal = code, sig
        self.state = WorkerState.DEAD
        self.exited.set()
        self._close_pidfd()

    def kill(self) -> None:
        """SIGKILL the worker through its pidfd (never a recycled pid).

        The rest of its process group, if any, is killed by the zygote right before it reaps the
        leader, which is the one moment the group id is known to be still ours.
        """
        self.state = WorkerState.DEAD
        if self.channel.transport is not None:
            self.channel.transport.abort()
        if self._pidfd is None:
            return
        try:
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            logger.error("cannot kill sandbox worker %s: %s", self.pid, exc)
        self._close_pidfd()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
