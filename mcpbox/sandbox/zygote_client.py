"""The supervisor's handle on the zygote process: start it, ask it for workers, hear of their deaths.

The zygote is a child of the server, started with a scrubbed environment and a SOCK_SEQPACKET
control socket as its stdin. Each spawn request carries one end of a fresh socketpair, so a worker
talks to the supervisor directly and the zygote never relays call traffic (one hop, not two).
The zygote reports every worker it reaps; that is how the supervisor knows a pid is really gone
and why a worker died (SIGXCPU means its CPU budget ran out).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcpbox.errors import SandboxError

logger = logging.getLogger(__name__)

ZYGOTE_MODULE = "mcpbox.sandbox.worker.zygote"
SCRUBBED_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
CONTROL_MAX = 64 * 1024


class ZygoteState(enum.Enum):
    CREATED = "created"
    STARTING = "starting"
    READY = "ready"
    DEAD = "dead"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    """What a new worker is told at birth (the per-call CPU budget is re-armed on each call)."""

    memory_mib: int
    cpu_seconds: int
    cpu_hard_seconds: int
    max_frame: int


ExitCallback = Callable[[int, int | None, int | None], None]


def default_command() -> list[str]:
    return [sys.executable, "-I", "-m", ZYGOTE_MODULE]


class ZygoteClient:
    """One zygote process; a dead one is replaced by a new client (the pool does that).

    ``packages_dir`` (absolute) is where approved packages are installed; the zygote learns it
    from its init message because its environment is scrubbed and ``-I`` ignores ``PYTHON*``.
    """

    def __init__(
        self,
        *,
        on_exit: ExitCallback,
        on_death: Callable[[], None],
        command: Sequence[str] | None = None,
        disable: frozenset[str] = frozenset(),
        packages_dir: str | None = None,
    ) -> None:
        self.state = ZygoteState.CREATED
        self.facts: dict[str, Any] = {}
        self.pid = 0
        self._on_exit = on_exit
        self._on_death = on_death
        self._command = list(command or default_command())
        self._disable = sorted(disable)
        self._packages_dir = packages_dir
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self, wait_seconds: float) -> dict[str, Any]:
        """Start the process and wait for its ready report (the isolation facts it achieved)."""
        if self.state is not ZygoteState.CREATED:
            raise SandboxError(f"a zygote client cannot start twice (state {self.state.value})")
        self.state = ZygoteState.STARTING
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=None,
                env=SCRUBBED_ENV,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            self.state = ZygoteState.DEAD
            raise SandboxError(f"cannot start the sandbox zygote: {exc}") from exc
        finally:
            theirs.close()
        self.pid = self._process.pid
        ours.setblocking(False)
        self._sock = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_readable)
        self._watcher = asyncio.create_task(self._watch(), name=f"zygote-{self.pid}-watch")
        init = {"op": "init", "disable": self._disable, "packages_dir": self._packages_dir}
        ours.send(json.dumps(init).encode())
        try:
            async with asyncio.timeout(wait_seconds):
                ready = await self._ready
        except TimeoutError:
            self.kill()
            raise SandboxError(f"the sandbox zygote did not report ready within {wait_seconds} s") from None
        self.facts = dict(ready.get("isolation") or {})
        self.state = ZygoteState.READY
        return self.facts

    def spawn(self, request: SpawnRequest) -> socket.socket:
        """Ask for a worker; return our end of its channel (its hello will say its pid)."""
        if self.state is not ZygoteState.READY or self._sock is None:
            raise SandboxError(f"the sandbox zygote is not ready (state {self.state.value})")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        message = {
            "op": "spawn",
            "memory_mib": request.memory_mib,
            "cpu_seconds": request.cpu_seconds,
            "cpu_hard_seconds": request.cpu_hard_seconds,
            "max_frame": request.max_frame,
        }
        try:
            socket.send_fds(self._sock, [json.dumps(message).encode()], [theirs.fileno()])
        except OSError as exc:
            ours.close()
            raise SandboxError(f"cannot reach the sandbox zygote: {exc}") from exc
        finally:
            theirs.close()
        return ours

    def _on_readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(CONTROL_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._died("its control socket closed")
                return
            try:
                self._dispatch(json.loads(data))
            except (ValueError, KeyError, TypeError) as exc:
                logger.error("sandbox zygote sent a malformed control message (%s); killing it", exc)
                self.kill()
                return

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "ready" and self._ready is not None and not self._ready.done():
            self._ready.set_result(message)
        elif op == "exited":
            code, sig = message.get("code"), message.get("signal")
            self._on_exit(
                int(message["pid"]),
                code if isinstance(code, int) else None,
                sig if isinstance(sig, int) else None,
            )
        else:
            raise ValueError(f"unknown op {op!r}")

    async def _watch(self) -> None:
        assert self._process is not None
        code = await self._process.wait()
        self._died(f"it exited with status {code}")

    def _died(self, why: str) -> None:
        if self.state in (ZygoteState.DEAD, ZygoteState.CLOSED):
            return
        self.state = ZygoteState.DEAD
        self._detach()
        error = SandboxError(f"the sandbox zygote died: {why}")
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)
        logger.warning("sandbox zygote %s died: %s", self.pid, why)
        self._on_death()

    def _detach(self) -> None:
        if self._sock is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def close(self, grace_seconds: float) -> None:
        """Kill the zygote (its workers die with it) and reap it, within ``grace_seconds``."""
        if self.state is ZygoteState.CLOSED:
            return
        self.state = ZygoteState.CLOSED
        self._detach()
        self.kill()
        if self._process is not None:
            try:
                async with asyncio.timeout(grace_seconds):
                    await self._process.wait()
            except TimeoutError:
                logger.error("sandbox zygote %s was not reaped within %s s", self.pid, grace_seconds)
        if self._watcher is not None:
            self._watcher.cancel()
