"""Module façades: explicit allowlists, no way back to a module, nothing shared between calls."""

from __future__ import annotations

import importlib
import types
from typing import Any

import pytest

from mcpbox.sandbox.worker.policy.facades import Facade, FacadeCatalog, FacadeImporter
from mcpbox.sandbox.worker.policy.guards import OwnedObjects, PolicyError, guarded_getattr
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES, MODULE_ATTRIBUTES, NEVER_ALLOWED
from mcpbox.sandbox.worker.runtime import PolicyRejected, prepare
from tests.sandbox.policy.conftest import run_source

_DESIGN_DEFAULTS = (
    "json base64 binascii html datetime calendar zoneinfo math cmath decimal fractions statistics random "
    "string textwrap difflib re urllib.parse collections itertools functools typing dataclasses enum uuid "
    "copy hashlib hmac time asyncio"
)
DESIGN_DEFAULTS = frozenset(_DESIGN_DEFAULTS.split())
INTERNALS = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)


def _importer(extra: frozenset[str] = frozenset()) -> FacadeImporter:
    return FacadeImporter(FacadeCatalog(DEFAULT_MODULES | extra), OwnedObjects())


def test_default_allowlist_matches_the_design() -> None:
    assert DEFAULT_MODULES == DESIGN_DEFAULTS


def test_never_allowed_covers_the_design_list() -> None:
    design = "os sys subprocess socket ctypes gc inspect importlib pickle marshal builtins threading "
    design += "multiprocessing"
    assert set(design.split()) <= NEVER_ALLOWED


@pytest.mark.parametrize("module", sorted(DEFAULT_MODULES - {"asyncio"}))
def test_allowlisted_attributes_exist_and_none_is_a_module(module: str) -> None:
    real = importlib.import_module(module)
    for name in MODULE_ATTRIBUTES[module]:
        assert hasattr(real, name), f"{module}.{name}"
        assert not isinstance(getattr(real, name), types.ModuleType), f"{module}.{name}"


def _reachable(root: object, depth: int) -> list[tuple[str, object]]:
    """Everything tool code can reach from ``root`` through public attributes (as the guard allows)."""
    seen: set[int] = set()
    found: list[tuple[str, object]] = []
    frontier: list[tuple[str, object]] = [("", root)]
    for _ in range(depth):
        following: list[tuple[str, object]] = []
        for path, obj in frontier:
            for name in dir(obj):
                try:
                    value = guarded_getattr(obj, name)
                except (PolicyError, AttributeError, TypeError, ValueError, NotImplementedError):
                    continue
                if id(value) in seen:
                    continue
                seen.add(id(value))
                found.append((f"{path}.{name}", value))
                following.append((f"{path}.{name}", value))
        frontier = following
    return found


@pytest.mark.parametrize("module", sorted(DEFAULT_MODULES))
def test_no_module_frame_or_shared_container_is_reachable(module: str) -> None:
    facade = _importer()(module, fromlist=("x",))
    for path, value in _reachable(facade, depth=4):
        assert not isinstance(value, INTERNALS), f"{module}{path} is {type(value).__name__}"
        if isinstance(value, dict | list | set | bytearray):
            # The same path in another call's façades must lead to a different container.
            parent, _, last = f"{module}{path}".rpartition(".")
            assert value is not _resolve(_importer(), parent, module, last), f"{module}{path} is shared"


def _resolve(importer: FacadeImporter, parent: str, module: str, last: str) -> Any:
    obj: Any = importer(module, fromlist=("x",))
    for part in parent.split(".")[module.count(".") + 1 :]:
        obj = guarded_getattr(obj, part)
    return guarded_getattr(obj, last)


def test_facade_is_read_only_and_uncopyable() -> None:
    facade = _importer()("json", fromlist=("x",))
    assert isinstance(facade, Facade)
    assert repr(facade) == "<module 'json' (mcpbox façade)>"
    with pytest.raises(PolicyError):
        facade.dumps = None
    with pytest.raises(AttributeError, match="'json' has no attribute 'decoder' available to mcpbox tools"):
        _ = facade.decoder
    import copy

    with pytest.raises(TypeError):
        copy.deepcopy(facade)


def test_facades_are_fresh_per_importer() -> None:
    first, second = _importer()("random", fromlist=("x",)), _importer()("random", fromlist=("x",))
    assert first is not second
    assert first.random is not second.random


def test_mutable_module_constants_are_copied() -> None:
    hashlib_facade = _importer()("hashlib", fromlist=("x",))
    assert isinstance(hashlib_facade.algorithms_available, frozenset)


def test_classes_with_shared_state_are_isolated() -> None:
    import textwrap

    wrapper_class = _importer()("textwrap", fromlist=("x",)).TextWrapper
    assert wrapper_class is not textwrap.TextWrapper
    assert wrapper_class.unicode_whitespace_trans is not textwrap.TextWrapper.unicode_whitespace_trans
    assert wrapper_class(width=5).wrap("aaa bbb") == ["aaa", "bbb"]


@pytest.mark.parametrize(
    "source",
    [
        "import urllib.parse\n\ndef main():\n    return urllib.parse.quote('a b')\n",
        "from urllib.parse import quote\n\ndef main():\n    return quote('a b')\n",
        "from urllib import parse\n\ndef main():\n    return parse.quote('a b')\n",
        "import urllib.parse as up\n\ndef main():\n    return up.quote('a b')\n",
    ],
)
def test_dotted_module_imports(source: str) -> None:
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '"a%20b"'


def test_approved_extra_module_gets_a_public_facade() -> None:
    source = "import colorsys\n\ndef main():\n    return list(colorsys.rgb_to_hsv(1, 0, 0))\n"
    outcome = run_source(source, allowed_modules=DEFAULT_MODULES | {"colorsys"})
    assert outcome.ok, outcome.error
    assert outcome.result_json == "[0.0, 1.0, 1]"


def test_never_allowed_modules_stay_refused_even_when_listed() -> None:
    catalog = FacadeCatalog(DEFAULT_MODULES | {"os", "os.path", "importlib.util"})
    importer = FacadeImporter(catalog, OwnedObjects())
    for name in ("os", "os.path", "importlib.util"):
        assert not catalog.is_importable(name)
        with pytest.raises(PolicyError):
            importer(name)
    with pytest.raises(PolicyRejected, match="import of 'os' is not allowed"):
        prepare("import os\n\ndef main():\n    return 1\n", allowed_modules=DEFAULT_MODULES | {"os"})


def test_asyncio_facade_is_curated() -> None:
    facade = _importer()("asyncio", fromlist=("x",))
    assert sorted(dir(facade)) == ["TimeoutError", "gather", "sleep", "wait_for"]


def test_decorators_refuse_shared_targets_but_accept_tool_classes() -> None:
    source = """
import dataclasses
import functools

@dataclasses.dataclass(slots=True)
class P:
    x: int

def main():
    p = P(1)
    p.x = 2
    return p.x
"""
    assert run_source(source).result_json == "2"


def test_enum_facade_works_for_ordinary_enums() -> None:
    source = """
import enum

class Color(enum.Enum):
    RED = "red"

class Perm(enum.IntFlag):
    R = 4
    W = 2

def main() -> list:
    Shape = enum.Enum("Shape", "CIRCLE SQUARE")
    Size = enum.Enum("Size", [("S", 1), ("L", 2)])
    return [isinstance(Color.RED, enum.Enum), Shape.SQUARE.value, Size(2).name, int(Perm.R | Perm.W)]
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '[true, 2, "L", 6]'


def test_interpreter_internal_imports_still_work() -> None:
    """C code imports helpers through the tool's __import__ (with a list fromlist)."""
    source = """
import datetime
import time

def main() -> list:
    return [time.strptime("2024", "%Y").tm_year, datetime.datetime.strptime("2024-02", "%Y-%m").month]
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == "[2024, 2]"


def test_singledispatch_with_explicit_classes() -> None:
    source = """
import functools

@functools.singledispatch
def describe(x):
    return "thing"

@describe.register(int)
def describe_int(x):
    return "int"

STR_HANDLER = describe.register(str, lambda x: "str")

class Shape:
    @functools.singledispatchmethod
    def area(self, x):
        return 0
    @area.register(int)
    def area_int(self, x):
        return x * x

def main() -> list:
    return [describe(1), describe("a"), describe(1.5), Shape().area(3)]
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '["int", "str", "thing", 9]'
