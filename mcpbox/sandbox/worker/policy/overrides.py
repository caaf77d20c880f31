"""Replacements for the few standard-library helpers that would otherwise leak between calls.

Each one closes a specific hole found while attacking the policy:

- ``random``: module functions share one generator, so ``seed``/``setstate`` could hand data to
  the next call; each call gets the methods of its own generator.
- ``asyncio``: the real module leads to the event loop (subprocesses, sockets); the façade offers
  coroutine-returning ``sleep``/``gather``/``wait_for`` and never a Future or Task.
- ``functools.update_wrapper``/``wraps``/``total_ordering`` and ``dataclasses.dataclass`` set
  attributes on their argument: only on classes and functions the tool made.
- ``functools.singledispatch``/``singledispatchmethod``: ``register(func)`` reads the type from
  annotations with ``typing.get_type_hints``, which ``eval``s strings outside the restricted
  compiler; an explicit class is required.
- ``dataclasses.make_dataclass`` and the ``enum`` functional API would accept special-method names
  (``__reduce_ex__``, ``__del__``...) that a class statement may not define.
- ``zoneinfo.ZoneInfo`` caches instances per class, keyed by the caller's key object: a subclass
  per call has caches of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import random
import types
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from mcpbox.sandbox.worker.policy import toolspace
from mcpbox.sandbox.worker.policy.guards import OwnedObjects, PolicyError
from mcpbox.sandbox.worker.policy.modules import MODULE_ATTRIBUTES


def _random_attributes() -> dict[str, Any]:
    # One generator per call: seed/setstate/getstate then cannot carry data from call to call.
    generator = random.Random()  # noqa: S311 - the tool's own random module, not for secrets
    names = MODULE_ATTRIBUTES["random"] - {"Random", "SystemRandom"}
    attributes: dict[str, Any] = {name: getattr(generator, name) for name in names}
    attributes.update(Random=random.Random, SystemRandom=random.SystemRandom)
    return attributes


def _asyncio_attributes() -> dict[str, Any]:
    # Wrapped so tool code gets plain coroutines, never a Future or Task (get_loop() leads to the
    # event loop, which can spawn processes and open sockets).
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(delay, result)

    async def gather(*awaitables: Awaitable[Any], return_exceptions: bool = False) -> list[Any]:
        tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
        try:
            return list(await asyncio.gather(*tasks, return_exceptions=return_exceptions))
        finally:
            for task in tasks:  # nothing may keep running after the call that started it
                if not task.done():
                    task.cancel()

    async def wait_for(awaitable: Awaitable[Any], timeout: float | None) -> Any:  # noqa: ASYNC109
        return await asyncio.wait_for(awaitable, timeout)

    return {"sleep": sleep, "gather": gather, "wait_for": wait_for, "TimeoutError": TimeoutError}


def _require_owned(owned: OwnedObjects, target: object, what: str) -> None:
    if not owned.owns(target):
        raise PolicyError(f"{what} may only be applied to classes and functions the tool defines")


def _functools_overrides(owned: OwnedObjects) -> dict[str, Any]:
    # These set attributes on their argument; on a shared stdlib object that would outlive the call.
    def update_wrapper(wrapper: Any, wrapped: Any, *args: Any, **kwargs: Any) -> Any:
        _require_owned(owned, wrapper, "functools.update_wrapper")
        return functools.update_wrapper(wrapper, wrapped, *args, **kwargs)

    def wraps(wrapped: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        def decorate(wrapper: Any) -> Any:
            return update_wrapper(wrapper, wrapped, *args, **kwargs)

        return decorate

    def total_ordering(cls: type) -> type:
        _require_owned(owned, cls, "functools.total_ordering")
        return functools.total_ordering(cls)

    def singledispatch(func: Callable[..., Any]) -> Callable[..., Any]:
        dispatcher = functools.singledispatch(func)
        dispatcher.register = _explicit_register(dispatcher.register)  # type: ignore[method-assign]
        return dispatcher

    return {
        "update_wrapper": update_wrapper,
        "wraps": wraps,
        "total_ordering": total_ordering,
        "singledispatch": singledispatch,
        "singledispatchmethod": _SingleDispatchMethod,
    }


def _check_dispatch_type(cls: Any) -> None:
    # register(func) reads the type from func's annotations with typing.get_type_hints, which
    # eval()s string annotations outside the restricted compiler: a full escape.
    if not isinstance(cls, type | types.UnionType):
        raise PolicyError("register() needs an explicit class in mcpbox tools: @f.register(int)")


def _explicit_register(register: Callable[..., Any]) -> Callable[..., Any]:
    def checked(cls: Any, func: Any = None) -> Any:
        _check_dispatch_type(cls)
        return register(cls, func)

    return checked


class _SingleDispatchMethod(functools.singledispatchmethod):  # type: ignore[type-arg]
    """``functools.singledispatchmethod`` whose ``register`` needs an explicit class."""

    def register(self, cls: Any, method: Any = None) -> Any:
        _check_dispatch_type(cls)
        return super().register(cls, method)


def _dataclasses_overrides(owned: OwnedObjects) -> dict[str, Any]:
    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        def apply(target: type) -> type:
            _require_owned(owned, target, "dataclasses.dataclass")
            result: type = dataclasses.dataclass(target, **options)
            owned.classes.add(result)  # slots=True builds a new class
            return result

        return apply if cls is None else apply(cls)

    def make_dataclass(cls_name: str, fields: Any, *, namespace: Any = None, **options: Any) -> type:
        # Field names and the namespace could smuggle in special methods (__reduce_ex__, __del__...)
        # that a class statement may not define.
        fields = list(fields)
        names = [field if isinstance(field, str) else field[0] for field in fields]
        for name in [*names, *(namespace or {})]:
            if not isinstance(name, str) or name.startswith("_"):
                raise PolicyError(f"make_dataclass may not define {name!r}")
        result: type = dataclasses.make_dataclass(cls_name, fields, namespace=namespace, **options)
        owned.classes.add(result)
        return result

    return {"dataclass": dataclass, "make_dataclass": make_dataclass}


def _enum_member_names(names: Any) -> list[str]:
    if isinstance(names, str):
        return names.replace(",", " ").split()
    if isinstance(names, Mapping):
        return [str(name) for name in names]
    return [item if isinstance(item, str) else str(item[0]) for item in names]


class _CheckedEnumType(enum.EnumType):
    """Enum's metaclass, refusing ``_`` member names in the functional API.

    ``Enum("X", {"__reduce_ex__": f})`` would otherwise define a special method on the new class,
    which ``copy`` then calls to write attributes on arbitrary objects.
    """

    def __call__(cls, value: Any, names: Any = None, *args: Any, **kwargs: Any) -> Any:
        if names is not None:
            kwargs.setdefault("module", toolspace.__name__)  # else it is read from this frame
            names = list(names.items()) if isinstance(names, Mapping) else names
            names = names if isinstance(names, str) else list(names)
            for name in _enum_member_names(names):
                if name.startswith("_"):
                    raise PolicyError(f"enum member names may not start with '_': {name!r}")
            return super().__call__(value, names, *args, **kwargs)
        return super().__call__(value, *args, **kwargs)


class Enum(enum.Enum, metaclass=_CheckedEnumType):
    """``enum.Enum`` as tool code sees it."""


class IntEnum(enum.IntEnum, metaclass=_CheckedEnumType):
    """``enum.IntEnum`` as tool code sees it."""


class StrEnum(enum.StrEnum, metaclass=_CheckedEnumType):
    """``enum.StrEnum`` as tool code sees it."""


class Flag(enum.Flag, metaclass=_CheckedEnumType):
    """``enum.Flag`` as tool code sees it."""


class IntFlag(enum.IntFlag, metaclass=_CheckedEnumType):
    """``enum.IntFlag`` as tool code sees it."""


_ENUM_BASES: Final = {
    "Enum": Enum, "IntEnum": IntEnum, "StrEnum": StrEnum, "Flag": Flag, "IntFlag": IntFlag,
}  # fmt: skip


def _zoneinfo_overrides() -> dict[str, Any]:
    # ZoneInfo caches instances per class, keyed by the key object the caller passed: a key from
    # one call (a str subclass carrying data) would come back as ``.key`` in the next. A subclass
    # per call has caches of its own.
    cls = zoneinfo.ZoneInfo
    return {
        "ZoneInfo": type(
            cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        )
    }


def per_call_overrides(module: str, owned: OwnedObjects) -> dict[str, Any]:
    """Attributes of ``module``'s façade that must be made fresh for every call."""
    if module == "random":
        return _random_attributes()
    if module == "asyncio":
        return _asyncio_attributes()
    if module == "functools":
        return _functools_overrides(owned)
    if module == "dataclasses":
        return _dataclasses_overrides(owned)
    if module == "zoneinfo":
        return _zoneinfo_overrides()
    return {}


def static_overrides(module: str) -> dict[str, Any]:
    """Attributes of ``module``'s façade replaced once for every call (they hold no call state)."""
    return dict(_ENUM_BASES) if module == "enum" else {}
