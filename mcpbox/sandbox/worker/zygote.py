"""The zygote: imports everything once, enters the namespaces once, then forks workers on request.

Started by the supervisor as ``python -I -m mcpbox.sandbox.worker.zygote`` with a scrubbed
environment and a SOCK_SEQPACKET control socket on fd 0. Control messages are single JSON
datagrams:

    supervisor -> zygote   {"op": "init", "disable": [...],            once, first
                            "packages_dir": "/abs/path" | null}
                           {"op": "spawn", "memory_mib", ...}          + one fd (the worker's channel)
    zygote -> supervisor   {"op": "ready", "isolation": {...}}         once, after setup
                           {"op": "exited", "pid", "code", "signal"}   per reaped worker

Forking from a process that already imported the runtime makes a worker cost a fork plus a few
syscalls. A spawn is not answered: the worker's own hello on its channel carries its pid.
The zygote reads nothing but its control socket and never runs tool code.

The packages directory arrives in the init message, not from the environment or the command line:
the zygote runs with ``-I`` and a scrubbed environment, and the control socket is the one channel
the supervisor already trusts. See ``packages`` for how workers reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
from typing import Any, NoReturn

from mcpbox.sandbox.worker import confine, landlock, namespaces, packages, runtime, serve
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

CONTROL_FD = 0
CONTROL_MAX = 64 * 1024
# The allowlist DESIGN.md names; imported here so workers (which cannot read most files) have them.
PRELOAD = (
    "json",
    "base64",
    "binascii",
    "html",
    "datetime",
    "calendar",
    "zoneinfo",
    "math",
    "cmath",
    "decimal",
    "fractions",
    "statistics",
    "random",
    "string",
    "textwrap",
    "difflib",
    "re",
    "urllib.parse",
    "collections",
    "itertools",
    "functools",
    "typing",
    "dataclasses",
    "enum",
    "uuid",
    "copy",
    "hashlib",
    "hmac",
    "time",
    "encodings.idna",
    "unicodedata",
)


def _log(text: str) -> None:
    sys.stderr.write(f"mcpbox zygote[{os.getpid()}]: {text}\n")
    sys.stderr.flush()


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message, separators=(",", ":")).encode("utf-8"))


def preload() -> list[str]:
    """Import the runtime's allowed modules; return the names that failed (reported, not fatal)."""
    failed = []
    names = set(PRELOAD) | {str(name) for name in getattr(runtime, "DEFAULT_MODULES", ())}
    for name in sorted(names):
        try:
            importlib.import_module(name)
        except ImportError:
            failed.append(name)
    return failed


WARM_UP_SOURCE = '''
import json

def main(x: int, name: str = "a") -> dict:
    """Warm-up tool: touches the compiler, the contract and the serialiser once."""
    print(name)
    return {"x": x, "doubled": json.dumps([x, x])}
'''


class _NoNetwork:
    async def send(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(error="refused: warm-up")


def warm_up() -> None:
    """Run one tool through validate, prepare and run_call in the zygote itself.

    Whatever that fills in once (compiled regexes, RestrictedPython's lazy tables, caches) is then
    inherited by every worker instead of being rebuilt - and copied page by page - in each.
    """
    loop = asyncio.new_event_loop()
    try:
        runtime.validate_source(WARM_UP_SOURCE)
        prepared = runtime.prepare(WARM_UP_SOURCE)
        limits = runtime.CallLimits()
        loop.run_until_complete(
            runtime.run_call(prepared, {"x": 1}, secrets={}, http=_NoNetwork(), limits=limits)
        )
    finally:
        loop.close()


class Zygote:
    """Setup facts plus the fork loop."""

    def __init__(self, control: socket.socket, disable: set[str], packages_dir: str | None = None) -> None:
        self.control = control
        self.pid = os.getpid()
        self.parent = os.getppid()
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.ruleset: landlock.Ruleset | None = None
        self.packages_fd: int | None = None
        self.facts: dict[str, Any] = {"preload_failed": preload()}
        warm_up()
        self._setup(disable, packages_dir)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def _open_packages(self, packages_dir: str | None) -> list[str]:
        """Open the packages directory (before dropping root); its path, to add to the ruleset."""
        facts = self.facts
        facts["packages_dir"] = packages_dir
        facts["packages_reason"] = "" if packages_dir else "no packages directory was given"
        if not packages_dir:
            return []
        try:
            self.packages_fd = packages.open_directory(packages_dir)
        except (OSError, ValueError) as exc:
            facts["packages_reason"] = f"cannot open {packages_dir}: {exc}"
            return []
        return [os.path.realpath(packages_dir)]

    def _setup(self, disable: set[str], packages_dir: str | None) -> None:
        facts = self.facts
        packages_paths = self._open_packages(packages_dir)
        abi = landlock.abi_version()
        facts["landlock_abi"] = abi
        facts["landlock_reason"] = "" if abi else "the kernel has no Landlock (or it is disabled at boot)"
        if "landlock" in disable:
            facts["landlock_reason"] = "disabled by the supervisor"
        elif abi:
            try:
                # Built before dropping root: the paths may sit under a directory only root can walk.
                # Read-only like the Python installation; new packages land beneath it and are covered.
                self.ruleset = landlock.build_ruleset(landlock.python_paths() + packages_paths, abi)
                facts["landlock_paths"] = list(self.ruleset.paths)
                facts["landlock_scoped"] = self.ruleset.scoped
            except OSError as exc:
                facts["landlock_reason"] = f"building the ruleset failed: {exc}"
        if "namespaces" in disable:
            result = namespaces.NamespaceResult(
                False, False, namespaces.drop_root(), "disabled by the supervisor"
            )
        else:
            result = namespaces.enter()
        facts.update(
            user_namespace=result.user,
            network_namespace=result.network,
            namespace_reason=result.reason,
            dropped_root=result.dropped_root,
            loopback_only=result.network and namespaces.loopback_only(),
        )
        facts["capabilities_dropped"] = namespaces.drop_capabilities()
        facts["uid"] = os.getuid()
        # Now with the workers' uid: a root server's workers are nobody, and must still read it.
        facts["packages_readable"] = self.packages_fd is not None and packages.readable(self.packages_fd)
        # setuid clears the parent-death signal, so it is set only now.
        facts["zygote_dies_with_parent"] = confine.die_with_parent(self.parent)

    def run(self) -> NoReturn:
        # Everything imported so far is immortal for the collector: a worker's collections then
        # never touch (and copy-on-write) the zygote's pages.
        gc.collect()
        gc.freeze()
        _send(self.control, {"op": "ready", "pid": self.pid, "isolation": self.facts})
        poller = select.poll()
        poller.register(self.control.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            for fd, _ in poller.poll(1000):
                if fd == self._wake_r:
                    self._drain_wakeups()
                else:
                    self._on_control()
            self._reap()

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_r, 256):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> None:
        """Reap dead workers, killing each one's process group first while its id is still held."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            with contextlib.suppress(OSError):  # no group left (or it never became a leader)
                os.killpg(info.si_pid, signal.SIGKILL)
            pid, status = os.waitpid(info.si_pid, 0)
            code = os.waitstatus_to_exitcode(status)
            _send(
                self.control,
                {
                    "op": "exited",
                    "pid": pid,
                    "code": code if code >= 0 else None,
                    "signal": -code if code < 0 else None,
                },
            )

    def _on_control(self) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, CONTROL_MAX, 1)
        except ConnectionResetError:
            os._exit(0)  # the supervisor closed its end: same as a clean EOF
        except OSError as exc:
            _log(f"control socket failed: {exc}; exiting")
            os._exit(1)
        if not data:
            os._exit(0)  # the supervisor went away; workers follow through their death signal
        try:
            message = json.loads(data)
            if message.get("op") != "spawn" or len(fds) != 1:
                raise ValueError("expected a spawn message carrying one descriptor")
            self._spawn(message, fds[0])
        except (ValueError, KeyError, TypeError) as exc:
            _log(f"bad control message ({exc}); exiting")
            os._exit(1)

    def _spawn(self, message: dict[str, Any], channel_fd: int) -> None:
        limits = confine.WorkerLimits(
            memory_mib=int(message["memory_mib"]),
            cpu_seconds=int(message["cpu_seconds"]),
            cpu_hard_seconds=int(message["cpu_hard_seconds"]),
        )
        max_frame = int(message["max_frame"])
        if os.fork() == 0:
            try:
                self._become_worker(channel_fd, limits, max_frame)
            finally:
                os._exit(serve.EXIT_INTERNAL)
        # No "spawned" answer: the worker's own hello carries its pid, one message fewer per spawn.
        os.close(channel_fd)

    def _become_worker(self, channel_fd: int, limits: confine.WorkerLimits, max_frame: int) -> NoReturn:
        """Confine this fresh child, then serve. Order matters: Landlock before closing its fd."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        confine.new_session()
        facts: dict[str, Any] = {"dies_with_parent": confine.die_with_parent(self.pid)}
        facts["no_new_privs"] = confine.set_no_new_privs()
        confine.set_not_dumpable()
        facts["batch_scheduling"] = confine.yield_to_the_gateway()
        facts["landlock"] = False
        if self.ruleset is not None:
            try:
                landlock.restrict_self(self.ruleset.fd)
                facts["landlock"] = True
            except OSError as exc:
                facts["landlock_error"] = str(exc)
        facts["packages"] = False
        if self.packages_fd is not None:
            try:
                packages.attach(self.packages_fd)  # before close_fds closes the descriptor
                facts["packages"] = True
            except OSError as exc:
                facts["packages_error"] = str(exc)
        confine.close_fds(channel_fd, self.devnull)
        facts["rlimits"] = confine.apply_rlimits(limits)
        facts["open_fds"] = [fd for fd in range(64) if _is_open(fd)]
        sock = socket.socket(fileno=confine.CHANNEL_FD)
        serve.serve(sock, max_frame, {"op": "hello", "pid": os.getpid(), "isolation": facts})


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def main() -> NoReturn:
    control = socket.socket(fileno=CONTROL_FD)
    try:
        data = control.recv(CONTROL_MAX)
        init = json.loads(data)
        if init.get("op") != "init":
            raise ValueError("the first message must be init")
        disable = {str(name) for name in init.get("disable", [])}
        packages_dir = init.get("packages_dir")
        if packages_dir is not None and not isinstance(packages_dir, str):
            raise ValueError("packages_dir must be a string or null")
    except (OSError, ValueError) as exc:
        _log(f"no valid init message ({exc}); exiting")
        os._exit(1)
    Zygote(control, disable, packages_dir).run()


if __name__ == "__main__":
    main()
