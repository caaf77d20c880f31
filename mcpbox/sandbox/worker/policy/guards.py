"""Run-time guards the restricted compiler routes attribute, item and write access through.

The compiler (``transformer``) refuses ``_`` names it can see; these guards refuse the ones it
cannot: names built at run time (``getattr(x, "_" + "_class__")``), attribute traversal inside
``str.format`` fields, and the introspection attributes of frames, code objects, generators,
coroutines and tracebacks, which are the classic ways out of a Python sandbox. Coroutines may
only be awaited, never driven by hand (``send``/``throw``, or iterating an async generator's
``asend`` awaitable): what a coroutine yields is an event-loop future, and ``future.get_loop()``
is the loop itself.

Writes are the other half. Module-level state of the standard library survives between calls in a
warm worker, so tool code may only set attributes on objects it created itself (instances of its own
classes, its own functions, the ``decimal`` context of its own call); anything else would let one
call leave data for the next.
"""

from __future__ import annotations

import abc
import decimal
import operator
import string
import types
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from mcpbox.sandbox.worker.policy import toolspace


class PolicyError(Exception):
    """Tool code tried something the sandbox policy forbids; the message says what and why."""


class LimitExceeded(Exception):
    """Tool code went over a per-call limit (HTTP requests, output, result size)."""


# Refused everywhere, whatever the object: frame, code and coroutine plumbing plus ``mro``, which
# hands out the class hierarchy (``object`` and from there every loaded class).
BLOCKED_ATTRIBUTES: Final[frozenset[str]] = frozenset(INSPECT_ATTRIBUTES) | {
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "cr_origin",
    "ag_frame", "ag_code", "ag_await", "f_back", "f_builtins", "f_code", "f_globals", "f_locals",
    "f_trace", "tb_frame", "tb_next", "co_code", "mro",
}  # fmt: skip

# On these types every attribute with one of the prefixes is refused, not only the known ones.
_INTROSPECTION_TYPES: Final = (
    types.FrameType,
    types.TracebackType,
    types.CodeType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
)
_INTROSPECTION_PREFIXES: Final = ("f_", "tb_", "co_", "gi_", "cr_", "ag_")


def check_attribute(obj: object, name: object) -> str:
    """Return ``name`` if tool code may read it on ``obj``; raise ``PolicyError`` otherwise."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_"):
        raise PolicyError(f'access to "{name}" is not allowed: names starting with "_" are private')
    if name in BLOCKED_ATTRIBUTES:
        raise PolicyError(f'access to "{name}" is not allowed: it exposes interpreter internals')
    if isinstance(obj, _INTROSPECTION_TYPES) and name.startswith(_INTROSPECTION_PREFIXES):
        raise PolicyError(f'access to "{name}" is not allowed: it exposes interpreter internals')
    if name in ("send", "throw") and isinstance(obj, types.CoroutineType):
        # Driving a coroutine by hand hands out what it awaits: the event loop's futures, and
        # through future.get_loop() the loop itself (subprocesses, sockets).
        raise PolicyError(f'"{name}" on a coroutine is not allowed: await it instead')
    if name == "obj" and isinstance(obj, BaseException):
        # AttributeError.obj is whatever object the failing lookup was made on, possibly internal.
        raise PolicyError('access to "obj" on an exception is not allowed')
    return name


class SafeFormatter(string.Formatter):
    """``str.format`` whose field traversal (``{0.attr}``, ``{0[key]}``) goes through the guards."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        first, rest = _formatter_field_name_split(field_name)
        if first == "":
            raise ValueError("'{.name}' and '{[key]}' need an explicit index in mcpbox tools: '{0.name}'")
        obj = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                obj = guarded_getattr(obj, key)
            elif isinstance(key, str) and key.startswith("_"):
                raise PolicyError(f'format field index "{key}" is not allowed: it starts with "_"')
            else:
                obj = obj[key]
        return obj, first


def _formatter_field_name_split(field_name: str) -> tuple[Any, Any]:
    # The parser the real str.format uses; it only splits the name, it resolves nothing.
    import _string  # type: ignore[import-not-found]

    return _string.formatter_field_name_split(field_name)  # type: ignore[no-any-return]


_FORMATTER: Final = SafeFormatter()


def _safe_format_method(text: str, method: str) -> Callable[..., str]:
    if method == "format":
        return lambda *args, **kwargs: _FORMATTER.vformat(text, args, kwargs)
    return lambda mapping: _FORMATTER.vformat(text, (), mapping)


def _safe_format_unbound(method: str) -> Callable[..., str]:
    if method == "format":
        return lambda text, *args, **kwargs: _FORMATTER.vformat(str(text), args, kwargs)
    return lambda text, mapping: _FORMATTER.vformat(str(text), (), mapping)


def _is_shared_abc(obj: object) -> bool:
    """An abstract base class not defined by the tool, or a ``typing`` alias of one."""
    target = obj if isinstance(obj, type) else getattr(obj, "__origin__", None)
    return isinstance(target, abc.ABCMeta) and target.__module__ != toolspace.__name__


def guarded_getattr(obj: object, name: str, *default: Any) -> Any:
    """``getattr`` for tool code: checked name; ``str.format`` replaced by the safe formatter."""
    check_attribute(obj, name)
    if name == "register" and _is_shared_abc(obj):
        # ABC registrations are process-wide: one call could change isinstance() for the next.
        raise PolicyError("register() on a shared abstract base class is not allowed in mcpbox tools")
    if name in ("asend", "athrow", "aclose") and isinstance(obj, types.AsyncGeneratorType):
        # The real methods return awaitables that are also iterators (list() would drive them and
        # collect the loop's futures); a coroutine wrapper can only be awaited.
        return _awaitable_only(getattr(obj, name))
    if name in ("format", "format_map"):
        if isinstance(obj, str):
            return _safe_format_method(obj, name)
        if isinstance(obj, type) and issubclass(obj, str):
            return _safe_format_unbound(name)
    return getattr(obj, name, *default)


def _awaitable_only(method: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any) -> Any:
        return await method(*args)

    return call


async def guarded_anext(iterator: Any, *default: Any) -> Any:
    """``anext`` returning a coroutine instead of the iterable awaitable the builtin returns."""
    return await anext(iterator, *default)


def guarded_hasattr(obj: object, name: str) -> bool:
    """``hasattr`` for tool code: refuses private names instead of answering about them."""
    check_attribute(obj, name)
    return hasattr(obj, name)


def guarded_getitem(obj: Any, key: Any) -> Any:
    """Item access needs no guard of its own; it is a function so the compiler can route it."""
    return obj[key]


_INPLACE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}  # fmt: skip


def inplace_operation(op: str, target: Any, value: Any) -> Any:
    """``x += y`` compiled as ``x = _inplacevar_('+=', x, y)``."""
    return _INPLACE[op](target, value)


def guarded_type(*args: object) -> type:
    """``type(x)`` only: the three-argument form builds classes outside the compiler's view.

    The type of a class (``type`` itself, ``ABCMeta``, ``EnumType``...) is refused for the same
    reason: calling a metaclass is the three-argument form under another name.
    """
    if len(args) != 1:
        raise PolicyError("type() takes exactly one argument in mcpbox tools; use a class statement")
    result = type(args[0])
    if issubclass(result, type):
        raise PolicyError("type() of a class is not available in mcpbox tools")
    return result


class OwnedObjects:
    """What the current call created, so writes can be limited to it.

    Classes are recorded by the guarded ``__build_class__``; functions are recognised by their
    globals, which are fresh for every call.
    """

    def __init__(self) -> None:
        self.classes: weakref.WeakSet[type] = weakref.WeakSet()
        self.tool_globals: dict[str, Any] = {}

    def owns(self, obj: object) -> bool:
        if isinstance(obj, type):
            return obj in self.classes
        if isinstance(obj, types.FunctionType):
            return obj.__globals__ is self.tool_globals
        if isinstance(obj, decimal.Context):
            return True  # each call runs in its own contextvars context, so its decimal context
        return type(obj) in self.classes


class _ItemsOnly:
    """A write proxy allowing item assignment but no attribute assignment."""

    __slots__ = ("_target",)
    _target: Any

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]

    def __setattr__(self, name: str, value: Any) -> None:
        raise PolicyError(_write_refusal(self._target, name))

    def __delattr__(self, name: str) -> None:
        raise PolicyError(_write_refusal(self._target, name))


def _write_refusal(target: object, name: str) -> str:
    return (
        f'cannot set or delete attribute "{name}" on a {type(target).__name__} object: '
        "tool code may only modify objects it created"
    )


def make_write_guard(owned: OwnedObjects) -> Callable[[Any], Any]:
    """The ``_write_`` hook: owned objects pass through; others allow item writes only."""

    def guard(obj: Any) -> Any:
        if type(obj) in (dict, list, bytearray) or owned.owns(obj):
            return obj
        return _ItemsOnly(obj)

    return guard


def make_setattr(owned: OwnedObjects) -> Callable[[Any, str, Any], None]:
    def guarded_setattr(obj: Any, name: str, value: Any) -> None:
        check_attribute(obj, name)
        if not owned.owns(obj):
            raise PolicyError(_write_refusal(obj, name))
        setattr(obj, name, value)

    return guarded_setattr


def make_delattr(owned: OwnedObjects) -> Callable[[Any, str], None]:
    def guarded_delattr(obj: Any, name: str) -> None:
        check_attribute(obj, name)
        if not owned.owns(obj):
            raise PolicyError(_write_refusal(obj, name))
        delattr(obj, name)

    return guarded_delattr
