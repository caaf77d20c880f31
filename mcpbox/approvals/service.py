"""The owner's decisions: approve or reject a tool version, a module request, a host request.

Each decision is one conditional UPDATE in the stores (tools: on id, ``pending_review`` and the
content hash the owner reviewed; requests: on id and ``pending``). So an approval can never land
on code the owner did not see, and two owners deciding the same item at once produce exactly
one decision and one ``Conflict``. Every decision emits ``approval.decided`` plus the specific
outcome event, and tells the process when the exposed tool list or an allowlist changed.

Whether a request is auto-approved is policy, read in the tools layer above; this module only
takes the answer (``auto_approved_by``) so it stays free of policy reads.
"""

from __future__ import annotations

from mcpbox.approvals.hooks import Hooks, event
from mcpbox.approvals.pending import PendingKind, parse_ref
from mcpbox.db import request_store, tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus, ToolStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.tool_store import ToolInfo
from mcpbox.errors import InvalidInput

REASON_MAX = 2000
AUTO_APPROVER = "policy:auto_approve"


async def approve_tool(
    db: Database,
    tool_id: int,
    *,
    content_hash: str,
    decided_by: str,
    hooks: Hooks,
    reason: str | None = None,
) -> ToolInfo:
    """Approve the version with ``content_hash`` of a tool in ``pending_review``; it is published.

    ``NotFound`` if the tool is gone; ``Conflict`` if it is not pending review or its current
    version no longer has ``content_hash`` (it changed after the owner looked).
    Emits ``approval.decided`` and ``tool.published``; signals ``exposure_changed``.
    """
    reason = _reason(reason, required=False)
    tool = await tool_store.transition(
        db,
        tool_id,
        expected_status=ToolStatus.PENDING_REVIEW,
        expected_hash=content_hash,
        new_status=ToolStatus.APPROVED,
        decided_by=decided_by,
        reason=reason,
        approve=True,
    )
    _decided(hooks, tool, "approved", decided_by, reason)
    hooks.record(
        event(
            "tool.published",
            actor=decided_by,
            server=tool.server,
            tool=tool.name,
            version=tool.current_version,
            content_hash=tool.current_hash,
        )
    )
    hooks.exposure_changed()
    return tool


async def reject_tool(
    db: Database, tool_id: int, *, content_hash: str, decided_by: str, reason: str, hooks: Hooks
) -> ToolInfo:
    """Reject the pending version with ``content_hash``; ``reason`` is required (the LLM reads it).

    Errors as ``approve_tool``. Emits ``approval.decided`` and ``tool.rejected``.
    """
    checked = _reason(reason, required=True)
    tool = await tool_store.transition(
        db,
        tool_id,
        expected_status=ToolStatus.PENDING_REVIEW,
        expected_hash=content_hash,
        new_status=ToolStatus.REJECTED,
        decided_by=decided_by,
        reason=checked,
    )
    _decided(hooks, tool, "rejected", decided_by, checked)
    hooks.record(
        event(
            "tool.rejected",
            actor=decided_by,
            server=tool.server,
            tool=tool.name,
            version=tool.current_version,
            reason=checked,
        )
    )
    hooks.exposure_changed()
    return tool


async def approve_request(
    db: Database,
    kind: RequestKind,
    request_id: int,
    *,
    decided_by: str,
    hooks: Hooks,
    reason: str | None = None,
) -> RequestInfo:
    """Approve a pending module or host request: it joins the server's allowlist.

    ``NotFound`` / ``Conflict`` (already decided). Emits ``approval.decided`` and
    ``module.approved`` or ``host.approved``; signals ``allowlists_changed(server)``.
    A package module must already be installed: ``mcpbox.tools.requests`` does that first.
    """
    return await _decide_request(db, kind, request_id, RequestStatus.APPROVED, decided_by, reason, hooks)


async def reject_request(
    db: Database, kind: RequestKind, request_id: int, *, decided_by: str, reason: str, hooks: Hooks
) -> RequestInfo:
    """Reject a pending request (``reason`` required). Emits ``approval.decided`` and
    ``module.rejected`` / ``host.rejected``."""
    checked = _reason(reason, required=True)
    return await _decide_request(db, kind, request_id, RequestStatus.REJECTED, decided_by, checked, hooks)


async def revoke_request(
    db: Database, kind: RequestKind, request_id: int, *, revoked_by: str, reason: str, hooks: Hooks
) -> RequestInfo:
    """Withdraw an approved module or host: it leaves the server's allowlist at once.

    ``reason`` is required (it is what the LLM and the log show). ``NotFound``; ``Conflict`` if
    the request is not approved. Emits ``approval.decided`` (decision ``revoked``) and
    ``module.revoked`` / ``host.revoked``; signals ``allowlists_changed(server)``, so warm workers
    built with the old allowlist are retired before they serve another call. A package stays
    installed (another server may use it); this server's tools can no longer import it.
    """
    checked = _reason(reason, required=True, action="a revocation")
    request = await request_store.revoke(db, kind, request_id, revoked_by=revoked_by, reason=str(checked))
    _record_decision(hooks, kind, request, RequestStatus.REVOKED, revoked_by, checked)
    hooks.allowlists_changed(request.server)
    return request


async def revoke(db: Database, ref: str, *, revoked_by: str, reason: str, hooks: Hooks) -> RequestInfo:
    """Revoke an approved ``module:N`` or ``host:N`` by its ref, for the CLI and the admin UI.

    A tool is not revoked this way (``InvalidInput``): stop its server, or roll it back.
    """
    kind, item_id = parse_ref(ref)
    if kind is PendingKind.TOOL:
        raise InvalidInput(
            f"{ref} is a tool: only module and host approvals can be revoked. To withdraw a published "
            "tool, disable it (mcpbox tools disable SERVER TOOL, or Disable on its page), stop its "
            "server, or roll it back"
        )
    return await revoke_request(
        db, RequestKind(kind.value), item_id, revoked_by=revoked_by, reason=reason, hooks=hooks
    )


async def decide(
    db: Database,
    ref: str,
    *,
    approve: bool,
    decided_by: str,
    hooks: Hooks,
    reason: str | None = None,
    content_hash: str | None = None,
) -> ToolInfo | RequestInfo:
    """Decide any queue item by its ref (``tool:12``, ``module:3``, ``host:7``), for the CLI and UI.

    A tool decision needs the ``content_hash`` the owner reviewed (``InvalidInput`` without it).
    Package modules are not installed here; use ``mcpbox.tools.requests.approve_module_request``.
    """
    kind, item_id = parse_ref(ref)
    if kind is PendingKind.TOOL:
        if not content_hash:
            raise InvalidInput(f"deciding {ref} needs the content hash of the version you reviewed")
        if approve:
            return await approve_tool(
                db, item_id, content_hash=content_hash, decided_by=decided_by, hooks=hooks, reason=reason
            )
        return await reject_tool(
            db, item_id, content_hash=content_hash, decided_by=decided_by, reason=reason or "", hooks=hooks
        )
    request_kind = RequestKind(kind.value)
    if approve:
        return await approve_request(
            db, request_kind, item_id, decided_by=decided_by, hooks=hooks, reason=reason
        )
    return await reject_request(
        db, request_kind, item_id, decided_by=decided_by, reason=reason or "", hooks=hooks
    )


async def submit_module_request(
    db: Database,
    *,
    server: str,
    module: str,
    requested_by: str,
    hooks: Hooks,
    package: str | None = None,
    version: str | None = None,
    justification: str = "",
    auto_approved_by: str | None = None,
) -> RequestInfo:
    """Store a pending module request (validated by the caller); ``Conflict`` if a duplicate.

    With ``auto_approved_by`` (the policy allowed it) it is approved at once by that identity.
    Emits ``module.requested`` (and the approval events when auto-approved).
    """
    request = await request_store.create_module_request(
        db,
        server=server,
        module=module,
        requested_by=requested_by,
        package=package,
        version=version,
        justification=justification,
    )
    hooks.record(
        event(
            "module.requested",
            actor=requested_by,
            server=server,
            ref=request.ref,
            module=module,
            package=package,
            version=version,
        )
    )
    if auto_approved_by is None:
        return request
    return await approve_request(
        db,
        RequestKind.MODULE,
        request.id,
        decided_by=auto_approved_by,
        hooks=hooks,
        reason="module_approval_mode",
    )


async def submit_host_request(
    db: Database, *, server: str, host: str, requested_by: str, hooks: Hooks, justification: str = ""
) -> RequestInfo:
    """Store a pending host request (canonical host rule from the caller). Emits ``host.requested``."""
    request = await request_store.create_host_request(
        db, server=server, host=host, requested_by=requested_by, justification=justification
    )
    hooks.record(event("host.requested", actor=requested_by, server=server, ref=request.ref, host=host))
    return request


async def _decide_request(
    db: Database,
    kind: RequestKind,
    request_id: int,
    status: RequestStatus,
    decided_by: str,
    reason: str | None,
    hooks: Hooks,
) -> RequestInfo:
    reason = _reason(reason, required=False)
    request = await request_store.decide(
        db, kind, request_id, new_status=status, decided_by=decided_by, reason=reason
    )
    _record_decision(hooks, kind, request, status, decided_by, reason)
    if status is RequestStatus.APPROVED:
        hooks.allowlists_changed(request.server)
    return request


def _record_decision(
    hooks: Hooks,
    kind: RequestKind,
    request: RequestInfo,
    status: RequestStatus,
    decided_by: str,
    reason: str | None,
) -> None:
    hooks.record(
        event(
            "approval.decided",
            actor=decided_by,
            server=request.server,
            ref=request.ref,
            decision=status.value,
            subject=request.subject,
            reason=reason,
        )
    )
    hooks.record(
        event(
            f"{kind.value}.{status.value}",
            actor=decided_by,
            server=request.server,
            ref=request.ref,
            subject=request.subject,
        )
    )


def _decided(hooks: Hooks, tool: ToolInfo, decision: str, decided_by: str, reason: str | None) -> None:
    hooks.record(
        event(
            "approval.decided",
            actor=decided_by,
            server=tool.server,
            tool=tool.name,
            ref=f"tool:{tool.id}",
            decision=decision,
            version=tool.current_version,
            content_hash=tool.current_hash,
            reason=reason,
        )
    )


def _reason(reason: str | None, *, required: bool, action: str = "a rejection") -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidInput(f"{action} needs a reason: it tells the requester what to change")
    if len(text) > REASON_MAX:
        raise InvalidInput(f"reason is longer than {REASON_MAX} characters")
    return text or None
