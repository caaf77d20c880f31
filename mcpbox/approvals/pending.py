"""The owner's review queue: pending tools, module requests and host requests in one list.

Every item has a ``ref`` (``tool:12``, ``module:3``, ``host:7``) that the CLI, the admin UI and
the approvals service all accept, so "approve any ID that list shows" needs no lookup tables.
A tool item carries the content hash of the version waiting for review: approving binds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mcpbox.db import request_store, tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus, ToolStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.tool_store import ToolInfo
from mcpbox.errors import InvalidInput


class PendingKind(StrEnum):
    TOOL = "tool"
    MODULE = "module"
    HOST = "host"


@dataclass(frozen=True, slots=True)
class PendingItem:
    ref: str
    kind: PendingKind
    id: int
    server: str
    subject: str  # tool name, module name or host rule
    requested_by: str
    requested_at: datetime
    content_hash: str | None = None  # tools: the version under review
    version: int | None = None  # tools: its number
    package: str | None = None  # modules: "name==version" to install, if any
    justification: str = ""


def parse_ref(ref: str) -> tuple[PendingKind, int]:
    """``"tool:12"`` -> (TOOL, 12); ``InvalidInput`` explains the accepted forms."""
    kind_text, sep, id_text = ref.strip().partition(":")
    try:
        kind = PendingKind(kind_text)
        if not sep or not id_text.isdigit():
            raise ValueError(ref)
    except ValueError as exc:
        raise InvalidInput(
            f"invalid approval id {ref!r}: use tool:<n>, module:<n> or host:<n> as listed by the queue"
        ) from exc
    return kind, int(id_text)


def tool_item(tool: ToolInfo) -> PendingItem:
    return PendingItem(
        ref=f"tool:{tool.id}",
        kind=PendingKind.TOOL,
        id=tool.id,
        server=tool.server,
        subject=tool.name,
        requested_by=tool.review_requested_by or tool.created_by,
        requested_at=tool.review_requested_at or tool.updated_at,
        content_hash=tool.current_hash,
        version=tool.current_version,
    )


def request_item(request: RequestInfo) -> PendingItem:
    package = None
    if request.package is not None:
        package = f"{request.package}=={request.version}"
    return PendingItem(
        ref=request.ref,
        kind=PendingKind(request.kind.value),
        id=request.id,
        server=request.server,
        subject=request.subject,
        requested_by=request.requested_by,
        requested_at=request.created_at,
        package=package,
        justification=request.justification,
    )


async def list_pending(
    db: Database,
    *,
    kind: PendingKind | None = None,
    server: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[PendingItem], int]:
    """One page of everything awaiting a decision, oldest request first, and the total.

    Each source is read up to ``offset + limit`` rows and merged; callers cap ``limit``.
    """
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    window = offset + limit
    items: list[PendingItem] = []
    total = 0
    if kind in (None, PendingKind.TOOL):
        tools, count = await tool_store.list_tools(
            db,
            server=server,
            status=ToolStatus.PENDING_REVIEW,
            offset=0,
            limit=window,
            oldest_review_first=True,
        )
        items.extend(tool_item(tool) for tool in tools)
        total += count
    for request_kind in (RequestKind.MODULE, RequestKind.HOST):
        if kind not in (None, PendingKind(request_kind.value)):
            continue
        requests, count = await request_store.list_requests(
            db, request_kind, server=server, status=RequestStatus.PENDING, offset=0, limit=window
        )
        items.extend(request_item(request) for request in requests)
        total += count
    items.sort(key=lambda item: (item.requested_at, item.kind.value, item.id))
    return items[offset:window], total
