"""Approved PyPI packages inside a worker: one read-only directory, reached as the working directory.

The supervisor installs approved wheels into ``<data_dir>/packages`` and tells the zygote where it
is. The zygote opens it (``O_PATH``) while it may still be root, before it becomes ``nobody`` and
enters its user namespace, and adds it to the Landlock ruleset read-only (read file, read
directory; loading a C extension needs no more, since Landlock's execute right governs ``execve``,
not ``mmap(PROT_EXEC)``). Each worker makes it its working directory (``fchdir``) before its
descriptors are closed, and imports through ``/proc/self/cwd``:

- The data directory is mode 0700, and a server started as root runs its workers as ``nobody``,
  who may not walk into it. A path through the ``/proc/self/cwd`` link needs no search permission
  on the directories above, so the worker reaches the packages and nothing else of the data
  directory (``..`` from there is a directory it may not search, and Landlock refuses reads
  outside its rules in any case).
- No descriptor stays open for it: the worker still holds only /dev/null and its channel.
- Landlock rules hold on the directory hierarchy, not on a listing: a package installed after the
  zygote started is covered, and ``enable`` forgets the import system's cached directory listings
  so the worker sees it.

The entry is appended to ``sys.path`` only in a worker whose tool has approved modules beyond the
defaults, and always last, so the standard library and mcpbox's own dependencies are found first.
Last is not enough on its own: a worker started by root runs as ``nobody`` and may be unable to
list a standard library installed under ``/root`` (it has what the zygote imported before
dropping root), and a module left out of this build (``winreg`` on Linux) is not on the path at
all - either way the lookup would fall through to a ``colorsys.py`` in the packages. So the
directory gets its own finder, which never supplies a top-level name of the standard library.
The directory is never processed as a site directory: a ``.pth`` file in it is never read, let
alone run.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import machinery
from types import ModuleType

PATH_ENTRY = "/proc/self/cwd"
# What the default path hook gives a FileFinder, in the same order (extensions first).
_LOADERS = (
    (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
    (machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
    (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
)

_state = {"attached": False}


class PackagesFinder(machinery.FileFinder):
    """The packages directory's finder: a normal ``FileFinder`` that never shadows the stdlib."""

    def find_spec(self, fullname: str, target: ModuleType | None = None) -> machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in sys.stdlib_module_names:
            return None
        return super().find_spec(fullname, target)


def _path_hook(path: str) -> PackagesFinder:
    """First on ``sys.path_hooks``: claims the packages entry, declines every other path."""
    if path != PATH_ENTRY:
        raise ImportError("not the packages directory")
    return PackagesFinder(path, *_LOADERS)


def open_directory(path: str) -> int:
    """A path-only descriptor of the packages directory, for every worker to ``fchdir`` into.

    ``O_PATH`` grants no read of its own: what a worker may do beneath it is what Landlock and the
    file modes allow.
    """
    if not os.path.isabs(path):
        raise ValueError(f"the packages directory must be an absolute path, not {path!r}")
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def readable(fd: int) -> bool:
    """Whether this process's real uid may list and read the directory ``fd`` refers to.

    Asked by the zygote after it took the workers' uid, so a directory created by root with a
    restrictive mode (workers run as ``nobody`` then) is reported rather than found out later.
    """
    return os.access(f"/proc/self/fd/{fd}", os.R_OK | os.X_OK)


def attach(fd: int) -> None:
    """Make the packages directory this worker's working directory (right after the fork).

    Raises ``OSError`` when the worker's uid may not search it; the worker then runs without
    packages and says why in its hello.
    """
    os.fchdir(fd)
    _state["attached"] = True


def enable() -> bool:
    """Make approved packages importable for the call about to run; False when there are none.

    Called before every call whose tool may import approved extra modules. Appending is done
    once; forgetting cached directory listings is done each time, because packages may have been
    installed since the last look (``FileFinder`` otherwise trusts a directory's mtime, which has
    a coarse granularity on some filesystems).
    """
    if not _state["attached"]:
        return False
    if PATH_ENTRY not in sys.path:
        sys.path_hooks.insert(0, _path_hook)
        sys.path_importer_cache.pop(PATH_ENTRY, None)
        sys.path.append(PATH_ENTRY)
    importlib.invalidate_caches()
    return True
