"""In-process change bus: tells every open MCP stream that the tool list changed.

Publishers (management tools, approvals) call ``publish``; each gateway stream holds a
subscription and turns a change into ``notifications/tools/list_changed``. A subscriber's queue is
bounded and coalescing: a slow stream sees "something changed" once, never a backlog.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

logger = logging.getLogger(__name__)


class Change(StrEnum):
    TOOLS = "tools"


class ChangeBus:
    """Fan-out of change signals to subscribers, coalescing per subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[MemoryObjectSendStream[Change]] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, change: Change = Change.TOOLS) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(change)
            except anyio.WouldBlock:
                pass  # a signal is already pending for this subscriber: coalesced
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(send)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[MemoryObjectReceiveStream[Change]]:
        send, receive = anyio.create_memory_object_stream[Change](max_buffer_size=1)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()
            receive.close()
