"""Enter a new user + network namespace once, in the zygote; every worker inherits it.

Why a user namespace: it lets an unprivileged process own a network namespace, and it strips the
zygote of every capability that matters outside. Why a network namespace: a fresh one has only a
loopback interface, and it is down, so a worker has no route anywhere - not to the internet, not
to the host's 127.0.0.1, not to the LAN. Doing it once costs a few milliseconds at startup instead
of per worker, and there is nothing to clean up: the namespace dies with its last process.

A process started as root first becomes ``nobody`` (and drops its supplementary groups): with a
real uid of 0 the kernel exempts it from RLIMIT_NPROC even inside a user namespace, so workers
could still fork. Python 3.11 has no ``os.unshare``; libc's ``unshare`` is called through ctypes.
"""

from __future__ import annotations

import ctypes
import functools
import os
import socket
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
NOBODY = 65534

PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_LAST_CAP_GUESS = 63


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@dataclass(frozen=True, slots=True)
class NamespaceResult:
    """What entering the namespaces achieved, with a reason when it did not."""

    user: bool
    network: bool
    dropped_root: bool
    reason: str


@functools.cache
def _libc() -> ctypes.CDLL:
    """libc, opened once (in the zygote, so forked workers inherit the handle)."""
    return ctypes.CDLL(None, use_errno=True)


def drop_root() -> bool:
    """Become nobody:nogroup with no supplementary groups if running as root; True if it did."""
    if os.geteuid() != 0 and os.getuid() != 0:
        return False
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    return True


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def enter() -> NamespaceResult:
    """Drop root if needed, then unshare user+network namespaces and map our ids 1:1."""
    dropped = drop_root()
    uid, gid = os.geteuid(), os.getegid()
    libc = _libc()
    if libc.unshare(ctypes.c_int(CLONE_NEWUSER | CLONE_NEWNET)) != 0:
        err = ctypes.get_errno()
        return NamespaceResult(
            False,
            False,
            dropped,
            f"unshare(CLONE_NEWUSER|CLONE_NEWNET) failed: "
            f"{os.strerror(err)} (unprivileged user namespaces may be disabled "
            "by sysctl, AppArmor or the container runtime)",
        )
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError as exc:
        return NamespaceResult(True, True, dropped, f"namespaces entered but id maps failed: {exc.strerror}")
    return NamespaceResult(True, True, dropped, "")


def drop_capabilities() -> bool:
    """Clear every capability (the new user namespace granted a full set inside it).

    The bounding and ambient sets go first, while CAP_SETPCAP is still held, so nothing can come
    back on a later exec either.
    """
    libc = _libc()
    libc.prctl(
        ctypes.c_int(PR_CAP_AMBIENT),
        ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    for cap in range(CAP_LAST_CAP_GUESS + 1):
        if (
            libc.prctl(
                ctypes.c_int(PR_CAPBSET_DROP),
                ctypes.c_ulong(cap),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
            )
            != 0
        ):
            break  # EINVAL past the last capability this kernel knows
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    return int(libc.capset(ctypes.byref(header), data)) == 0


def loopback_only() -> bool:
    """True when the only network interface is ``lo`` (what a fresh network namespace has)."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return False
    return names == ["lo"]
