"""What the owner reads before deciding, as plain text and JSON for ``mcpbox approvals``.

The CLI prints; this module only builds the text, so it can be tested without a terminal and
the admin UI can reuse the review facts. A tool review shows the exact version the approval
will bind to (number and content hash), the code with line numbers, and a unified diff against
the last approved version: an owner who approved v1 should only have to read what v2 changed.
``resolve_hash`` turns the hash the owner typed (from ``show``) into the one a decision binds to.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcpbox.approvals.pending import PendingItem, PendingKind, parse_ref
from mcpbox.db import request_store, tool_store
from mcpbox.db.engine import Database
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.errors import InvalidInput

HASH_SHOWN = 16  # enough to be unique in practice, short enough to type


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def pending_json(item: PendingItem) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "kind": item.kind.value,
        "id": item.id,
        "server": item.server,
        "subject": item.subject,
        "version": item.version,
        "content_hash": item.content_hash,
        "package": item.package,
        "justification": item.justification,
        "requested_by": item.requested_by,
        "requested_at": when(item.requested_at),
    }


def aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def pending_table(items: Sequence[PendingItem], total: int) -> list[str]:
    """Aligned columns, one item a line; an empty queue says so instead of printing a header."""
    if not items:
        return ["Nothing is waiting for approval."]
    rows = [("REF", "SERVER", "SUBJECT", "DETAIL", "REQUESTED BY", "REQUESTED AT")]
    for item in items:
        if item.kind is PendingKind.TOOL:
            detail = f"v{item.version} {(item.content_hash or '')[:HASH_SHOWN]}"
        else:
            detail = item.package or "-"
        rows.append((item.ref, item.server, item.subject, detail, item.requested_by, when(item.requested_at)))
    lines = aligned(rows)
    if total > len(items):
        lines.append(f"({len(items)} of {total} shown)")
    lines.append("Review one with `mcpbox approvals show REF`.")
    return lines


def request_json_line(request: RequestInfo) -> dict[str, Any]:
    """An approved module or host for ``approvals list --approved --json``."""
    return {
        "ref": request.ref,
        "kind": request.kind.value,
        "server": request.server,
        "subject": request.subject,
        "package": request.package,
        "version": request.version,
        "decided_by": request.decided_by,
        "decided_at": when(request.decided_at) if request.decided_at else None,
    }


def approved_table(items: Sequence[RequestInfo]) -> list[str]:
    """Approved modules and hosts, one a line, with the ref ``approvals revoke`` takes."""
    if not items:
        return ["No module or host is approved."]
    rows = [("REF", "SERVER", "SUBJECT", "PACKAGE", "APPROVED BY", "APPROVED AT")]
    for item in items:
        package = f"{item.package}=={item.version}" if item.package else "-"
        approved_at = when(item.decided_at) if item.decided_at else "-"
        rows.append((item.ref, item.server, item.subject, package, item.decided_by or "-", approved_at))
    lines = aligned(rows)
    lines.append("Withdraw one with `mcpbox approvals revoke REF --reason TEXT`.")
    return lines


def numbered(code: str) -> list[str]:
    lines = code.splitlines() or [""]
    width = len(str(len(lines)))
    return [f"{number:>{width}} | {line}" for number, line in enumerate(lines, start=1)]


def code_diff(old: VersionInfo, new: VersionInfo, name: str) -> list[str]:
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old.content.code.splitlines(keepends=True),
            new.content.code.splitlines(keepends=True),
            fromfile=f"{name} v{old.number} (approved)",
            tofile=f"{name} v{new.number}",
        )
    ]


def _field_changes(old: VersionInfo, new: VersionInfo) -> list[str]:
    """Changes outside the code, which the hash covers too and the owner must see."""
    changes: list[str] = []
    if old.content.description != new.content.description:
        changes += [
            "description changed:",
            f"  - {old.content.description}",
            f"  + {new.content.description}",
        ]
    if old.content.input_schema != new.content.input_schema:
        changes.append("input schema changed (see below)")
    for label, before, after in (
        ("modules", old.content.modules, new.content.modules),
        ("hosts", old.content.hosts, new.content.hosts),
    ):
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        if added:
            changes.append(f"{label} added: {', '.join(added)}")
        if removed:
            changes.append(f"{label} removed: {', '.join(removed)}")
    return changes


@dataclass(frozen=True, slots=True)
class ToolReview:
    tool: ToolInfo
    version: VersionInfo
    approved: VersionInfo | None  # the last approved version, to diff against
    module_status: dict[str, str]
    host_status: dict[str, str]

    def lines(self) -> list[str]:
        tool, version = self.tool, self.version
        content = version.content
        ref = f"tool:{tool.id}"
        out = [
            f"{ref}  {tool.label}  version {version.number}  status {tool.status.value}",
            f"requested by: {tool.review_requested_by or version.created_by} at "
            f"{when(tool.review_requested_at or version.created_at)}",
            f"version made by: {version.created_by} ({version.change_source})",
            f"content hash: {version.content_hash}",
            f"description: {content.description}",
            "modules: " + _with_status(content.modules, self.module_status),
            "hosts: " + _with_status(content.hosts, self.host_status),
            "input schema: " + json.dumps(content.input_schema, sort_keys=True),
            "",
        ]
        if self.approved is None:
            out.append("No version of this tool was approved before: review all of the code.")
        elif self.approved.content_hash == version.content_hash:
            out.append(f"Same content as approved version {self.approved.number}.")
        else:
            out.append(f"Changes against approved version {self.approved.number}:")
            out += _field_changes(self.approved, version)
            out += code_diff(self.approved, version, tool.name) or ["(code unchanged)"]
        out += ["", f"Code of version {version.number}:", *numbered(content.code), ""]
        if tool.status.value == "pending_review":
            out.append("Approve exactly this version with:")
            out.append(f"  mcpbox approvals approve {ref} --hash {version.content_hash[:HASH_SHOWN]}")
        else:
            out.append(f"This tool is {tool.status.value}, not pending review: there is nothing to decide.")
        return out


def _with_status(names: Iterable[str], status: dict[str, str]) -> str:
    shown = [f"{name} ({status.get(name, 'not requested')})" for name in names]
    return ", ".join(shown) if shown else "none"


def request_lines(request: RequestInfo) -> list[str]:
    subject = "module" if request.kind is RequestKind.MODULE else "host"
    out = [
        f"{request.ref}  server {request.server}  {subject} {request.subject}  status {request.status.value}",
        f"requested by: {request.requested_by} at {when(request.created_at)}",
        f"justification: {request.justification or '(none given)'}",
    ]
    if request.package is not None:
        out.append(
            f"package: {request.package}=={request.version} (installed as a wheel after a "
            "vulnerability check when approved)"
        )
    if request.decided_by is not None:
        out.append(f"decided by: {request.decided_by} at {when(request.decided_at)}: {request.reason or ''}")
    return out


async def _subject_status(db: Database, kind: RequestKind, server: str) -> dict[str, str]:
    requests, _ = await request_store.list_requests(db, kind, server=server, limit=1000)
    return {request.subject: f"{request.status.value} {request.ref}" for request in requests}


async def tool_review(
    db: Database, tool_id: int, *, default_modules: frozenset[str] = frozenset()
) -> ToolReview:
    """``default_modules`` (the sandbox's own list, passed in: this layer does not import the
    sandbox) are shown as such rather than as "not requested"."""
    tool = await tool_store.get_tool_by_id(db, tool_id)
    version = await tool_store.get_version(db, tool.id, tool.current_version)
    approved = None
    if tool.approved_version is not None:
        approved = await tool_store.get_version(db, tool.id, tool.approved_version)
    modules = {module: "default" for module in version.content.modules if module in default_modules}
    modules.update(await _subject_status(db, RequestKind.MODULE, tool.server))
    hosts = await _subject_status(db, RequestKind.HOST, tool.server)
    return ToolReview(tool, version, approved, modules, hosts)


async def review_lines(db: Database, ref: str, *, default_modules: frozenset[str] = frozenset()) -> list[str]:
    """The text ``mcpbox approvals show REF`` prints; ``NotFound``/``InvalidInput`` for a bad ref."""
    kind, item_id = parse_ref(ref)
    if kind is PendingKind.TOOL:
        return (await tool_review(db, item_id, default_modules=default_modules)).lines()
    return request_lines(await request_store.get_request(db, RequestKind(kind.value), item_id))


def resolve_hash(current: str, given: str | None) -> str:
    """The hash to bind a tool decision to: what the owner reviewed, else the current one.

    A prefix that matches the current hash stands for it; one that does not is passed on as is,
    so the service's conditional UPDATE refuses it and says what the tool looks like now.
    """
    if given is None:
        return current
    text = given.strip().lower()
    if len(text) < 8 or any(char not in "0123456789abcdef" for char in text):
        raise InvalidInput(
            "--hash takes the content hash (at least its first 8 hex digits) that show printed"
        )
    return current if current.startswith(text) else text
