"""The approvals queue (UI and API): one page of what waits, and the owner's decision on an item.

Items are addressed by the queue's refs (``tool:12``, ``module:3``, ``host:7``). A tool decision
binds to the content hash the owner saw (sent back by the form or the API client), so code that
changed after the page was rendered is never approved by it: the service answers ``Conflict``
and nothing changes. A module request that names a PyPI package is approved through
``approve_module_request``, which installs the package first. Every decision is recorded by the
service under the admin's name and signalled through ``state.hooks`` (tool list, allowlists).
"""

from __future__ import annotations

from mcpbox.approvals import service
from mcpbox.approvals.pending import PendingItem, PendingKind, list_pending, parse_ref
from mcpbox.db.request_store import RequestInfo
from mcpbox.db.tool_store import ToolInfo
from mcpbox.errors import InvalidInput
from mcpbox.state import AppState
from mcpbox.tools.requests import approve_module_request
from mcpbox.web.operations import Page, page_window

KINDS = tuple(kind.value for kind in PendingKind)


def parse_kind(value: str | None) -> PendingKind | None:
    if not value:
        return None
    if value not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    return PendingKind(value)


async def approvals_page(
    state: AppState, kind: PendingKind | None, page: int | None, page_size: int | None
) -> Page[PendingItem]:
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await list_pending(state.database, kind=kind, offset=(number - 1) * size, limit=size)
    return Page(items=items, total=total, page=number, page_size=size)


async def decide(
    state: AppState,
    actor: str,
    ref: str,
    *,
    approve: bool,
    reason: str | None,
    content_hash: str | None,
) -> ToolInfo | RequestInfo:
    """Approve or reject one queue item as ``actor``.

    ``InvalidInput`` (bad ref, a tool without the reviewed hash, a rejection without a reason),
    ``NotFound``, ``Conflict`` (decided meanwhile, or the tool changed since it was reviewed).
    """
    kind, item_id = parse_ref(ref)
    if approve and kind is PendingKind.MODULE:
        return await approve_module_request(
            state.database,
            item_id,
            decided_by=actor,
            hooks=state.hooks,
            reason=reason or None,
            installer=state.installer,
        )
    return await service.decide(
        state.database,
        f"{kind.value}:{item_id}",
        approve=approve,
        decided_by=actor,
        hooks=state.hooks,
        reason=reason or None,
        content_hash=content_hash or None,
    )
