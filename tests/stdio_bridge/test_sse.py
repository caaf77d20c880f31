"""The SSE decoder: what Streamable HTTP sends, and what a hostile stream must not do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mcpbox.stdio_bridge.sse import EventTooLarge, StreamPosition, iter_event_data

pytestmark = pytest.mark.anyio


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _collect(position: StreamPosition, *lines: str, limit: int = 1000) -> list[str]:
    return [data async for data in iter_event_data(_lines(*lines), position, max_data_bytes=limit)]


async def test_events_split_on_blank_lines_and_multi_line_data_joins_with_newlines() -> None:
    position = StreamPosition()
    events = await _collect(position, "event: message", 'data: {"a":', "data: 1}", "", "data:{}", "")
    assert events == ['{"a":\n1}', "{}"]


async def test_priming_event_sets_id_and_retry_without_yielding() -> None:
    position = StreamPosition()
    assert await _collect(position, "id: ev-1", "retry: 2500", "data", "", ": keep-alive", "") == []
    assert position == StreamPosition(last_event_id="ev-1", retry_ms=2500)


async def test_a_last_event_without_its_blank_line_is_still_delivered() -> None:
    assert await _collect(StreamPosition(), "data: 1") == ["1"]


async def test_an_event_over_the_bound_stops_the_stream() -> None:
    with pytest.raises(EventTooLarge):
        await _collect(StreamPosition(), "data: " + "x" * 600, "data: " + "x" * 600, "", limit=1000)
