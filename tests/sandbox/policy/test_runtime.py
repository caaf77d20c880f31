"""run_call: arguments, output capture, results and error reporting."""

from __future__ import annotations

import asyncio
import json

import pytest

from mcpbox.sandbox.worker.runtime import (
    CallLimits,
    PolicyRejected,
    prepare,
    run_call,
    validate_source,
)
from tests.sandbox.policy.conftest import FakeTransport, run_source


def test_validate_source_reports_schema_and_description() -> None:
    report = validate_source('def main(x: int) -> int:\n    """Double it."""\n    return 2 * x\n')
    assert report.ok
    assert report.description == "Double it."
    assert report.input_schema == {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
        "additionalProperties": False,
    }


def test_code_size_limit() -> None:
    source = "def main():\n    return 1\n" + "#" * 200
    report = validate_source(source, limits=CallLimits(code_bytes=100))
    assert not report.ok
    assert "over the 100-byte limit" in report.violations[0].message
    with pytest.raises(PolicyRejected):
        prepare(source, limits=CallLimits(code_bytes=100))


def test_invalid_arguments_do_not_run_the_tool() -> None:
    outcome = run_source("def main(x: int) -> int:\n    print('ran')\n    return x\n", {"x": "1"})
    assert not outcome.ok
    assert outcome.error_kind == "argument"
    assert outcome.error == "invalid arguments: argument 'x': expected an integer, got a string (\"1\")"
    assert outcome.stdout == ""


def test_string_result_is_text() -> None:
    outcome = run_source("def main(name: str) -> str:\n    return 'hi ' + name\n", {"name": "ann"})
    assert outcome.ok
    assert outcome.result_is_text
    assert outcome.result_json is not None
    assert json.loads(outcome.result_json) == "hi ann"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{'a': [1, 2.5, None, True]}", {"a": [1, 2.5, None, True]}),
        ("[1, 'x']", [1, "x"]),
        ("None", None),
        ("(1, 2)", [1, 2]),
    ],
)
def test_json_results_are_structured(expression: str, expected: object) -> None:
    outcome = run_source(f"def main():\n    return {expression}\n")
    assert outcome.ok, outcome.error
    assert not outcome.result_is_text
    assert outcome.result_json is not None
    assert json.loads(outcome.result_json) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{1, 2}", "result is not JSON-serialisable: set"),
        ("{'when': datetime.date(2024, 1, 1)}", "result is not JSON-serialisable: date"),
        ("float('nan')", "NaN or Infinity"),
        ("loop()", "circular reference"),
    ],
)
def test_unserialisable_results_are_result_errors(expression: str, expected: str) -> None:
    helper = "def loop():\n    x = []\n    x.append(x)\n    return x\n"
    source = f"import datetime\n\n{helper}\ndef main():\n    return {expression}\n"
    outcome = run_source(source)
    assert not outcome.ok
    assert outcome.error_kind == "result"
    assert outcome.error is not None
    assert expected in outcome.error


def test_oversized_result_is_a_limit_error() -> None:
    outcome = run_source("def main():\n    return 'x' * 5000\n", limits=CallLimits(result_bytes=1000))
    assert not outcome.ok
    assert outcome.error_kind == "limit"
    assert outcome.error == "result is 5002 bytes of JSON, over the 1000-byte limit; return less data"


def test_print_is_captured_from_every_function() -> None:
    source = """
def helper(x):
    print("helper", x, sep="=")
    return x

async def main() -> str:
    print("start")
    helper(2)
    print("a", "b", end="!")
    return printed
"""
    outcome = run_source(source)
    assert outcome.ok, outcome.error
    assert outcome.stdout == "start\nhelper=2\na b!"
    assert not outcome.stdout_truncated


def test_print_output_is_truncated_at_the_limit() -> None:
    outcome = run_source(
        "def main():\n    for i in range(100):\n        print('é' * 10)\n    return 1\n",
        limits=CallLimits(stdout_bytes=25),
    )
    assert outcome.ok
    assert outcome.stdout_truncated
    assert outcome.stdout == "é" * 10 + "\n" + "é" * 2
    assert len(outcome.stdout.encode()) <= 25


def test_stdlib_output_to_stdout_is_captured() -> None:
    outcome = run_source(
        "import calendar\n\ndef main():\n    calendar.TextCalendar().prmonth(2024, 2)\n    return 1\n"
    )
    assert outcome.ok, outcome.error
    assert "February 2024" in outcome.stdout


def test_exception_reports_type_message_and_tool_line() -> None:
    source = "def helper(d):\n    return d['missing']\n\ndef main():\n    return helper({})\n"
    outcome = run_source(source)
    assert not outcome.ok
    assert outcome.error_kind == "runtime"
    assert outcome.error == "KeyError: 'missing' (line 2)"


def test_exception_in_stdlib_points_at_the_calling_tool_line() -> None:
    outcome = run_source("import json\n\ndef main():\n    x = 1\n    return json.loads('{bad')\n")
    assert outcome.error is not None
    assert outcome.error.startswith("JSONDecodeError: Expecting property name")
    assert outcome.error.endswith("(line 5)")


@pytest.mark.parametrize(
    ("body", "kind", "start"),
    [
        ("raise SystemExit(3)", "runtime", "SystemExit: 3"),
        ("raise KeyboardInterrupt", "runtime", "KeyboardInterrupt"),
        ("def f():\n        return f()\n    return f()", "limit", "RecursionError"),
        ("return getattr(1, '_' + '_class__')", "policy", "policy violation: PolicyError"),
    ],
)
def test_error_kinds(body: str, kind: str, start: str) -> None:
    outcome = run_source(f"def main():\n    {body}\n")
    assert outcome.error_kind == kind
    assert outcome.error is not None
    assert outcome.error.startswith(start)


def test_host_paths_are_hidden_in_messages() -> None:
    outcome = run_source(
        "def main():\n    raise ValueError('failed at /work/main/mcpbox/x.py and /etc/passwd')\n"
    )
    assert outcome.error == "ValueError: failed at <path> and <path> (line 2)"


def test_tool_defined_exception_classes() -> None:
    source = "class Oops(Exception):\n    pass\n\ndef main():\n    raise Oops('bad input')\n"
    assert run_source(source).error == "Oops: bad input (line 5)"


def test_main_may_be_sync_and_return_a_coroutine() -> None:
    source = "async def inner():\n    return 5\n\ndef main():\n    return inner()\n"
    assert run_source(source).result_json == "5"


def test_policy_false_uses_real_python() -> None:
    """TEST-ONLY mode: plain compile() and the real builtins."""
    source = "import os\n\ndef main() -> int:\n    print('pid')\n    return os.getpid()\n"
    with pytest.raises(PolicyRejected):
        prepare(source)
    outcome = run_source(source, policy=False)
    assert outcome.ok, outcome.error
    assert outcome.stdout == "pid\n"
    assert outcome.result_json == str(__import__("os").getpid())


def test_cancellation_of_the_caller_propagates() -> None:
    prepared = prepare("import asyncio\n\nasync def main():\n    await asyncio.sleep(10)\n")

    async def scenario() -> None:
        task = asyncio.ensure_future(
            run_call(prepared, {}, secrets={}, http=FakeTransport(), limits=CallLimits())
        )
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_wait_for_timeout_is_catchable() -> None:
    source = """
import asyncio

async def main():
    try:
        await asyncio.wait_for(asyncio.sleep(5), 0.01)
    except asyncio.TimeoutError:
        return "timed out"
"""
    assert run_source(source).result_json == '"timed out"'


def test_duration_is_measured() -> None:
    outcome = run_source("def main():\n    return 1\n")
    assert outcome.duration_ms >= 0


def test_lone_surrogates_stay_valid_utf8() -> None:
    outcome = run_source("def main():\n    print(chr(55296))\n    return chr(55296)\n")
    assert outcome.ok, outcome.error
    assert outcome.result_json == '"\\ud800"'
    assert json.loads(outcome.result_json) == chr(0xD800)
    outcome.stdout.encode("utf-8")
