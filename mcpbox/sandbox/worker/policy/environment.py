"""The globals one call of a tool runs in, built fresh for every call.

A warm worker reuses the compiled code of one tool version for many calls; what must not be
reused is anything the code can write to. So every call gets new globals, a new builtins table,
new façades, a new ``http`` client, a read-only copy of the secrets and a deep copy of the
arguments. Module-level constants are recomputed by re-running the module body.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from mcpbox.sandbox.worker.policy import toolspace
from mcpbox.sandbox.worker.policy.builtins import make_builtins
from mcpbox.sandbox.worker.policy.facades import FacadeCatalog, FacadeImporter
from mcpbox.sandbox.worker.policy.guards import (
    OwnedObjects,
    guarded_getattr,
    guarded_getitem,
    inplace_operation,
    make_write_guard,
)
from mcpbox.sandbox.worker.policy.http_client import HttpTransport, make_http_client
from mcpbox.sandbox.worker.policy.output import OutputCapture, make_print_factory

# The value of __name__ in tool globals, and so the __module__ of tool classes (see toolspace).
TOOL_MODULE_NAME: Final = toolspace.__name__


@dataclass(frozen=True)
class CallEnvironment:
    tool_globals: dict[str, Any]
    capture: OutputCapture
    arguments: dict[str, Any]


def _apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def build_environment(
    *,
    catalog: FacadeCatalog,
    arguments: Mapping[str, Any],
    secrets: Mapping[str, str],
    transport: HttpTransport,
    max_requests: int,
    stdout_bytes: int,
) -> CallEnvironment:
    """Fresh restricted globals for one call, plus the call's output capture."""
    owned = OwnedObjects()
    capture = OutputCapture(stdout_bytes)
    importer = FacadeImporter(catalog, owned)
    tool_globals: dict[str, Any] = {
        "__builtins__": make_builtins(owned, importer),
        "__name__": TOOL_MODULE_NAME,
        "__metaclass__": type,
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": make_write_guard(owned),
        "_apply_": _apply,
        "_inplacevar_": inplace_operation,
        "_print_": make_print_factory(capture),
        "http": make_http_client(transport, max_requests),
        "secrets": types.MappingProxyType({str(key): str(value) for key, value in secrets.items()}),
        "arguments": copy.deepcopy(dict(arguments)),
    }
    owned.tool_globals = tool_globals
    return CallEnvironment(tool_globals, capture, copy.deepcopy(dict(arguments)))


def forget_shared_caches() -> None:
    """Drop process-wide caches that hold objects a call passed in, once the call is over.

    ``typing`` caches subscriptions such as ``Optional[x]`` keyed by the argument and returns the
    cached alias (argument included) to whoever asks next with an equal key: a tool object with a
    matching ``__eq__``/``__hash__`` planted in one call would come back in the next. Clearing
    costs the next call a few microseconds of recomputation. (``re``'s cache is keyed by the
    pattern's exact type and hands back only compiled patterns, so it is left alone: clearing it
    would recompile every module-level pattern on every call.)
    """
    for clear in typing._cleanups:  # type: ignore[attr-defined]
        clear()


def build_unrestricted_environment(
    *,
    arguments: Mapping[str, Any],
    secrets: Mapping[str, str],
    transport: HttpTransport,
    max_requests: int,
    stdout_bytes: int,
) -> CallEnvironment:
    """TEST ONLY (``policy=False``): real builtins, real imports, no guards at all.

    Exists so the process-boundary tests can show that the OS layer holds on its own. Never use it
    for a real call: tool code running here can do anything the worker process can.
    """
    capture = OutputCapture(stdout_bytes)
    tool_globals: dict[str, Any] = {
        "__name__": TOOL_MODULE_NAME,
        "http": make_http_client(transport, max_requests),
        "secrets": types.MappingProxyType(dict(secrets)),
        "arguments": copy.deepcopy(dict(arguments)),
    }
    return CallEnvironment(tool_globals, capture, copy.deepcopy(dict(arguments)))
