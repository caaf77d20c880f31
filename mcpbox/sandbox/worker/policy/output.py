"""Capturing what a tool prints, up to the per-call stdout limit.

RestrictedPython compiles ``print(...)`` into ``_print._call_print(...)`` where ``_print`` is made
by the ``_print_`` factory at the top of each function; every factory call of one tool call returns
the same capture, so output from all functions lands in one buffer. Output past the limit is
dropped and flagged rather than failing the call: a chatty tool should still return its result.
"""

from __future__ import annotations

from typing import Any, NoReturn

from mcpbox.sandbox.worker.policy.guards import guarded_getattr


class OutputCapture:
    """The stdout of one call, truncated to ``limit`` bytes of UTF-8 at a character boundary."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False

    def write(self, text: str) -> int:
        if self.truncated:
            return len(text)
        encoded = text.encode("utf-8", errors="replace")
        text = encoded.decode("utf-8")  # lone surrogates become "?": the output must be UTF-8
        room = self._limit - self._size
        if len(encoded) > room:
            self._parts.append(encoded[:room].decode("utf-8", errors="ignore"))
            self._size = self._limit
            self.truncated = True
        else:
            self._parts.append(text)
            self._size += len(encoded)
        return len(text)

    def flush(self) -> None:
        """``sys.stdout`` is redirected here during a call; some code flushes it."""

    def getvalue(self) -> str:
        return "".join(self._parts)


class _Printer:
    """What ``_print`` is bound to inside tool functions."""

    __slots__ = ("_capture",)

    def __init__(self, capture: OutputCapture) -> None:
        self._capture = capture

    def _call_print(
        self,
        *objects: Any,
        sep: str | None = " ",
        end: str | None = "\n",
        file: Any = None,
        flush: bool = False,
    ) -> None:
        text = (" " if sep is None else sep).join(str(item) for item in objects)
        text += "\n" if end is None else end
        if file is None:
            self._capture.write(text)
        else:
            guarded_getattr(file, "write")(text)

    def __call__(self) -> str:
        # The ``printed`` name: what this call has printed so far.
        return self._capture.getvalue()

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # copy.deepcopy(print, memo) would otherwise leave the capture's own state in the memo.
        raise TypeError("print cannot be copied")


def make_print_factory(capture: OutputCapture) -> Any:
    printer = _Printer(capture)

    def print_factory(_getattr_: Any = None) -> _Printer:
        return printer

    return print_factory
