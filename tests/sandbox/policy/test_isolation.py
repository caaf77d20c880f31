"""Per-call isolation in a warm worker: nothing one call leaves behind reaches the next."""

from __future__ import annotations

import asyncio
import json

from mcpbox.sandbox.worker.runtime import (
    CallLimits,
    prepare,
    run_call,
)
from tests.sandbox.policy.conftest import FakeTransport, run_source


def test_secrets_and_arguments_are_copies() -> None:
    source = """
def main(items: list[int]) -> dict:
    items.append(4)
    arguments["items"].append(5)
    return {"keys": sorted(secrets), "items": items, "arguments": arguments}
"""
    args = {"items": [1]}
    outcome = run_source(source, args, secrets={"A": "1", "B": "2"})
    assert outcome.result_json == '{"keys": ["A", "B"], "items": [1, 4], "arguments": {"items": [1, 5]}}'
    assert args == {"items": [1]}


def test_warm_worker_calls_do_not_share_state() -> None:
    """One PreparedTool, many calls: module globals, classes and stdlib state start fresh."""
    source = """
import decimal
import random

CACHE = []

class Box:
    count = 0

def main(value: str) -> dict:
    seen = list(CACHE)
    CACHE.append(value)
    Box.count += 1
    decimal.getcontext().prec = 5
    random.seed(value)
    return {"seen": seen, "count": Box.count, "prec_before": PREC, "r": random.random()}

PREC = decimal.getcontext().prec
"""
    prepared = prepare(source)

    async def calls() -> list[str | None]:
        results = []
        for value in ("first", "second"):
            outcome = await run_call(
                prepared, {"value": value}, secrets={}, http=FakeTransport(), limits=CallLimits()
            )
            results.append(outcome.result_json)
        return results

    first, second = asyncio.run(calls())
    assert first is not None
    assert second is not None
    assert json.loads(first)["seen"] == json.loads(second)["seen"] == []
    assert json.loads(second)["count"] == 1
    assert json.loads(second)["prec_before"] == 28


def test_random_is_per_call_generator() -> None:
    source = "import random\n\ndef main():\n    random.seed(1)\n    return random.random()\n"
    first, second = run_source(source), run_source(source)
    assert first.result_json == second.result_json
    assert first.result_json == json.dumps(__import__("random").Random(1).random())


def _two_calls(source: str, first: dict[str, str], second: dict[str, str]) -> list[str | None]:
    prepared = prepare(source)

    async def calls() -> list[str | None]:
        results = []
        for arguments in (first, second):
            outcome = await run_call(
                prepared, arguments, secrets={}, http=FakeTransport(), limits=CallLimits()
            )
            assert outcome.ok, outcome.error
            results.append(outcome.result_json)
        return results

    return asyncio.run(calls())


def test_typing_cache_cannot_carry_objects_between_calls() -> None:
    """An object equal to ``complex`` planted in typing's cache must not come back next call."""
    source = """
import typing

class Spy:
    def __init__(self, data):
        self.data = data
    def __eq__(self, other):
        return other is complex
    def __hash__(self):
        return hash(complex)
    def __call__(self):
        return None

def main(mode: str, data: str = "") -> str:
    if mode == "plant":
        typing.Optional[Spy(data)]
        return "planted"
    got = typing.get_args(typing.Optional[complex])[0]
    return "clean" if got is complex else "LEAKED:" + got.data
"""
    results = _two_calls(source, {"mode": "plant", "data": "caller A"}, {"mode": "read"})
    assert results == ['"planted"', '"clean"']


def test_zoneinfo_cache_cannot_carry_objects_between_calls() -> None:
    source = """
import zoneinfo

class Key(str):
    pass

def main(mode: str, data: str = "") -> str:
    if mode == "plant":
        key = Key("UTC")
        key.data = data
        zoneinfo.ZoneInfo(key)
        return "planted"
    key = zoneinfo.ZoneInfo("UTC").key
    return "clean" if type(key) is str else "LEAKED:" + key.data
"""
    results = _two_calls(source, {"mode": "plant", "data": "caller A"}, {"mode": "read"})
    assert results == ['"planted"', '"clean"']
