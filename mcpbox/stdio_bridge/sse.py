"""A small Server-Sent Events decoder for the gateway's ``text/event-stream`` answers.

Only what MCP uses: ``data`` (joined with newlines), ``id`` and ``retry``. ``id`` and ``retry``
are written to a ``StreamPosition`` as soon as they are seen (even on a data-less "priming"
event) so that a dropped GET stream can resume with ``Last-Event-ID`` after the delay the server
asked for. ``event`` names are ignored: Streamable HTTP sends every JSON-RPC message as the
default ``message`` event. Lines arrive already split by httpx (``\\r\\n``, ``\\n`` or ``\\r``).
The accumulated ``data`` is bounded so a runaway stream cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


class EventTooLarge(Exception):
    """One event's data passed the bound; the stream is abandoned."""


@dataclass(slots=True)
class StreamPosition:
    """Where a stream got to: the last event id and the server's requested reconnect delay."""

    last_event_id: str | None = None
    retry_ms: int | None = None


async def iter_event_data(
    lines: AsyncIterable[str], position: StreamPosition, *, max_data_bytes: int
) -> AsyncIterator[str]:
    """Yield the data of each complete event; events with blank data yield nothing.

    The 2025-11-25 "priming" event is an ``id`` with an empty ``data`` line: it exists only so
    the client learns an event id, and is not a JSON-RPC message.
    """
    data: list[str] = []
    size = 0
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            joined = "\n".join(data)
            if joined.strip():
                yield joined
            data, size = [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            size += len(value) + 1
            if size > max_data_bytes:
                raise EventTooLarge(f"an SSE event passed {max_data_bytes} bytes")
            data.append(value)
        elif name == "id" and "\0" not in value:
            position.last_event_id = value
        elif name == "retry" and value.isdigit():
            position.retry_ms = int(value)
    if "\n".join(data).strip():
        # A stream that ends without the final blank line still delivers its last event.
        yield "\n".join(data)
