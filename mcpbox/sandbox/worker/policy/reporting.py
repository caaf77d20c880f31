"""Turning what a call produced into text for the LLM: its result, or a clean error message.

Error messages name the exception, its message and the line in the tool's own code; they never
carry a traceback, frames of mcpbox or host paths, which would tell the tool's author (an LLM,
possibly steered by hostile input) how the sandbox is built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from mcpbox.sandbox.worker.policy.guards import LimitExceeded, PolicyError

# The filename tool code is compiled under; how its frames are told apart from mcpbox's own.
TOOL_FILENAME: Final = "<tool>"
_MAX_MESSAGE: Final = 2000
_PATH: Final = re.compile(r"(?<![/\w:.])(?:/[\w.+\-@]+){2,}/?")


@dataclass(frozen=True)
class ErrorReport:
    kind: str  # "policy" | "runtime" | "limit"
    message: str


def tool_line(exc: BaseException) -> int | None:
    """The innermost line of tool code the exception passed through."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TOOL_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """Hide host paths and bound the length of text taken from an exception."""
    text = _PATH.sub("<path>", text).encode("utf-8", errors="replace").decode("utf-8")
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def report_exception(exc: BaseException) -> ErrorReport:
    """Classify an exception raised by tool code and describe it in one line."""
    if isinstance(exc, PolicyError):
        kind = "policy"
    elif isinstance(exc, LimitExceeded | MemoryError | RecursionError):
        kind = "limit"
    else:
        kind = "runtime"
    try:
        detail = str(exc)
    except Exception:  # noqa: BLE001 - a tool-defined __str__ may itself fail
        detail = "<message unavailable>"
    name = type(exc).__name__
    line = tool_line(exc)
    where = f" (line {line})" if line is not None else ""
    prefix = "policy violation: " if kind == "policy" else ""
    message = f"{prefix}{name}: {detail}{where}" if detail else f"{prefix}{name}{where}"
    return ErrorReport(kind, clean_text(message))


@dataclass(frozen=True)
class SerialisedResult:
    json_text: str | None
    is_text: bool
    error: ErrorReport | None


def serialise_result(value: Any, result_bytes: int) -> SerialisedResult:
    """``str`` results become text, anything else strict JSON; both bounded by ``result_bytes``.

    ``json_text`` is always JSON: for a text result it is the JSON string literal.
    """
    offending: list[str] = []

    def refuse(obj: Any) -> Any:
        offending.append(type(obj).__name__)
        raise TypeError("not serialisable")

    is_text = isinstance(value, str)
    payload = str(value) if is_text else value
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False, default=refuse)
        if not _is_utf8_encodable(text):  # lone surrogates: keep them, escaped, so the JSON stays UTF-8
            text = json.dumps(payload, allow_nan=False, default=refuse)
    except (TypeError, ValueError, RecursionError) as exc:
        if offending:
            message = f"result is not JSON-serialisable: {offending[0]}; return str, numbers, lists or dicts"
        elif isinstance(exc, ValueError) and "Circular" in str(exc):
            message = "result is not JSON-serialisable: it contains a circular reference"
        elif isinstance(exc, ValueError):
            message = "result is not JSON-serialisable: it contains NaN or Infinity"
        else:
            message = f"result is not JSON-serialisable: {type(value).__name__}"
        return SerialisedResult(None, False, ErrorReport("result", message))
    size = len(text.encode("utf-8"))
    if size > result_bytes:
        message = f"result is {size} bytes of JSON, over the {result_bytes}-byte limit; return less data"
        return SerialisedResult(None, False, ErrorReport("limit", message))
    return SerialisedResult(text, is_text, None)
