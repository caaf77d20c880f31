"""The builtins a tool sees: a fresh, explicit table per call, never the real ``builtins`` module.

Left out on purpose: ``eval``, ``exec``, ``compile``, ``open``, ``input``, ``globals``, ``locals``,
``vars``, ``dir``, ``super``, ``breakpoint``, ``help``, ``memoryview``, ``__import__`` (replaced by
the façade importer) and the real ``getattr``/``setattr``/``delattr``/``hasattr``/``type``
(replaced by guarded versions). Each either returns namespaces, frames, code or modules, or reaches
the file system.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from typing import Any, Final

from mcpbox.sandbox.worker.policy.guards import (
    OwnedObjects,
    guarded_anext,
    guarded_getattr,
    guarded_hasattr,
    guarded_type,
    make_delattr,
    make_setattr,
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_PLAIN_NAMES: Final = _names(
    "None False True Ellipsis NotImplemented abs aiter all any ascii bin bool bytearray bytes "
    "callable chr classmethod complex dict divmod enumerate filter float format frozenset hash hex id "
    "int isinstance issubclass iter len list map max min next object oct ord pow property range repr "
    "reversed round set slice sorted staticmethod str sum tuple zip"
)

_EXCEPTIONS: Final = _names(
    "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError "
    "BufferError BytesWarning ConnectionError DeprecationWarning EOFError EncodingWarning "
    "EnvironmentError Exception ExceptionGroup FileExistsError FileNotFoundError FloatingPointError "
    "FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError "
    "InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError "
    "ModuleNotFoundError NameError NotADirectoryError NotImplementedError OSError OverflowError "
    "PendingDeprecationWarning PermissionError RecursionError ReferenceError ResourceWarning "
    "RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning "
    "SystemError SystemExit TabError TimeoutError TypeError UnboundLocalError UnicodeDecodeError "
    "UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError "
    "Warning ZeroDivisionError ConnectionAbortedError ConnectionRefusedError ConnectionResetError "
    "BrokenPipeError ChildProcessError ProcessLookupError"
)

# Names that exist in Python but not in a tool; the compiler reports a call to one of them early.
UNAVAILABLE_BUILTINS: Final[frozenset[str]] = frozenset(
    _names(
        "eval exec compile open input globals locals vars dir super breakpoint help memoryview "
        "exit quit copyright credits license"
    )
)


# Read-only; each call copies it into a table of its own (tool code cannot reach either).
_PLAIN: Final = types.MappingProxyType(
    {name: getattr(builtins, name) for name in (*_PLAIN_NAMES, *_EXCEPTIONS)}
)


def _make_build_class(owned: OwnedObjects) -> Callable[..., Any]:
    real_build_class = builtins.__build_class__

    def build_class(func: Callable[..., Any], name: str, *bases: Any, **keywords: Any) -> Any:
        cls = real_build_class(func, name, *bases, **keywords)
        if isinstance(cls, type):
            owned.classes.add(cls)
        return cls

    return build_class


def make_builtins(owned: OwnedObjects, importer: Callable[..., Any]) -> dict[str, Any]:
    """A fresh builtins table for one call."""
    table = dict(_PLAIN)
    table.update(
        {
            "__build_class__": _make_build_class(owned),
            "__import__": importer,
            "anext": guarded_anext,
            "getattr": guarded_getattr,
            "hasattr": guarded_hasattr,
            "setattr": make_setattr(owned),
            "delattr": make_delattr(owned),
            "type": guarded_type,
        }
    )
    return table
