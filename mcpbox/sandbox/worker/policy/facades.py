"""Module façades and the guarded ``__import__`` that hands them out.

``import json`` in tool code never yields the real ``json`` module: it yields a ``Facade`` holding
the allowlisted attributes and nothing else. A façade keeps no reference to its module, so no chain
of attributes, ``copy.deepcopy`` memo or exception ``obj`` can lead back to it. Mutable module
containers are handed out as immutable copies, classes holding mutable class attributes as per-call
subclasses, and stateful helpers are replaced per call (``overrides``).

What a module's façade holds is worked out once per prepared tool (``FacadeCatalog``, reused by the
calls of a warm worker) and assembled per call (``FacadeImporter``), which keeps a call cheap.

Extra modules the owner approved (installed packages) get a façade of every public, non-module
attribute: that package's behaviour is the owner's decision, not something this policy can vet.
"""

from __future__ import annotations

import copy
import importlib
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from mcpbox.sandbox.worker.policy.guards import OwnedObjects, PolicyError
from mcpbox.sandbox.worker.policy.modules import MODULE_ATTRIBUTES, is_never_allowed
from mcpbox.sandbox.worker.policy.overrides import per_call_overrides, static_overrides


class Facade:
    """A read-only namespace standing in for a module (or for the ``http`` client)."""

    __slots__ = ("_facade_attributes", "_facade_name")

    def __init__(self, name: str, attributes: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_facade_name", name)
        object.__setattr__(self, "_facade_attributes", types.MappingProxyType(dict(attributes)))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._facade_attributes[name]
        except KeyError:
            raise AttributeError(
                f"'{self._facade_name}' has no attribute '{name}' available to mcpbox tools"
            ) from None

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise PolicyError(f"'{self._facade_name}' is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise PolicyError(f"'{self._facade_name}' is read-only")

    @property
    def __name__(self) -> str:
        # Read by the interpreter for "cannot import name ... from ..." messages.
        return str(self._facade_name)

    def __dir__(self) -> Iterable[str]:
        return sorted(self._facade_attributes)

    def __repr__(self) -> str:
        return f"<module '{self._facade_name}' (mcpbox façade)>"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"'{self._facade_name}' cannot be copied or pickled")


_MUTABLE: Final = (dict, list, set, bytearray)


def _needs_own_copy(cls: type) -> bool:
    """Whether ``cls`` keeps mutable containers in public class attributes.

    ``textwrap.TextWrapper.unicode_whitespace_trans`` is a dict shared by every user of the class;
    a call could store data in it for the next call to read.
    """
    return any(
        not name.startswith("_") and isinstance(attr, _MUTABLE)
        for klass in cls.__mro__[:-1]
        for name, attr in vars(klass).items()
    )


def _subclass_with_copies(cls: type) -> type:
    shared = {
        name: attr
        for klass in reversed(cls.__mro__[:-1])
        for name, attr in vars(klass).items()
        if not name.startswith("_") and isinstance(attr, _MUTABLE)
    }
    namespace: dict[str, Any] = {name: copy.deepcopy(attr) for name, attr in shared.items()}
    namespace.update(__module__=cls.__module__, __qualname__=cls.__qualname__, __doc__=cls.__doc__)
    return type(cls.__name__, (cls,), namespace)


def _frozen(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return frozenset(value)
    if isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(value, dict):
        return types.MappingProxyType(dict(value))
    return value


def _public_attributes(module: types.ModuleType) -> dict[str, Any]:
    names = getattr(module, "__all__", None) or dir(module)
    return {
        name: getattr(module, name)
        for name in names
        if isinstance(name, str)
        and not name.startswith("_")
        and hasattr(module, name)
        and not isinstance(getattr(module, name), types.ModuleType)
    }


@dataclass(frozen=True)
class _Entry:
    shared: Mapping[str, Any]  # immutable values and classes, the same for every call
    own_copy: tuple[tuple[str, type], ...]  # classes each call gets a subclass of
    children: tuple[str, ...]  # allowed submodules, shown as nested façades


class FacadeCatalog:
    """What each allowed module's façade holds, worked out once per prepared tool."""

    def __init__(self, allowed_modules: frozenset[str]) -> None:
        self.allowed = frozenset(name for name in allowed_modules if not is_never_allowed(name))
        self._entries: dict[str, _Entry] = {}

    def is_importable(self, name: str) -> bool:
        """Allowed modules, the packages above them, and ``__future__`` (a compiler directive)."""
        if name == "__future__":
            return True
        if is_never_allowed(name):
            return False
        return name in self.allowed or any(allowed.startswith(name + ".") for allowed in self.allowed)

    def entry(self, name: str) -> _Entry:
        if name not in self._entries:
            self._entries[name] = self._build(name)
        return self._entries[name]

    def _build(self, name: str) -> _Entry:
        values: dict[str, Any] = {}
        if name == "__future__":
            values["annotations"] = importlib.import_module("__future__").annotations
        elif name in MODULE_ATTRIBUTES and name in self.allowed:
            if name != "asyncio":  # entirely replaced per call
                module = importlib.import_module(name)
                values = {attr: getattr(module, attr) for attr in MODULE_ATTRIBUTES[name]}
        elif name in self.allowed:
            values = _public_attributes(importlib.import_module(name))
        values.update(static_overrides(name))
        own_copy = tuple(
            (attr, value)
            for attr, value in values.items()
            if isinstance(value, type) and _needs_own_copy(value)
        )
        shared = {attr: _frozen(value) for attr, value in values.items() if (attr, value) not in own_copy}
        prefix = name + "."
        children = tuple(
            sorted(
                child
                for child in self.allowed
                if child.startswith(prefix) and "." not in child[len(prefix) :]
            )
        )
        return _Entry(types.MappingProxyType(shared), own_copy, children)


class FacadeImporter:
    """The guarded ``__import__`` of one call: allowlisted modules in, façades out."""

    def __init__(self, catalog: FacadeCatalog, owned: OwnedObjects) -> None:
        self._catalog = catalog
        self._owned = owned
        self._cache: dict[str, Facade] = {}

    def __call__(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Iterable[str] | None = (),
        level: int = 0,
    ) -> Facade:
        if isinstance(fromlist, list):
            # Not an import statement (the compiler passes None or a tuple): C code inside the
            # interpreter importing a helper by a fixed name (time.strptime needs _strptime, an
            # unawaited coroutine needs warnings) while a tool frame is current. The module goes
            # back to that C code, never to the tool.
            return importlib.import_module(name)  # type: ignore[return-value]
        if level != 0:
            raise PolicyError("relative imports are not allowed in mcpbox tools")
        if not isinstance(name, str) or not self._catalog.is_importable(name):
            allowed = ", ".join(sorted(self._catalog.allowed))
            raise PolicyError(f"import of '{name}' is not allowed; allowed modules: {allowed}")
        if fromlist or "." not in name:
            return self.facade(name)
        return self.facade(name.split(".")[0])

    def facade(self, name: str) -> Facade:
        if name not in self._cache:
            entry = self._catalog.entry(name)
            attributes = dict(entry.shared)
            attributes.update({attr: _subclass_with_copies(cls) for attr, cls in entry.own_copy})
            attributes.update(per_call_overrides(name, self._owned))
            for child in entry.children:
                attributes[child.rsplit(".", 1)[1]] = self.facade(child)
            self._cache[name] = Facade(name, attributes)
        return self._cache[name]
