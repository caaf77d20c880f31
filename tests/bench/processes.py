"""Server subprocesses for the bench and the conformance runner: start pinned, measure, always kill.

Every server runs in its own session (process group) with its CPU affinity set before ``exec``, so
children it forks (the mcpbox sandbox zygote and workers) inherit the pin. ``ProcessRegistry``
remembers everything it started; ``close()`` sends SIGTERM to each group, waits, then SIGKILLs
the group and any descendant that left it (a sandbox worker may call ``setsid``). Use it as a
context manager so Ctrl-C and exceptions still clean up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

TERM_GRACE_SECONDS = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    """A loopback port nobody listens on right now (small race; fine on a bench machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pin_current_process(cpu: int) -> bool:
    """Pin this process (the load generator) to ``cpu``; False when the machine lacks it."""
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def _parent_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Field 2 (comm) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_map().items():
        children.setdefault(ppid, []).append(pid)
    tree: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _read_pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(b")") + 2 :].split()
    # utime, stime, cutime, cstime are fields 14-17 (1-based), i.e. 11-14 after comm and state.
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def cpu_busy_seconds(cpu: int) -> float:
    """Time ``cpu`` spent not idle since boot (any process, interrupts included), from /proc/stat."""
    prefix = f"cpu{cpu} "
    with open("/proc/stat") as handle:
        for line in handle:
            if line.startswith(prefix):
                ticks = [int(value) for value in line.split()[1:]]
                # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
                return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS
    return 0.0


def _affinity_setter(cpu: int) -> Callable[[], None]:
    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


@dataclass(frozen=True)
class TreeMemory:
    pss_kib: int
    processes: int

    @property
    def pss_mib(self) -> float:
        return self.pss_kib / 1024


@dataclass
class ServerProcess:
    """One started server; ``pid`` is also its process-group id."""

    name: str
    argv: Sequence[str]
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes]
    started_at: float  # time.perf_counter() just before spawn

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def memory(self) -> TreeMemory:
        tree = process_tree(self.pid)
        return TreeMemory(sum(_read_pss_kib(pid) for pid in tree), len(tree))

    def cpu_seconds(self) -> float:
        """CPU time of the tree, including reaped children."""
        return sum(_cpu_seconds(pid) for pid in process_tree(self.pid))

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ProcessRegistry:
    """Starts servers pinned to ``server_cpu`` and guarantees they are gone on ``close()``."""

    log_dir: Path
    server_cpu: int | None = 0
    started: list[ServerProcess] = field(default_factory=list)
    count: int = 0

    def start(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ServerProcess:
        """Start ``argv`` in a new session; ``env`` replaces the environment when given."""
        self.count += 1
        log_path = self.log_dir / f"{name}-{self.count}.log"
        cpu = self.server_cpu
        if cpu is not None and cpu not in range(os.cpu_count() or 1):
            cpu = None

        command = list(argv)
        pin: Callable[[], None] | None = None
        if cpu is not None and shutil.which("taskset"):
            # taskset execs the command (same pid), so no Python runs between fork and exec.
            command = ["taskset", "-c", str(cpu), *command]
        elif cpu is not None:
            pin = _affinity_setter(cpu)
        with log_path.open("wb") as log:
            started_at = time.perf_counter()
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ) if env is None else dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=pin,
            )
        server = ServerProcess(name, argv, port, log_path, popen, started_at)
        self.started.append(server)
        return server

    def stop(self, server: ServerProcess) -> None:
        if server not in self.started:
            return
        self.started.remove(server)
        descendants = process_tree(server.pid) if server.alive() else []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.popen.wait(timeout=TERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"bench: {server.name} ignored SIGTERM for {TERM_GRACE_SECONDS}s; killing", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(server.pid, signal.SIGKILL)
        for pid in descendants:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.popen.wait(timeout=TERM_GRACE_SECONDS)

    def close(self) -> None:
        for server in list(reversed(self.started)):
            self.stop(server)

    def __enter__(self) -> ProcessRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so ``finally`` blocks (and the registry) run."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
