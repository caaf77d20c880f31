"""Repository functions for ``execution_logs``: one row per published call and per test run.

The caller redacts secret values before handing arguments, output and errors over; this store
only bounds sizes, so one chatty tool cannot grow the database by megabytes a call. Reads are
newest first and paged; retention deletes by age.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, delete, func
from sqlmodel import col, select

from mcpbox.db.appender import rows_in_slices
from mcpbox.db.engine import Database
from mcpbox.db.models import ExecutionLogRow, utcnow
from mcpbox.errors import InvalidInput

_TABLE: Table = ExecutionLogRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it on the class
_COLUMNS = (
    "at", "server", "tool", "version", "content_hash", "kind", "arguments", "result_summary", "stdout",
    "duration_ms", "egress", "outcome", "error", "requested_by",
)  # fmt: skip
_ROW_VALUES = operator.itemgetter(*_COLUMNS)


def _row_values(entry: NewExecutionLog) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _ROW_VALUES(_values(entry))
    return values


SUMMARY_MAX_CHARS = 2000
STDOUT_MAX_CHARS = 16_000
ERROR_MAX_CHARS = 4000
ARGUMENTS_MAX_CHARS = 16_000
EGRESS_MAX_ATTEMPTS = 100
TRUNCATED = "…[truncated]"

Kind = Literal["call", "test"]


@dataclass(frozen=True, slots=True)
class NewExecutionLog:
    """What the caller knows after a call; ``arguments`` and texts are already redacted."""

    server: str
    kind: Kind
    requested_by: str
    outcome: str  # ok | error | denied (activity Outcome values)
    duration_ms: float
    tool: str | None = None  # None for a test run of unsaved code
    version: int | None = None
    content_hash: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    result_summary: str = ""
    stdout: str = ""
    egress: Sequence[Mapping[str, Any]] = ()  # attempts: host, method, status, bytes, outcome
    error: str | None = None
    at: datetime | None = None  # default: now


@dataclass(frozen=True, slots=True)
class ExecutionLogRecord:
    id: int
    at: datetime
    server: str
    tool: str | None
    version: int | None
    content_hash: str | None
    kind: str
    arguments: dict[str, Any]
    result_summary: str
    stdout: str
    duration_ms: float
    egress: list[dict[str, Any]]
    outcome: str
    error: str | None
    requested_by: str


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(TRUNCATED))] + TRUNCATED


def _values(entry: NewExecutionLog) -> dict[str, Any]:
    """Column values of one entry, sizes bounded (shared by the single and batched inserts)."""
    if entry.kind not in ("call", "test"):
        raise InvalidInput("execution log kind must be 'call' or 'test'")
    arguments = json.dumps(dict(entry.arguments), separators=(",", ":"), default=str, ensure_ascii=False)
    if len(arguments) > ARGUMENTS_MAX_CHARS:
        arguments = json.dumps({"_truncated": truncate(arguments, ARGUMENTS_MAX_CHARS)})
    attempts = [dict(attempt) for attempt in entry.egress[:EGRESS_MAX_ATTEMPTS]]
    return {
        "at": entry.at or utcnow(),
        "server": entry.server,
        "tool": entry.tool,
        "version": entry.version,
        "content_hash": entry.content_hash,
        "kind": entry.kind,
        "arguments": arguments,
        "result_summary": truncate(entry.result_summary, SUMMARY_MAX_CHARS),
        "stdout": truncate(entry.stdout, STDOUT_MAX_CHARS),
        "duration_ms": entry.duration_ms,
        "egress": json.dumps(attempts, separators=(",", ":"), default=str),
        "outcome": entry.outcome,
        "error": None if entry.error is None else truncate(entry.error, ERROR_MAX_CHARS),
        "requested_by": entry.requested_by,
    }


async def insert_many(db: Database, entries: Sequence[NewExecutionLog]) -> int:
    """Store a batch in one transaction (the batched writer's insert); returns how many.

    One published call writes one row, so this is on the throughput path of every call: the
    rows go through ``Database.append_rows``, off the event loop.
    """
    rows = await rows_in_slices(entries, _row_values)
    await db.append_rows(_TABLE, _COLUMNS, rows)
    return len(rows)


async def insert_execution_log(db: Database, entry: NewExecutionLog) -> int:
    """Store one entry (sizes bounded); returns its id."""
    row = ExecutionLogRow(**_values(entry))
    async with db.write() as session:
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


async def list_execution_logs(
    db: Database,
    *,
    server: str | None = None,
    tool: str | None = None,
    kind: Kind | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[ExecutionLogRecord], int]:
    """One page of entries, newest first, and the number of matches."""
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    conditions = []
    if server is not None:
        conditions.append(col(ExecutionLogRow.server) == server)
    if tool is not None:
        conditions.append(col(ExecutionLogRow.tool) == tool)
    if kind is not None:
        conditions.append(col(ExecutionLogRow.kind) == kind)
    async with db.session() as session:
        total = (
            await session.exec(select(func.count()).select_from(ExecutionLogRow).where(*conditions))
        ).one()
        rows = await session.exec(
            select(ExecutionLogRow)
            .where(*conditions)
            .order_by(col(ExecutionLogRow.at).desc(), col(ExecutionLogRow.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return [_record(row) for row in rows.all()], int(total)


async def delete_older_than(db: Database, cutoff: datetime) -> int:
    """Retention: delete entries recorded before ``cutoff``; returns how many."""
    async with db.write() as session:
        result = await session.exec(delete(ExecutionLogRow).where(col(ExecutionLogRow.at) < cutoff))
        return int(result.rowcount)


def _record(row: ExecutionLogRow) -> ExecutionLogRecord:
    assert row.id is not None
    return ExecutionLogRecord(
        id=row.id,
        at=row.at,
        server=row.server,
        tool=row.tool,
        version=row.version,
        content_hash=row.content_hash,
        kind=row.kind,
        arguments=json.loads(row.arguments),
        result_summary=row.result_summary,
        stdout=row.stdout,
        duration_ms=row.duration_ms,
        egress=json.loads(row.egress),
        outcome=row.outcome,
        error=row.error,
        requested_by=row.requested_by,
    )
