"""The activity log as the UI and API query it: filters from query parameters, one page, a tail.

Both edges parse the same query string through ``parse_activity_query``, so a link copied from
the browser works against ``/api/activity`` and vice versa. Times are ISO 8601 (a time without a
zone is UTC) or a relative ``window`` such as ``1h``. The live tail reads rows newer than the last
id it sent; because the recorder writes in batches, it looks back a few seconds by ``at`` and
filters by id, so an event stamped just before a flush is not skipped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from mcpbox.activity.events import Outcome
from mcpbox.db.activity_store import ActivityFilter, ActivityRecord, list_activity
from mcpbox.errors import InvalidInput
from mcpbox.state import AppState
from mcpbox.web.operations import Page, page_window

WINDOWS: Mapping[str, float] = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
FIELD_MAX = 100
TAIL_LOOKBACK_SECONDS = 10.0
TAIL_BATCH = 100


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    server: str | None = None
    tool: str | None = None
    outcome: str | None = None
    event: str | None = None  # a name or dotted prefix ("admin." matches every admin event)
    window: str | None = None
    since: float | None = None
    until: float | None = None
    page: int = 1
    page_size: int | None = None

    def to_filter(self, now: float) -> ActivityFilter:
        since = self.since
        if self.window is not None:
            since = max(since or 0.0, now - WINDOWS[self.window])
        return ActivityFilter(
            server=self.server,
            tool=self.tool,
            outcome=self.outcome,
            name_prefix=self.event,
            since=since,
            until=self.until,
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for pagination links and the live tail)."""
        values = {
            "server": self.server,
            "tool": self.tool,
            "outcome": self.outcome,
            "event": self.event,
            "window": self.window,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "page_size": str(self.page_size) if self.page_size else None,
        }
        return {key: value for key, value in values.items() if value}


def parse_activity_query(params: Mapping[str, str]) -> ActivityQuery:
    """Validate query parameters; ``InvalidInput`` names the parameter at fault."""

    def text(name: str) -> str | None:
        value = params.get(name, "").strip()
        if len(value) > FIELD_MAX:
            raise InvalidInput(f"{name} is longer than {FIELD_MAX} characters")
        return value or None

    outcome = text("outcome")
    if outcome is not None and outcome not in {o.value for o in Outcome}:
        raise InvalidInput(f"outcome must be one of {', '.join(o.value for o in Outcome)}")
    window = text("window")
    if window is not None and window not in WINDOWS:
        raise InvalidInput(f"window must be one of {', '.join(WINDOWS)}")
    return ActivityQuery(
        server=text("server"),
        tool=text("tool"),
        outcome=outcome,
        event=text("event"),
        window=window,
        since=_timestamp(text("since"), "since"),
        until=_timestamp(text("until"), "until"),
        page=_positive(text("page"), "page") or 1,
        page_size=_positive(text("page_size"), "page_size"),
    )


async def activity_page(state: AppState, query: ActivityQuery) -> Page[ActivityRecord]:
    number, size = page_window(query.page, query.page_size, state.config.page_size_max)
    items, total = await list_activity(
        state.database, query.to_filter(time.time()), offset=(number - 1) * size, limit=size
    )
    return Page(items=items, total=total, page=number, page_size=size)


async def activity_after(
    state: AppState, query: ActivityQuery, last_id: int, last_at: float
) -> list[ActivityRecord]:
    """Rows matching ``query`` with id above ``last_id``, oldest first (for the live tail)."""
    base = query.to_filter(time.time())
    since = last_at - TAIL_LOOKBACK_SECONDS
    tail_filter = replace(base, since=max(base.since or since, since))
    items, _ = await list_activity(state.database, tail_filter, limit=TAIL_BATCH)
    return sorted((item for item in items if item.id > last_id), key=lambda item: item.id)


def _timestamp(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an ISO 8601 time, e.g. 2026-11-29T04:00") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _positive(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise InvalidInput(f"{name} must be a positive integer")
    return int(value)


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
