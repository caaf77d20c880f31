"""The tool state machine: create, update, roll back, request publishing, enable, delete.

    draft ──request_publish──▶ pending_review ──approve──▶ approved
      ▲                           │      └─────reject───▶ rejected
      └─── update / rollback ─────┴── (from approved or rejected: back to draft;
                                        from pending_review: stays pending_review)

Every change of code, description, schema, modules or hosts is a new immutable version; the
approval of the old version no longer covers the tool, so an approved tool that is updated
leaves the exposed list until its new version is approved (DESIGN §6: only approved tools are
listed and callable). A rollback copies an old version into a new one; if that content was
approved before (same hash), it is approved again at once, recorded as decided by
``policy:rollback_to_approved``. With ``tool_approval_mode = auto_approve`` a publish request is
approved at once by ``policy:auto_approve``.

Writes go through the stores' conditional updates: a caller that read a stale tool gets
``Conflict``. ``expected_hash`` lets a client say which version it based a change on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mcpbox.approvals import service as approvals
from mcpbox.approvals.hooks import Hooks, event
from mcpbox.db import tool_store
from mcpbox.db.engine import Database
from mcpbox.db.models import TOOL_NAME_PATTERN, ToolStatus
from mcpbox.db.tool_store import Approval, ToolInfo, VersionInfo
from mcpbox.errors import Conflict, InvalidInput
from mcpbox.tools.policy import load_policy
from mcpbox.tools.versions import build_content, content_hash

_NAME_RE = re.compile(TOOL_NAME_PATTERN)
ROLLBACK_APPROVER = "policy:rollback_to_approved"


def check_tool_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid tool name {name!r}: use 1-64 lowercase letters, digits or single '_', "
            "starting with a letter ('__' separates server and tool in the MCP name)"
        )
    return name


async def create_tool(
    db: Database,
    *,
    server: str,
    name: str,
    code: str,
    created_by: str,
    hooks: Hooks,
    description: str | None = None,
    modules: Iterable[str] = (),
    hosts: Iterable[str] = (),
    max_code_bytes: int = 100_000,
) -> tuple[ToolInfo, VersionInfo]:
    """A new tool in ``draft`` with version 1. Emits ``tool.created``.

    ``InvalidInput`` (name, code contract, description, modules, hosts), ``NotFound`` (server),
    ``Conflict`` (name taken).
    """
    check_tool_name(name)
    content = build_content(
        code, description=description, modules=modules, hosts=hosts, max_code_bytes=max_code_bytes
    )
    digest = content_hash(content)
    tool, version = await tool_store.insert_tool(
        db, server=server, name=name, content=content, content_hash=digest, created_by=created_by
    )
    hooks.record(
        event("tool.created", actor=created_by, server=server, tool=name, version=1, content_hash=digest)
    )
    return tool, version


async def update_tool(
    db: Database,
    *,
    server: str,
    name: str,
    updated_by: str,
    hooks: Hooks,
    code: str | None = None,
    description: str | None = None,
    modules: Iterable[str] | None = None,
    hosts: Iterable[str] | None = None,
    expected_hash: str | None = None,
    max_code_bytes: int = 100_000,
) -> tuple[ToolInfo, VersionInfo | None]:
    """A new version with the given fields changed (None keeps the current value).

    Returns ``(tool, None)`` when nothing changed (same hash; no version is made). Otherwise the
    tool goes back to ``draft`` (stays ``pending_review`` if it was). Emits ``tool.updated``;
    signals ``exposure_changed`` when an approved tool leaves the list.
    """
    tool = await _current(db, server, name, expected_hash)
    current = await tool_store.get_version(db, tool.id, tool.current_version)
    old = current.content
    content = build_content(
        code if code is not None else old.code,
        description=description if description is not None else old.description,
        modules=modules if modules is not None else old.modules,
        hosts=hosts if hosts is not None else old.hosts,
        max_code_bytes=max_code_bytes,
    )
    digest = content_hash(content)
    if digest == tool.current_hash:
        return tool, None
    new_status = ToolStatus.PENDING_REVIEW if tool.status is ToolStatus.PENDING_REVIEW else ToolStatus.DRAFT
    updated, version = await tool_store.append_version(
        db,
        tool,
        content=content,
        content_hash=digest,
        new_status=new_status,
        change_source="update",
        created_by=updated_by,
    )
    hooks.record(
        event(
            "tool.updated",
            actor=updated_by,
            server=server,
            tool=name,
            version=version.number,
            content_hash=digest,
            previous_status=tool.status.value,
            status=updated.status.value,
        )
    )
    if tool.status is ToolStatus.APPROVED:
        hooks.exposure_changed()
    return updated, version


async def rollback_tool(
    db: Database,
    *,
    server: str,
    name: str,
    to_version: int,
    requested_by: str,
    hooks: Hooks,
    expected_hash: str | None = None,
) -> tuple[ToolInfo, VersionInfo]:
    """A new version copying version ``to_version``. Emits ``tool.rolled_back``.

    Approved at once if that content was approved before (then also ``approval.decided`` and
    ``tool.published``); otherwise ``draft`` (or stays ``pending_review``). ``NotFound`` for an
    unknown version; ``Conflict`` if it has the current content already.
    """
    tool = await _current(db, server, name, expected_hash)
    source = await tool_store.get_version(db, tool.id, to_version)
    if source.content_hash == tool.current_hash:
        raise Conflict(f"version {to_version} of {tool.label} has the same content as the current version")
    approved_before = await tool_store.find_approved_version(db, tool.id, source.content_hash)
    approval = None
    if approved_before is not None:
        new_status = ToolStatus.APPROVED
        approval = Approval(ROLLBACK_APPROVER, f"same content as approved version {approved_before.number}")
    elif tool.status is ToolStatus.PENDING_REVIEW:
        new_status = ToolStatus.PENDING_REVIEW
    else:
        new_status = ToolStatus.DRAFT
    updated, version = await tool_store.append_version(
        db,
        tool,
        content=source.content,
        content_hash=source.content_hash,
        new_status=new_status,
        change_source="rollback",
        created_by=requested_by,
        rolled_back_from=to_version,
        approval=approval,
    )
    hooks.record(
        event(
            "tool.rolled_back",
            actor=requested_by,
            server=server,
            tool=name,
            version=version.number,
            rolled_back_from=to_version,
            content_hash=version.content_hash,
            status=updated.status.value,
        )
    )
    if approval is not None:
        hooks.record(
            event(
                "approval.decided",
                actor=ROLLBACK_APPROVER,
                server=server,
                tool=name,
                ref=f"tool:{tool.id}",
                decision="approved",
                version=version.number,
                content_hash=version.content_hash,
                reason=approval.reason,
            )
        )
        hooks.record(
            event(
                "tool.published",
                actor=ROLLBACK_APPROVER,
                server=server,
                tool=name,
                version=version.number,
                content_hash=version.content_hash,
            )
        )
    if approval is not None or tool.status is ToolStatus.APPROVED:
        hooks.exposure_changed()
    return updated, version


async def request_publish(
    db: Database,
    *,
    server: str,
    name: str,
    requested_by: str,
    hooks: Hooks,
    expected_hash: str | None = None,
) -> ToolInfo:
    """Send the current version (``draft`` or ``rejected``) for review. Emits ``tool.publish_requested``.

    ``Conflict`` if it is already pending review or approved, or changed since ``expected_hash``.
    Under ``tool_approval_mode = auto_approve`` it is approved at once (see ``approve_tool``).
    """
    tool = await _current(db, server, name, expected_hash)
    if tool.status is ToolStatus.PENDING_REVIEW:
        raise Conflict(f"tool {tool.label} is already pending review; the owner must approve or reject it")
    if tool.status is ToolStatus.APPROVED:
        raise Conflict(f"tool {tool.label} is already published at version {tool.current_version}")
    pending = await tool_store.transition(
        db,
        tool.id,
        expected_status=tool.status,
        expected_hash=tool.current_hash,
        new_status=ToolStatus.PENDING_REVIEW,
        review_requested_by=requested_by,
    )
    hooks.record(
        event(
            "tool.publish_requested",
            actor=requested_by,
            server=server,
            tool=name,
            version=pending.current_version,
            content_hash=pending.current_hash,
        )
    )
    if not (await load_policy(db)).auto_approve_tools:
        return pending
    return await approvals.approve_tool(
        db,
        pending.id,
        content_hash=pending.current_hash,
        decided_by=approvals.AUTO_APPROVER,
        hooks=hooks,
        reason="tool_approval_mode=auto_approve",
    )


async def set_tool_enabled(
    db: Database, *, server: str, name: str, enabled: bool, changed_by: str, hooks: Hooks
) -> ToolInfo:
    """Enable or disable a tool. Emits ``tool.enabled``/``tool.disabled``; signals exposure if approved.

    Already in that state: returned unchanged, nothing recorded (a second click changes nothing).
    """
    tool = await tool_store.get_tool(db, server, name)
    if tool.enabled == enabled:
        return tool
    updated = await tool_store.set_enabled(db, tool.id, enabled)
    hooks.record(
        event("tool.enabled" if enabled else "tool.disabled", actor=changed_by, server=server, tool=name)
    )
    if tool.status is ToolStatus.APPROVED:
        hooks.exposure_changed()
    return updated


async def delete_tool(db: Database, *, server: str, name: str, deleted_by: str, hooks: Hooks) -> ToolInfo:
    """Delete a tool and all its versions. Emits ``tool.deleted``; signals exposure if it was approved."""
    tool = await tool_store.get_tool(db, server, name)
    await tool_store.delete_tool(db, tool.id)
    hooks.record(event("tool.deleted", actor=deleted_by, server=server, tool=name, status=tool.status.value))
    if tool.status is ToolStatus.APPROVED:
        hooks.exposure_changed()
    return tool


async def _current(db: Database, server: str, name: str, expected_hash: str | None) -> ToolInfo:
    tool = await tool_store.get_tool(db, server, name)
    if expected_hash is not None and expected_hash != tool.current_hash:
        raise Conflict(
            f"tool {tool.label} changed: its current version is {tool.current_version} "
            f"(hash {tool.current_hash[:12]}); fetch it again and redo the change"
        )
    return tool
