"""The run-time guards, called directly: names, introspection types, writes, type()."""

from __future__ import annotations

import asyncio
import decimal
import json
from collections.abc import Iterator

import pytest

from mcpbox.sandbox.worker.policy.guards import (
    OwnedObjects,
    PolicyError,
    check_attribute,
    guarded_getattr,
    guarded_hasattr,
    guarded_type,
    make_setattr,
    make_write_guard,
)


@pytest.mark.parametrize(
    "name", ["__class__", "_private", "__globals__", "mro", "gi_frame", "tb_frame", "f_back"]
)
def test_private_and_introspection_names_are_refused(name: str) -> None:
    with pytest.raises(PolicyError):
        check_attribute(object(), name)
    with pytest.raises(PolicyError):
        guarded_hasattr(object(), name)


def test_any_prefixed_attribute_of_a_generator_is_refused() -> None:
    def gen() -> Iterator[int]:
        yield 1

    g = gen()
    with pytest.raises(PolicyError):
        guarded_getattr(g, "gi_running")
    assert guarded_getattr(g, "send") is not None


def test_coroutines_can_only_be_awaited() -> None:
    async def coro() -> int:
        return 1

    c = coro()
    try:
        for name in ("send", "throw"):
            with pytest.raises(PolicyError, match="await it instead"):
                guarded_getattr(c, name)
    finally:
        c.close()


def test_attribute_names_must_be_strings() -> None:
    with pytest.raises(TypeError):
        guarded_getattr(object(), 1)  # type: ignore[arg-type]


def test_default_applies_only_to_missing_allowed_names() -> None:
    assert guarded_getattr(object(), "missing", 5) == 5
    with pytest.raises(PolicyError):
        guarded_getattr(object(), "__missing__", 5)


def test_type_with_one_argument_only_and_never_a_metaclass() -> None:
    assert guarded_type(1) is int
    with pytest.raises(PolicyError):
        guarded_type("X", (), {})
    with pytest.raises(PolicyError):
        guarded_type(int)


def test_writes_allowed_only_on_owned_objects() -> None:
    owned = OwnedObjects()

    class Mine:
        pass

    owned.classes.add(Mine)
    write = make_write_guard(owned)
    setattr_ = make_setattr(owned)
    mine = Mine()
    write(mine).x = 1
    setattr_(mine, "y", 2)
    assert (mine.x, mine.y) == (1, 2)  # type: ignore[attr-defined]
    with pytest.raises(PolicyError):
        write(json.JSONEncoder).stash = 1
    with pytest.raises(PolicyError):
        setattr_(json.JSONEncoder, "stash", 1)
    shared: dict[str, int] = {}
    write(shared)["k"] = 1  # item writes on plain containers are fine
    assert shared == {"k": 1}


def test_decimal_context_of_the_call_is_writable() -> None:
    async def in_fresh_context() -> int:
        context = decimal.getcontext()
        make_write_guard(OwnedObjects())(context).prec = 7
        return decimal.getcontext().prec

    assert asyncio.run(in_fresh_context()) == 7


def test_register_on_shared_abc_is_refused() -> None:
    import collections.abc
    import typing

    for target in (collections.abc.Mapping, typing.Mapping):
        with pytest.raises(PolicyError):
            guarded_getattr(target, "register")
