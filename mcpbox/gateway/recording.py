"""One ``mcp.request`` activity event per MCP message the gateway handles.

The recorder the lead passes in is a non-blocking sync callable (it queues for a batched
writer), so recording costs one small object per request and never awaits. A failing
recorder must not fail the request it describes, so its errors are logged and dropped here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.gateway.sessions import Session

logger = logging.getLogger(__name__)

EVENT_NAME = "mcp.request"


class RequestLog:
    """Builds and records the activity event of one handled message."""

    def __init__(self, record: Callable[[ActivityEvent], None]) -> None:
        self._record = record

    def __call__(
        self,
        start: float,
        message: object,
        outcome: Outcome,
        session: Session | None,
        *,
        tool: str | None = None,
        actor: str | None = None,
        client_name: str | None = None,
    ) -> None:
        """Record ``message`` (a decoded JSON-RPC message, or None before one was parsed)."""
        method = message.get("method") if isinstance(message, dict) else None
        if session is not None:
            actor, client_name = session.identity, session.client_name
        event = ActivityEvent(
            name=EVENT_NAME,
            outcome=outcome,
            duration_ms=(time.perf_counter() - start) * 1000,
            actor=actor,
            session_id=session.id if session is not None else None,
            client_name=client_name,
            method=method if isinstance(method, str) else None,
            tool=tool,
        )
        try:
            self._record(event)
        except Exception:
            logger.exception("recording an MCP request failed")
