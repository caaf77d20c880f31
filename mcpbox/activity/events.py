"""Typed activity events: every MCP request, tool call, admin action and security event.

Event names are stable dotted strings (``mcp.request``, ``tool.called``, ``server.created``,
``keys.rotated``, ``sandbox.worker_killed``); tests assert them, and the activity log and its
filters key on them. ``detail`` holds small JSON-safe extras and never a secret value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    OK = "ok"
    ERROR = "error"  # the request or call failed (bad input, tool error, limit)
    DENIED = "denied"  # refused by a security rule (Origin, auth, policy, egress)


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One row of the activity log."""

    name: str
    outcome: Outcome = Outcome.OK
    at: float = field(default_factory=time.time)
    duration_ms: float | None = None
    actor: str | None = None  # "local", a token name, a JWT subject, an admin name
    session_id: str | None = None
    client_name: str | None = None
    method: str | None = None  # MCP method for mcp.* events
    server: str | None = None
    tool: str | None = None
    detail: dict[str, Any] | None = None
