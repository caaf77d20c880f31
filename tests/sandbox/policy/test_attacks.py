"""Every case of the attack corpus is refused by the policy with a clean message."""

from __future__ import annotations

import asyncio

import pytest

from mcpbox.sandbox.worker.runtime import (
    CallLimits,
    PolicyRejected,
    Violation,
    prepare,
    run_call,
    validate_source,
)
from tests.sandbox.attack_corpus import ATTACKS, OS_LAYER, UNRESTRICTED_ESCAPES
from tests.sandbox.policy.conftest import FakeTransport, run_source

LEAKS = ("/work/", "Traceback", "mcpbox/", "site-packages", 'File "')


def _ids(cases: list[tuple[str, str, str]]) -> list[str]:
    return [f"{group}-{name}" for group, name, _ in cases]


POLICY_CASES = [case for case in ATTACKS if case[1] not in OS_LAYER]
OS_CASES = [case for case in ATTACKS if case[1] in OS_LAYER]


def test_corpus_is_large_and_names_are_unique() -> None:
    names = [name for _, name, _ in ATTACKS]
    assert len(POLICY_CASES) >= 80
    assert len(names) == len(set(names))
    assert {group for group, _, _ in ATTACKS} >= {
        "introspection", "frames", "module_chains", "asyncio", "string_tricks", "builtins",
        "cross_call_state", "file_reads", "environment_reads", "resource_exhaustion",
    }  # fmt: skip


def _violations(source: str) -> list[Violation] | None:
    """The violations ``prepare`` reports, or None when the source compiles."""
    report = validate_source(source)
    if report.ok:
        prepare(source)  # validation and preparation must agree
        return None
    with pytest.raises(PolicyRejected) as rejected:
        prepare(source)
    assert rejected.value.violations == report.violations
    return report.violations


@pytest.mark.parametrize(("group", "name", "source"), POLICY_CASES, ids=_ids(POLICY_CASES))
def test_policy_refuses_escape(group: str, name: str, source: str) -> None:
    violations = _violations(source)
    if violations is not None:
        assert violations, name
        for violation in violations:
            assert violation.line >= 1
            assert not any(leak in violation.message for leak in LEAKS)
        return
    outcome = asyncio.run(
        run_call(prepare(source), {}, secrets={"TOKEN": "s3cret"}, http=FakeTransport(), limits=CallLimits())
    )
    assert not outcome.ok, f"{name} escaped: {outcome.result_json}"
    assert outcome.error_kind in ("policy", "runtime", "limit"), outcome
    assert outcome.error is not None
    assert not any(leak in outcome.error for leak in LEAKS), outcome.error
    assert "s3cret" not in outcome.error


@pytest.mark.parametrize(("group", "name", "source"), OS_CASES, ids=_ids(OS_CASES))
def test_os_layer_cases_compile_or_are_refused(group: str, name: str, source: str) -> None:
    """The policy may let these through (the OS layer stops them); it must not crash on them."""
    violations = _violations(source)
    assert violations is None or violations


ESCAPING = [case for case in ATTACKS if case[1] in UNRESTRICTED_ESCAPES]


@pytest.mark.parametrize(("group", "name", "source"), ESCAPING, ids=_ids(ESCAPING))
def test_case_escapes_without_the_policy(group: str, name: str, source: str) -> None:
    """Proof the attack is real: with ``policy=False`` it gets what it was after."""
    outcome = run_source(source, policy=False)
    assert outcome.ok, outcome.error
    assert outcome.result_json is not None
    assert "ESCAPED" in outcome.result_json
