"""Repository functions for ``activity``: batch insert, filtered paging, retention.

The recorder hands over batches of events and each batch is one multi-row INSERT in one
transaction, which is what lets mcpbox log every MCP request without slowing it down. Reads are
newest first, filtered on the indexed columns (``at``, ``name``) plus a few exact matches.

The db layer sits below ``mcpbox.activity``, so it does not import ``ActivityEvent``: it accepts
anything shaped like one (``EventLike``) and returns its own ``ActivityRecord`` rows.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, delete, func
from sqlmodel import col, select

from mcpbox.db.appender import rows_in_slices
from mcpbox.db.engine import Database
from mcpbox.db.models import ActivityRow
from mcpbox.errors import InvalidInput

_TABLE: Table = ActivityRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it on the class
_COLUMNS = (
    "at", "name", "outcome", "duration_ms", "actor", "session_id", "client_name", "method", "server",
    "tool", "detail",
)  # fmt: skip
_ROW_VALUES = operator.itemgetter(*_COLUMNS)


def _row_values(event: EventLike) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _ROW_VALUES(_row(event))
    return values


class EventLike(Protocol):
    """The shape of ``mcpbox.activity.events.ActivityEvent`` that this store needs."""

    @property
    def name(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def duration_ms(self) -> float | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def client_name(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def server(self) -> str | None: ...
    @property
    def tool(self) -> str | None: ...
    @property
    def detail(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Exact-match filters; ``name_prefix`` matches dotted families such as ``"tool."``."""

    name: str | None = None
    name_prefix: str | None = None
    outcome: str | None = None  # an Outcome value: ok, error, denied
    actor: str | None = None
    session_id: str | None = None
    server: str | None = None
    tool: str | None = None
    since: float | None = None  # at >= since
    until: float | None = None  # at < until


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One stored event; ``id`` grows with insertion order."""

    id: int
    at: float
    name: str
    outcome: str
    duration_ms: float | None
    actor: str | None
    session_id: str | None
    client_name: str | None
    method: str | None
    server: str | None
    tool: str | None
    detail: dict[str, Any] | None


async def insert_many(db: Database, events: Sequence[EventLike]) -> int:
    """Write ``events`` in one transaction; returns how many were written."""
    if not events:
        return 0
    rows = await rows_in_slices(events, _row_values)
    await db.append_rows(_TABLE, _COLUMNS, rows)
    return len(rows)


async def list_activity(
    db: Database, filters: ActivityFilter | None = None, *, offset: int = 0, limit: int = 100
) -> tuple[list[ActivityRecord], int]:
    """One page of matching events, newest first, and the number of matches."""
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    conditions = _conditions(filters or ActivityFilter())
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(ActivityRow).where(*conditions))).one()
        page = await session.exec(
            select(ActivityRow)
            .where(*conditions)
            .order_by(col(ActivityRow.at).desc(), col(ActivityRow.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return [_record(row) for row in page.all()], int(total)


async def delete_older_than(db: Database, ts: float) -> int:
    """Retention: delete events recorded before ``ts`` (Unix seconds); returns how many."""
    async with db.write() as session:
        result = await session.exec(delete(ActivityRow).where(col(ActivityRow.at) < ts))
        return int(result.rowcount)


def _conditions(f: ActivityFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    exact: tuple[tuple[Any, str | None], ...] = (
        (ActivityRow.name, f.name),
        (ActivityRow.outcome, f.outcome),
        (ActivityRow.actor, f.actor),
        (ActivityRow.session_id, f.session_id),
        (ActivityRow.server, f.server),
        (ActivityRow.tool, f.tool),
    )
    for column, value in exact:
        if value is not None:
            conditions.append(col(column) == value)
    if f.name_prefix is not None:
        # startswith with autoescape: '%' and '_' in a prefix are literal (portable LIKE ... ESCAPE).
        conditions.append(col(ActivityRow.name).startswith(f.name_prefix, autoescape=True))
    if f.since is not None:
        conditions.append(col(ActivityRow.at) >= f.since)
    if f.until is not None:
        conditions.append(col(ActivityRow.at) < f.until)
    return conditions


def _row(event: EventLike) -> dict[str, Any]:
    detail = None
    if event.detail is not None:
        # default=str: an odd value in detail must not make the whole batch fail.
        detail = json.dumps(dict(event.detail), separators=(",", ":"), default=str)
    return {
        "at": event.at,
        "name": event.name,
        "outcome": str(event.outcome),
        "duration_ms": event.duration_ms,
        "actor": event.actor,
        "session_id": event.session_id,
        "client_name": event.client_name,
        "method": event.method,
        "server": event.server,
        "tool": event.tool,
        "detail": detail,
    }


def _record(row: ActivityRow) -> ActivityRecord:
    detail: dict[str, Any] | None = json.loads(row.detail) if row.detail is not None else None
    assert row.id is not None  # a row read back from the table always has its id
    return ActivityRecord(
        id=row.id,
        at=row.at,
        name=row.name,
        outcome=row.outcome,
        duration_ms=row.duration_ms,
        actor=row.actor,
        session_id=row.session_id,
        client_name=row.client_name,
        method=row.method,
        server=row.server,
        tool=row.tool,
        detail=detail,
    )
