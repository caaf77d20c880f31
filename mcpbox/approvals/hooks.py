"""What a domain service tells the rest of the process after a change: events and signals.

Services never reach for the activity recorder or the change bus themselves; the caller hands
them in. The app passes the recorder's ``record`` and the catalog watcher's ``local_change``
(which publishes ``Change.TOOLS`` once per real change, also for changes made by the CLI); tests
pass a list's ``append`` and ``lambda: bus.publish(Change.TOOLS)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mcpbox.activity.events import ActivityEvent


def _ignore_server(_server: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Hooks:
    record: Callable[[ActivityEvent], None]
    # The set of listed/callable tools may have changed: clients need notifications/tools/list_changed.
    exposure_changed: Callable[[], None]
    # A server's module or host allowlist changed: warm workers of that server must be retired.
    allowlists_changed: Callable[[str], None] = _ignore_server


def event(
    name: str,
    *,
    actor: str,
    server: str | None = None,
    tool: str | None = None,
    **detail: object,
) -> ActivityEvent:
    """A typed activity event; ``detail`` holds small JSON-safe facts, never secret values."""
    return ActivityEvent(name=name, actor=actor, server=server, tool=tool, detail=dict(detail) or None)
