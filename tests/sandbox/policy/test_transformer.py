"""The restricted compiler accepts modern tool code and still refuses what it must."""

from __future__ import annotations

import pytest

from mcpbox.sandbox.worker.runtime import validate_source
from tests.sandbox.policy.conftest import run_source


def _messages(source: str) -> list[str]:
    return [f"{v.line}: {v.message}" for v in validate_source(source).violations]


def test_async_main_with_await_runs() -> None:
    source = """
import asyncio

async def helper(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2

async def main(n: int) -> int:
    values = await asyncio.gather(helper(n), helper(n + 1))
    return sum(values) + await asyncio.wait_for(helper(1), 5)
"""
    outcome = run_source(source, {"n": 1})
    assert outcome.ok, outcome.error
    assert outcome.result_json == "8"


def test_async_for_and_async_with_over_own_objects() -> None:
    source = """
class Ticker:
    def __init__(self, n):
        self.n = n
        self.log = []
    def __aiter__(self):
        self.i = 0
        return self
    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return self.i
    async def __aenter__(self):
        self.log.append("enter")
        return self
    async def __aexit__(self, exc_type, exc, tb):
        self.log.append("exit")
        return False

async def main() -> dict:
    seen = []
    async with Ticker(3) as ticker:
        async for value in ticker:
            seen.append(value)
    pairs = [(a, b) async for a, b in Pairs()]
    return {"seen": seen, "log": ticker.log, "pairs": pairs}

class Pairs:
    def __init__(self):
        self.left = [(1, 2), (3, 4)]
    def __aiter__(self):
        return self
    async def __anext__(self):
        if not self.left:
            raise StopAsyncIteration
        return self.left.pop(0)
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '{"seen": [1, 2, 3], "log": ["enter", "exit"], "pairs": [[1, 2], [3, 4]]}'


def test_annotated_assignments_at_every_level() -> None:
    source = """
LIMIT: int = 3

class Point:
    x: int = 0
    def __init__(self, x: int) -> None:
        self.x: int = x

def main() -> list:
    total: int = 0
    label: str
    counts: dict[str, int] = {}
    counts["a"] = 1
    counts["a"] += 2
    p = Point(4)
    p.x += LIMIT
    total += p.x
    return [total, counts]
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '[7, {"a": 3}]'


def test_classes_dataclasses_enums_and_future_annotations() -> None:
    source = """
from __future__ import annotations
import dataclasses
import enum
import functools
from dataclasses import dataclass, field

class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"

@dataclass(frozen=True)
class Item:
    name: str
    tags: list[str] = field(default_factory=list)

@functools.total_ordering
class Version:
    def __init__(self, n):
        self.n = n
    def __eq__(self, other):
        return self.n == other.n
    def __lt__(self, other):
        return self.n < other.n

def deco(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper

@deco
def double(x):
    return 2 * x

def main() -> dict:
    item = Item("a", ["x"])
    return {
        "item": dataclasses.asdict(item),
        "color": Color("blue").name,
        "ge": Version(2) >= Version(1),
        "double": double(4),
        "fields": [f.name for f in dataclasses.fields(Item)],
    }
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == (
        '{"item": {"name": "a", "tags": ["x"]}, "color": "BLUE", "ge": true, "double": 8, '
        '"fields": ["name", "tags"]}'
    )


def test_safe_format_still_formats() -> None:
    source = """
class P:
    def __init__(self):
        self.name = "pi"

def main() -> list:
    return [
        "{0} {1:.2f} {name}".format("x", 3.14159, name="n"),
        "{p.name}".format(p=P()),
        "{0[k]}".format({"k": 1}),
        "{a}".format_map({"a": 2}),
        str.format("{}-{}", 1, 2),
        f"{3.0!r:>6}",
    ]
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.result_json == '["x 3.14 n", "pi", "1", "2", "1-2", "   3.0"]'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "def main():\n    match 1:\n        case 1:\n            return 1\n",
            "Match statements are not allowed",
        ),
        ("def main():\n    x = 1\n    def f():\n        nonlocal x\n    return x\n", "Nonlocal statements"),
        ("def main():\n    try:\n        pass\n    except* ValueError:\n        pass\n", "TryStar"),
        ("from json import *\ndef main():\n    return 1\n", '"*" imports are not allowed'),
        ("def main():\n    return eval('1')\n", "Eval calls are not allowed"),
        ("def main():\n    return open('x')\n", '"open" is not available'),
        ("def main():\n    return super()\n", '"super" is not available'),
        ("import os\ndef main():\n    return 1\n", "import of 'os' is not allowed"),
        ("from json import decoder\ndef main():\n    return 1\n", "'decoder' cannot be imported from 'json'"),
        ("from . import x\ndef main():\n    return 1\n", "relative imports"),
        ("def main():\n    return (1).__class__\n", '"__class__" is an invalid attribute name'),
        ("def main():\n    g = (i for i in [])\n    return g.gi_frame\n", '"gi_frame"'),
        (
            "class A:\n    def __del__(self):\n        pass\ndef main():\n    return 1\n",
            '"__del__" is not allowed',
        ),
    ],
)
def test_refusals_carry_line_numbers(source: str, expected: str) -> None:
    messages = _messages(source)
    assert any(expected in message for message in messages), messages
    assert all(message.split(":")[0].isdigit() and int(message.split(":")[0]) >= 1 for message in messages)


def test_builtin_name_bound_by_the_tool_is_not_reported() -> None:
    source = "def main(dir: str = 'n') -> str:\n    def vars():\n        return dir\n    return vars()\n"
    assert _messages(source) == []
    assert run_source(source).result_json == '"n"'


def test_syntax_error_is_a_violation_with_position() -> None:
    report = validate_source("def main(:\n    pass\n")
    assert not report.ok
    assert report.violations[0].line == 1
    assert report.violations[0].message.startswith("syntax error")


def test_every_violation_is_reported_not_only_the_first() -> None:
    source = "import os\nimport sys\n\ndef main():\n    return (1).__class__, open('x')\n"
    lines = sorted({v.line for v in validate_source(source).violations})
    assert lines == [1, 2, 5]


def test_pathologically_nested_code_is_a_violation_not_a_crash() -> None:
    for body in ("+".join(["1"] * 20_000), "-" * 20_000 + "1"):
        report = validate_source(f"def main():\n    return {body}\n")
        assert not report.ok
        assert "nested too deeply" in report.violations[0].message
