"""The one entry point the worker process uses to validate, prepare and run tool code.

``prepare`` compiles once (a warm worker keeps the ``PreparedTool`` for many calls of one tool
version); ``run_call`` runs one call in fresh globals and always returns a ``CallOutcome``:
errors in the tool, its arguments or its result are data, not exceptions. Cancellation is the one
thing that propagates, so the worker's wall-clock handling stays in charge.

Every path (``mcpbox_test_code``, published tools, validation) goes through here; there is no
second implementation of the policy.

``prepare(..., policy=False)`` exists FOR TESTS ONLY: it drops the whole Python-level policy (plain
``compile()``, real builtins, real imports) so the process-boundary tests can prove the OS layer
holds alone. Nothing that serves real calls may pass it.

While a call runs, ``sys.stdout`` is redirected to the call's capture (standard-library code that
prints, such as ``calendar.prmonth``, must not reach the worker's real stdout); the worker must not
use ``sys.stdout`` for anything else during a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpbox.sandbox.worker.contract import Violation, derive_contract, validate_arguments
from mcpbox.sandbox.worker.policy.environment import (
    CallEnvironment,
    build_environment,
    build_unrestricted_environment,
    forget_shared_caches,
)
from mcpbox.sandbox.worker.policy.facades import FacadeCatalog
from mcpbox.sandbox.worker.policy.http_client import HttpTransport
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.sandbox.worker.policy.reporting import (
    TOOL_FILENAME,
    ErrorReport,
    report_exception,
    serialise_result,
)
from mcpbox.sandbox.worker.policy.transformer import compile_tool

__all__ = [
    "DEFAULT_MODULES",
    "CallLimits",
    "CallOutcome",
    "HttpTransport",
    "PolicyRejected",
    "PreparedTool",
    "ValidationReport",
    "Violation",
    "prepare",
    "run_call",
    "validate_source",
]


class PolicyRejected(Exception):
    """``prepare`` refused the source; ``violations`` says where and why."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        summary = "; ".join(f"line {v.line}: {v.message}" for v in violations[:5])
        super().__init__(f"tool code rejected: {summary}")


@dataclass(frozen=True)
class CallLimits:
    """The per-call limits this layer enforces (time, CPU and memory belong to the worker)."""

    stdout_bytes: int = 65536
    result_bytes: int = 1048576
    code_bytes: int = 100_000
    http_requests: int = 32


@dataclass(frozen=True)
class ValidationReport:
    """What ``mcpbox_validate_code`` shows. ``input_schema`` is given whenever ``main``'s signature
    could be read, even if other violations make ``ok`` false; None when it could not."""

    ok: bool
    violations: list[Violation]
    input_schema: dict[str, Any] | None
    description: str


@dataclass(frozen=True)
class PreparedTool:
    """Compiled tool code plus its contract; immutable, shared by the calls of a warm worker."""

    code: types.CodeType
    input_schema: dict[str, Any]
    description: str
    allowed_modules: frozenset[str]
    policy: bool = True
    # What each module's façade holds, filled in by the first call that imports it.
    catalog: FacadeCatalog = field(default_factory=lambda: FacadeCatalog(frozenset()), compare=False)


@dataclass(frozen=True)
class CallOutcome:
    """The result of one call, always JSON-safe; on failure ``error`` is a clean one-line message."""

    ok: bool
    result_json: str | None  # JSON text of the result (a JSON string literal for text results)
    result_is_text: bool
    error: str | None
    error_kind: str | None  # "policy" | "argument" | "runtime" | "result" | "limit"
    stdout: str
    stdout_truncated: bool
    duration_ms: float


def _check(source: str, allowed_modules: frozenset[str], limits: CallLimits) -> tuple[Any, ValidationReport]:
    size = len(source.encode("utf-8", errors="replace"))
    if size > limits.code_bytes:
        message = f"tool code is {size} bytes, over the {limits.code_bytes}-byte limit"
        return None, ValidationReport(False, [Violation(0, 0, message)], None, "")
    compiled = compile_tool(source, allowed_modules)
    if compiled.tree is None:
        return None, ValidationReport(False, compiled.violations, None, "")
    contract = derive_contract(compiled.tree)
    violations = sorted(
        {*compiled.violations, *contract.violations}, key=lambda v: (v.line, v.column, v.message)
    )
    report = ValidationReport(not violations, violations, contract.input_schema, contract.description)
    return compiled, report


def validate_source(
    source: str,
    *,
    allowed_modules: frozenset[str] = DEFAULT_MODULES,
    limits: CallLimits = CallLimits(),
) -> ValidationReport:
    """Every violation in ``source`` with line numbers, plus the derived schema when valid."""
    return _check(source, allowed_modules, limits)[1]


def prepare(
    source: str,
    *,
    allowed_modules: frozenset[str] = DEFAULT_MODULES,
    policy: bool = True,
    limits: CallLimits = CallLimits(),
) -> PreparedTool:
    """Compile ``source`` for running; raises ``PolicyRejected`` listing every violation.

    ``policy=False`` IS FOR TESTS ONLY. It compiles with plain ``compile()`` and runs with the
    real builtins and real imports, to prove the process boundary holds when the Python-level
    policy is absent. A worker serving real calls must never pass it.
    """
    compiled, report = _check(source, allowed_modules, limits)
    if policy and not report.ok:
        raise PolicyRejected(report.violations)
    if not policy:
        if report.input_schema is None:
            raise PolicyRejected([v for v in report.violations if "main" in v.message] or report.violations)
        code = compile(source, TOOL_FILENAME, "exec", dont_inherit=True)
    else:
        code = compiled.code
    assert report.input_schema is not None
    return PreparedTool(
        code, report.input_schema, report.description, allowed_modules, policy, FacadeCatalog(allowed_modules)
    )


def _build(prepared: PreparedTool, arguments: Mapping[str, Any], secrets: Mapping[str, str],
           http: HttpTransport, limits: CallLimits) -> CallEnvironment:  # fmt: skip
    options: dict[str, Any] = {
        "arguments": arguments,
        "secrets": secrets,
        "transport": http,
        "max_requests": limits.http_requests,
        "stdout_bytes": limits.stdout_bytes,
    }
    if prepared.policy:
        return build_environment(catalog=prepared.catalog, **options)
    return build_unrestricted_environment(**options)


@dataclass(frozen=True)
class _Raised:
    """SystemExit or KeyboardInterrupt from tool code, carried out as a value: an asyncio task
    re-raises those two into the event loop itself, which would take the worker down."""

    exception: BaseException


async def _execute(prepared: PreparedTool, environment: CallEnvironment) -> Any:
    tool_globals = environment.tool_globals
    try:
        exec(prepared.code, tool_globals)  # noqa: S102 - restricted code in restricted globals
        main = tool_globals.get("main")
        if not callable(main):
            raise NameError("main is not defined")
        result = main(**environment.arguments)
        if asyncio.iscoroutine(result):
            result = await result
    except (SystemExit, KeyboardInterrupt) as exc:
        return _Raised(exc)
    return result


async def run_call(
    prepared: PreparedTool,
    arguments: dict[str, Any],
    *,
    secrets: Mapping[str, str],
    http: HttpTransport,
    limits: CallLimits,
) -> CallOutcome:
    """Run one call of a prepared tool and describe what happened."""
    started = time.perf_counter()

    def outcome(error: ErrorReport | None, capture_text: str = "", truncated: bool = False,
                json_text: str | None = None, is_text: bool = False) -> CallOutcome:  # fmt: skip
        return CallOutcome(
            ok=error is None,
            result_json=json_text,
            result_is_text=is_text,
            error=None if error is None else error.message,
            error_kind=None if error is None else error.kind,
            stdout=capture_text,
            stdout_truncated=truncated,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    problems = validate_arguments(prepared.input_schema, arguments)
    if problems:
        return outcome(ErrorReport("argument", "invalid arguments: " + "; ".join(problems)))
    environment = _build(prepared, arguments, secrets, http, limits)
    capture = environment.capture
    error: ErrorReport | None = None
    serialised = None
    # A fresh contextvars context: decimal's context and anything else context-local starts clean.
    task = asyncio.get_running_loop().create_task(
        _execute(prepared, environment), context=contextvars.Context()
    )
    try:
        with contextlib.redirect_stdout(capture):  # stdlib code that prints lands in the capture
            try:
                value = await task
            except asyncio.CancelledError:
                if _cancelling():
                    raise
                error = ErrorReport("runtime", "CancelledError: the tool's own code was cancelled")
            except BaseException as exc:  # noqa: BLE001 - tool code may raise anything, SystemExit too
                error = report_exception(exc)
                exc.__traceback__ = None
            else:
                if isinstance(value, _Raised):
                    error = report_exception(value.exception)
                else:
                    serialised = serialise_result(value, limits.result_bytes)
                    error = serialised.error
    finally:
        environment.tool_globals.clear()
        forget_shared_caches()
    if serialised is not None and error is None:
        return outcome(None, capture.getvalue(), capture.truncated, serialised.json_text, serialised.is_text)
    return outcome(error, capture.getvalue(), capture.truncated)


def _cancelling() -> bool:
    """Whether the caller of ``run_call`` is being cancelled (as opposed to the tool's code)."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
