"""The stdin/stdout side: newline-delimited JSON-RPC, as the MCP stdio transport defines it.

stdin is read by a daemon thread with blocking ``readline``: it works the same for pipes (what
Claude Desktop and the SDK's stdio client give us), regular files and terminals, which asyncio's
pipe transports do not, and a daemon thread stuck in ``read`` never holds the process open at
exit. Lines are bounded; an over-long line is drained to its newline and reported, never
buffered whole. stdout writes go through one lock (so concurrent answers never interleave) and
run in a worker thread (so a client slow to read a large answer does not stall the event loop).
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.streams.memory import MemoryObjectSendStream

MAX_LINE_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Line:
    """One complete stdin line, without its line ending."""

    data: bytes


@dataclass(frozen=True, slots=True)
class OversizedLine:
    """A line longer than ``MAX_LINE_BYTES``; its content was discarded."""


StdinItem = Line | OversizedLine


def start_stdin_reader(
    stdin: BinaryIO, sink: MemoryObjectSendStream[StdinItem], *, max_line_bytes: int = MAX_LINE_BYTES
) -> None:
    """Feed stdin lines into ``sink`` from a daemon thread; ``sink`` is closed at EOF."""
    token = anyio.lowlevel.current_token()

    def deliver(item: StdinItem) -> bool:
        try:
            anyio.from_thread.run(sink.send, item, token=token)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, RuntimeError):
            # The bridge stopped listening (or its event loop is gone): nothing left to feed.
            return False
        return True

    def read_lines() -> None:
        try:
            while True:
                chunk = stdin.readline(max_line_bytes + 1)
                if not chunk:
                    return
                if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                    _drain_line(stdin, max_line_bytes)
                    if not deliver(OversizedLine()):
                        return
                    continue
                data = chunk.rstrip(b"\r\n")
                if data.strip() and not deliver(Line(data)):
                    return
        except (OSError, ValueError):
            # stdin closed under us (ValueError: I/O on closed file): treat it as EOF.
            return
        finally:
            # RuntimeError: the event loop already finished, so nobody is waiting for EOF.
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(sink.close, token=token)

    threading.Thread(target=read_lines, name="mcpbox-stdio-stdin", daemon=True).start()


def _drain_line(stdin: BinaryIO, max_line_bytes: int) -> None:
    while True:
        rest = stdin.readline(max_line_bytes)
        if not rest or rest.endswith(b"\n"):
            return


class StdoutClosed(Exception):
    """The client closed our stdout; nothing more can reach it."""


class MessageWriter:
    """Writes one JSON-RPC message per line to stdout; nothing else ever goes there."""

    def __init__(self, stdout: BinaryIO) -> None:
        self._stdout = stdout
        self._lock = anyio.Lock()
        self.closed = False

    async def write(self, message: Any) -> None:
        # Re-serialising guarantees one line per message whatever the upstream's formatting.
        line = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        async with self._lock:
            if self.closed:
                raise StdoutClosed("stdout is closed")
            try:
                await anyio.to_thread.run_sync(self._write_line, line)
            except (BrokenPipeError, ValueError, OSError) as exc:
                self.closed = True
                raise StdoutClosed("stdout is closed") from exc

    def _write_line(self, line: bytes) -> None:
        self._stdout.write(line)
        self._stdout.flush()
