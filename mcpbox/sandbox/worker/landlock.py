"""Landlock through raw syscalls: read-only access to the Python installation, nothing else.

The zygote adds one more read-only directory, the approved packages (see ``packages``); read file
and read directory are all a C extension there needs, because Landlock's execute right governs
``execve`` and not ``mmap(PROT_EXEC)``.

The zygote builds one ruleset (opening the allowed directories while it still can) and keeps its
file descriptor; every worker inherits it and calls only ``landlock_restrict_self`` right after the
fork, so the per-worker cost is one syscall. Each ``restrict_self`` creates a *new* domain, which is
what makes the scope flags work between workers: a worker cannot signal, or connect to an abstract
Unix socket of, a process outside its own domain - its siblings and the zygote included.

ABI facts (include/uapi/linux/landlock.h): filesystem rights grew over ABI 1..5 (REFER at 2,
TRUNCATE at 3, IOCTL_DEV at 5), TCP bind/connect rights arrived at 4 and scopes at 6. The ruleset
attribute struct grew with them, so its size passed to the kernel follows the ABI we found.
The syscall numbers 444-446 are shared by x86_64 and aarch64 (the generic table since Linux 5.13).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass

SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
SUPPORTED_MACHINES = frozenset({"x86_64", "aarch64", "arm64"})

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13
FS_TRUNCATE = 1 << 14
FS_IOCTL_DEV = 1 << 15

NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

FS_RIGHTS_ABI1 = (1 << 13) - 1
READ_ONLY = FS_READ_FILE | FS_READ_DIR


def handled_fs_rights(abi: int) -> int:
    """Every filesystem right the kernel of this ABI knows (all of them are denied by default)."""
    rights = FS_RIGHTS_ABI1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class LandlockError(OSError):
    """A Landlock syscall failed; the message says which one."""


@functools.cache
def _libc() -> ctypes.CDLL:
    """libc, opened once (in the zygote, so forked workers inherit the handle)."""
    return ctypes.CDLL(None, use_errno=True)


def _syscall(number: int, *args: object) -> int:
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    result = int(libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, os.strerror(err))
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI, or 0 when Landlock is missing, disabled or the arch unknown."""
    if sys.platform != "linux" or platform.machine() not in SUPPORTED_MACHINES:
        return 0
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except LandlockError:
        return 0


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A built ruleset held open in the zygote; workers inherit ``fd`` and restrict themselves."""

    fd: int
    abi: int
    paths: tuple[str, ...]
    scoped: int
    handles_net: bool


def python_paths() -> list[str]:
    """Directories holding the interpreter, the stdlib, site-packages and the mcpbox package.

    Only package directories, never a project checkout: with an editable install ``sys.path``
    holds the repository root, and a worker has no business reading the rest of it.
    """
    import mcpbox  # the package directory itself, wherever it is installed or checked out

    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates = set(prefixes)
    candidates.update(value for value in sysconfig.get_paths().values() if value)
    candidates.update(
        path for path in sys.path if path and os.path.basename(path) in ("site-packages", "dist-packages")
    )
    candidates.update(mcpbox.__path__)
    # zoneinfo needs the system time zone database; it is public data and read-only.
    candidates.add("/usr/share/zoneinfo")
    found = sorted({os.path.realpath(path) for path in candidates if os.path.isdir(path)})
    # Drop entries already beneath another one: a shorter ruleset, same access.
    kept: list[str] = []
    for path in found:
        if not any(path == parent or path.startswith(parent.rstrip("/") + "/") for parent in kept):
            kept.append(path)
    return kept


def build_ruleset(read_only_paths: Iterable[str], abi: int) -> Ruleset:
    """Create the ruleset: deny every handled right except reading beneath ``read_only_paths``."""
    if abi < 1:
        raise LandlockError(0, "Landlock is not available")
    attr = _RulesetAttr(handled_fs_rights(abi), 0, 0)
    size = 8
    handles_net = abi >= 4
    if handles_net:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    fd = _syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    added: list[str] = []
    try:
        for path in read_only_paths:
            path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
            try:
                rule = _PathBeneathAttr(READ_ONLY, path_fd)
                _syscall(
                    SYS_ADD_RULE,
                    ctypes.c_int(fd),
                    ctypes.c_int(RULE_PATH_BENEATH),
                    ctypes.byref(rule),
                    ctypes.c_uint32(0),
                )
            finally:
                os.close(path_fd)
            added.append(path)
    except BaseException:
        os.close(fd)
        raise
    return Ruleset(fd=fd, abi=abi, paths=tuple(added), scoped=int(attr.scoped), handles_net=handles_net)


def restrict_self(ruleset_fd: int) -> None:
    """Enter a new Landlock domain. Needs no_new_privs set first (or CAP_SYS_ADMIN)."""
    _syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0))
