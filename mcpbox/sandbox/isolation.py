"""Which OS isolation layers the sandbox really has, as reported from inside a live worker.

Nothing here guesses from kernel version strings: the zygote reports what entering the namespaces
and building the Landlock ruleset achieved, and a freshly forked worker reports what its own
confinement achieved (no_new_privs read back, rlimits read back, Landlock restrict_self result,
descriptors left open). ``mcpbox check`` and ``/health/ready`` print this report;
``sandbox_require_isolation`` refuses to start when a layer is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcpbox.errors import SandboxError
from mcpbox.sandbox.call_limits import SandboxLimits, inbound_frame_bound, outbound_frame_bound
from mcpbox.sandbox.worker_handle import WorkerHandle
from mcpbox.sandbox.zygote_client import SpawnRequest, ZygoteClient

PROBE_TIMEOUT = 20.0
EXPECTED_RLIMITS = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE")


@dataclass(frozen=True, slots=True)
class Layer:
    """One isolation layer: whether it is in force and, in words, what it is or why not."""

    name: str
    active: bool
    detail: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class IsolationReport:
    layers: tuple[Layer, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.required and not layer.active)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def summary(self) -> str:
        return "; ".join(
            f"{layer.name}={'on' if layer.active else 'off'} ({layer.detail})" for layer in self.layers
        )

    def lines(self) -> list[str]:
        """Human-readable lines for ``mcpbox check``."""
        marks = {
            (True, True): "ok     ",
            (True, False): "ok     ",
            (False, True): "MISSING",
            (False, False): "--     ",
        }
        return [
            f"{marks[(layer.active, layer.required)]} {layer.name}: {layer.detail}" for layer in self.layers
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape for ``/health/ready`` and the admin system page."""
        return {
            "complete": self.complete,
            "layers": [
                {
                    "name": layer.name,
                    "active": layer.active,
                    "required": layer.required,
                    "detail": layer.detail,
                }
                for layer in self.layers
            ],
        }


def _landlock(zygote: Mapping[str, Any], worker: Mapping[str, Any]) -> Layer:
    abi = int(zygote.get("landlock_abi") or 0)
    if worker.get("landlock"):
        scoped = int(zygote.get("landlock_scoped") or 0)
        scopes = (
            "abstract unix sockets and signals scoped" if scoped == 3 else "no scope restrictions (ABI < 6)"
        )
        paths = len(zygote.get("landlock_paths") or [])
        return Layer(
            "landlock",
            True,
            f"ABI {abi}; read-only access to {paths} directories (the Python installation, the time "
            f"zone database and the approved packages), nothing else; {scopes}",
        )
    reason = worker.get("landlock_error") or zygote.get("landlock_reason") or "not applied"
    return Layer("landlock", False, f"ABI {abi}: {reason}")


def report_from_facts(zygote: Mapping[str, Any], worker: Mapping[str, Any]) -> IsolationReport:
    """Build the report from the zygote's ready facts and one worker's hello facts."""
    ns_reason = str(zygote.get("namespace_reason") or "")
    rlimits = worker.get("rlimits") or {}
    rlimits_ok = isinstance(rlimits, dict) and all(rlimits.get(name) is True for name in EXPECTED_RLIMITS)
    failed = [
        name for name in EXPECTED_RLIMITS if not (isinstance(rlimits, dict) and rlimits.get(name) is True)
    ]
    fds = worker.get("open_fds") or []
    root_note = " (started as root: runs as nobody)" if zygote.get("dropped_root") else ""
    layers = (
        Layer(
            "user_namespace",
            bool(zygote.get("user_namespace")),
            f"own user namespace, uid {zygote.get('uid')}{root_note}"
            if zygote.get("user_namespace")
            else ns_reason or "not entered",
        ),
        Layer(
            "network_namespace",
            bool(zygote.get("network_namespace") and zygote.get("loopback_only")),
            "own network namespace: no interface but a down loopback"
            if zygote.get("network_namespace")
            else ns_reason or "not entered",
        ),
        _landlock(zygote, worker),
        Layer(
            "no_new_privs",
            bool(worker.get("no_new_privs")),
            "set: exec can never gain privileges" if worker.get("no_new_privs") else "prctl failed",
        ),
        Layer(
            "capabilities",
            bool(zygote.get("capabilities_dropped")),
            "all dropped (bounding, ambient, effective, permitted)"
            if zygote.get("capabilities_dropped")
            else "capset failed",
        ),
        Layer(
            "rlimits",
            rlimits_ok,
            "address space, CPU, open files, processes=0, file size=0, core=0"
            if rlimits_ok
            else f"not set: {', '.join(failed)}",
        ),
        Layer(
            "descriptors",
            list(fds) == [0, 1, 2, 3],
            "only /dev/null on 0-2 and the channel on 3"
            if list(fds) == [0, 1, 2, 3]
            else f"unexpected open descriptors {fds}",
        ),
        Layer(
            "parent_death_signal",
            bool(worker.get("dies_with_parent") and zygote.get("zygote_dies_with_parent")),
            "workers die with the zygote, the zygote with the server",
        ),
        Layer(
            "seccomp", False, "not used by design (Landlock, namespaces and rlimits instead)", required=False
        ),
    )
    return IsolationReport(layers)


async def probe_isolation(
    *, command: Sequence[str] | None = None, wait_seconds: float = PROBE_TIMEOUT
) -> IsolationReport:
    """Start a throwaway zygote and one worker, and report what they achieved."""
    zygote = ZygoteClient(on_exit=lambda pid, code, sig: None, on_death=lambda: None, command=command)
    try:
        facts = await zygote.start(wait_seconds)
        limits = SandboxLimits()
        request = SpawnRequest(
            memory_mib=limits.memory_mib,
            cpu_seconds=limits.cpu_seconds,
            cpu_hard_seconds=limits.cpu_seconds + 1,
            max_frame=outbound_frame_bound(limits, 1 << 20),
        )
        sock = zygote.spawn(request)
        worker = await WorkerHandle.connect(
            sock, inbound_frame_bound(limits), limits.memory_mib, wait_seconds
        )
        worker.kill()
        return report_from_facts(facts, worker.facts)
    finally:
        await zygote.close(wait_seconds)


def detect_isolation(
    *, command: Sequence[str] | None = None, wait_seconds: float = PROBE_TIMEOUT
) -> IsolationReport:
    """Blocking form of ``probe_isolation`` for the CLI (``mcpbox check``); not for a running loop."""
    try:
        return asyncio.run(probe_isolation(command=command, wait_seconds=wait_seconds))
    except SandboxError as exc:
        return IsolationReport((Layer("sandbox", False, f"could not start a sandbox worker: {exc}"),))
