"""The worker loop: read a frame, run it through the policy runtime, answer, repeat or exit.

By the time ``serve`` runs the worker is confined (see ``Zygote._become_worker``). It speaks only to
its channel. A ``call`` frame marked ``keep`` leaves the worker alive and bound to the code and
secrets of its first call (a warm worker); anything else makes it exit right after answering, so a
one-shot worker leaves nothing behind. While a call runs, the tool's ``http`` requests travel as
``http`` frames and come back as ``http_result`` frames; several may be in flight at once.

Approved packages are put on the import path only for a tool whose allowed modules go beyond the
defaults, right before each of its calls (``packages.enable``); other tools never see them.

A supervisor that breaks the framing rules, or closes the channel, ends the worker at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import deque
from collections.abc import Mapping
from typing import Any, NoReturn

from mcpbox.sandbox.worker import confine, frames, packages, runtime
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse, MessageError

EXIT_OK, EXIT_PROTOCOL, EXIT_INTERNAL = frames.EXIT_OK, frames.EXIT_PROTOCOL, frames.EXIT_INTERNAL
OUTCOME_FIELDS = (
    "ok",
    "result_json",
    "result_is_text",
    "error",
    "error_kind",
    "stdout",
    "stdout_truncated",
    "duration_ms",
)


class WorkerChannel:
    """The worker's end of its socket, driven by the worker's own event loop."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop, max_frame: int) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._loop = loop
        self._decoder = frames.FrameDecoder(max_frame)
        self._inbox: deque[frames.Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._http: dict[int, asyncio.Future[frames.Frame]] = {}
        self._next_id = 0
        loop.add_reader(sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = self._sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            os._exit(EXIT_PROTOCOL)
        if not data:
            os._exit(EXIT_OK)  # the supervisor let go of us: nothing left to do
        try:
            received = self._decoder.feed(data)
        except frames.FrameError:
            os._exit(EXIT_PROTOCOL)
        for frame in received:
            if frame.get("op") == "http_result":
                pending = self._http.pop(frame.get("id", -1), None)
                if pending is not None and not pending.done():
                    pending.set_result(frame)
                continue
            self._inbox.append(frame)
        if self._inbox and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def receive(self) -> frames.Frame:
        while not self._inbox:
            self._waiter = self._loop.create_future()
            await self._waiter
        return self._inbox.popleft()

    async def send(self, message: frames.Frame) -> None:
        await self._loop.sock_sendall(self._sock, frames.encode(message))

    async def http(self, request: HttpRequest) -> HttpResponse:
        self._next_id += 1
        request_id = self._next_id
        answer: asyncio.Future[frames.Frame] = self._loop.create_future()
        self._http[request_id] = answer
        await self.send({"op": "http", "id": request_id, "request": request.to_dict()})
        frame = await answer
        response = frame.get("response")
        if not isinstance(response, dict):
            os._exit(EXIT_PROTOCOL)
        try:
            return HttpResponse.from_dict(response)
        except MessageError:
            os._exit(EXIT_PROTOCOL)


class ChannelHttp:
    """The policy runtime's ``HttpTransport``: every request goes to the supervisor's broker."""

    def __init__(self, channel: WorkerChannel) -> None:
        self._channel = channel

    async def send(self, request: HttpRequest) -> HttpResponse:
        return await self._channel.http(request)


def _call_limits(frame: Mapping[str, Any]) -> runtime.CallLimits:
    raw = frame.get("limits")
    if not isinstance(raw, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in raw.values()
    ):
        raise MessageError("limits must be an object of integers")
    return runtime.CallLimits(
        stdout_bytes=raw["stdout_bytes"],
        result_bytes=raw["result_bytes"],
        code_bytes=raw["code_bytes"],
        http_requests=raw["http_requests"],
    )


def _modules(frame: Mapping[str, Any]) -> Any:
    raw = frame.get("allowed_modules")
    if raw is None:
        return runtime.DEFAULT_MODULES
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise MessageError("allowed_modules must be a list of strings")
    return frozenset(raw)


def _secrets(frame: Mapping[str, Any]) -> dict[str, str]:
    raw = frame.get("secrets") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise MessageError("secrets must be an object of strings")
    return dict(raw)


def _violations(items: Any) -> list[dict[str, Any]]:
    return [{"line": v.line, "column": v.column, "message": v.message} for v in items]


class Worker:
    """One worker's state: nothing before the first call; code and secrets after it (warm)."""

    def __init__(self, channel: WorkerChannel) -> None:
        self._channel = channel
        self._http = ChannelHttp(channel)
        self._prepared: Any = None
        self._secrets: dict[str, str] = {}

    async def handle(self, frame: frames.Frame) -> bool:
        """Answer one frame; return True to keep serving."""
        op = frame.get("op")
        if op == "validate":
            await self._validate(frame)
            return False
        if op == "call":
            return await self._call(frame)
        raise MessageError(f"unknown op {op!r}")

    async def _validate(self, frame: frames.Frame) -> None:
        source = frame.get("source")
        if not isinstance(source, str):
            raise MessageError("source must be a string")
        report = runtime.validate_source(source, allowed_modules=_modules(frame), limits=_call_limits(frame))
        await self._channel.send(
            {
                "op": "validated",
                "ok": bool(report.ok),
                "violations": _violations(report.violations),
                "input_schema": report.input_schema,
                "description": report.description,
                "rss_kib": confine.max_rss_kib(),
            }
        )

    async def _call(self, frame: frames.Frame) -> bool:
        keep = frame.get("keep") is True
        limits = _call_limits(frame)
        arguments = frame.get("arguments")
        cpu = frame.get("cpu_seconds")
        if not isinstance(arguments, dict) or not isinstance(cpu, int) or isinstance(cpu, bool):
            raise MessageError("call needs an arguments object and integer cpu_seconds")
        if self._prepared is None:
            source = frame.get("source")
            if not isinstance(source, str):
                raise MessageError("the first call must carry the source")
            self._secrets = _secrets(frame)
            try:
                self._prepared = runtime.prepare(
                    source,
                    allowed_modules=_modules(frame),
                    policy=frame.get("policy") is not False,
                    limits=limits,
                )
            except runtime.PolicyRejected as exc:
                summary = "; ".join(f"line {v.line}: {v.message}" for v in exc.violations)
                await self._channel.send(_failure(summary, "policy", _violations(exc.violations)))
                return False
        if self._prepared.allowed_modules - runtime.DEFAULT_MODULES:
            packages.enable()  # approved extra modules may come from installed packages
        confine.arm_cpu(cpu)
        try:
            outcome = await runtime.run_call(
                self._prepared, arguments, secrets=self._secrets, http=self._http, limits=limits
            )
        except MemoryError:
            # Raised outside the tool's own frame (serialising a huge result, say); the big
            # objects are gone by now, so there is room to say what happened.
            await self._channel.send(_failure("MemoryError: the call ran out of memory", "limit"))
            return False
        message: frames.Frame = {name: getattr(outcome, name) for name in OUTCOME_FIELDS}
        message["op"] = "outcome"
        message["rss_kib"] = confine.max_rss_kib()
        await self._channel.send(message)
        return keep and bool(outcome.ok)


def _failure(error: str, kind: str, violations: list[dict[str, Any]] | None = None) -> frames.Frame:
    """An outcome frame for a call that never produced a result of its own."""
    return {
        "op": "outcome", "ok": False, "result_json": None, "result_is_text": False, "error": error,
        "error_kind": kind, "stdout": "", "stdout_truncated": False, "duration_ms": 0.0,
        "violations": violations or [], "rss_kib": confine.max_rss_kib(),
    }  # fmt: skip


async def _serve(sock: socket.socket, max_frame: int, hello: frames.Frame) -> None:
    loop = asyncio.get_running_loop()
    channel = WorkerChannel(sock, loop, max_frame)
    await channel.send(hello)
    worker = Worker(channel)
    while await worker.handle(await channel.receive()):
        pass


def serve(sock: socket.socket, max_frame: int, hello: frames.Frame) -> NoReturn:
    """Run the worker until its last call; never returns (the process exits)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_serve(sock, max_frame, hello))
    except MessageError:
        os._exit(EXIT_PROTOCOL)
    except BaseException:  # noqa: BLE001 - a worker reports nothing more; the supervisor sees the exit code
        os._exit(EXIT_INTERNAL)
    os._exit(EXIT_OK)
