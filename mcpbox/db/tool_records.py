"""The value types of the tool store and their conversion from and to table rows.

Stores return these frozen records rather than live ORM rows, so nothing above the db layer can
mutate a row by accident, and a version's JSON columns are parsed exactly once, here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mcpbox.db.models import Tool, ToolStatus, ToolVersion


@dataclass(frozen=True, slots=True)
class VersionContent:
    """Everything an approval covers; ``mcpbox.tools.versions.content_hash`` hashes exactly this."""

    code: str
    description: str
    input_schema: dict[str, Any]
    modules: tuple[str, ...] = ()  # sorted, unique
    hosts: tuple[str, ...] = ()  # sorted, unique


@dataclass(frozen=True, slots=True)
class ToolInfo:
    id: int
    server: str
    name: str
    status: ToolStatus
    enabled: bool
    current_version: int
    current_hash: str
    approved_version: int | None
    review_requested_by: str | None
    review_requested_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def label(self) -> str:
        return f"{self.server}/{self.name}"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    tool_id: int
    number: int
    content: VersionContent
    content_hash: str
    change_source: str  # create | update | rollback | import
    rolled_back_from: int | None
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Approval:
    """Marks a transition as an approval of the (new) current version."""

    decided_by: str
    reason: str | None = None


def tool_info(row: tuple[Tool, str]) -> ToolInfo:
    """A ``(Tool, server name)`` row as ``ToolInfo`` (for joined queries in other stores)."""
    return info_from_row(row[0], row[1])


def version_row(
    tool_id: int | None,
    number: int,
    content: VersionContent,
    content_hash: str,
    change_source: str,
    created_by: str,
    now: datetime,
) -> ToolVersion:
    assert tool_id is not None
    return ToolVersion(
        tool_id=tool_id,
        number=number,
        code=content.code,
        description=content.description,
        input_schema=dumps_canonical(content.input_schema),
        modules=dumps_canonical(list(content.modules)),
        hosts=dumps_canonical(list(content.hosts)),
        content_hash=content_hash,
        change_source=change_source,
        created_by=created_by,
        created_at=now,
    )


def dumps_canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def info_from_row(row: Tool, server: str) -> ToolInfo:
    assert row.id is not None
    return ToolInfo(
        id=row.id,
        server=server,
        name=row.name,
        status=ToolStatus(row.status),
        enabled=row.enabled,
        current_version=row.current_version,
        current_hash=row.current_hash,
        approved_version=row.approved_version,
        review_requested_by=row.review_requested_by,
        review_requested_at=row.review_requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def version_info(row: ToolVersion) -> VersionInfo:
    assert row.id is not None
    content = VersionContent(
        code=row.code,
        description=row.description,
        input_schema=json.loads(row.input_schema),
        modules=tuple(json.loads(row.modules)),
        hosts=tuple(json.loads(row.hosts)),
    )
    return VersionInfo(
        id=row.id,
        tool_id=row.tool_id,
        number=row.number,
        content=content,
        content_hash=row.content_hash,
        change_source=row.change_source,
        rolled_back_from=row.rolled_back_from,
        created_by=row.created_by,
        created_at=row.created_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
    )
