"""Management tools that tell an LLM how its tool is doing: review state and execution logs.

The owner decides out of band (admin UI or CLI), so the LLM learns the outcome only by asking:
``mcpbox_get_tool_status`` shows the decision with the owner's reason (a rejection says what to
change) and whether clients can call the tool, or the gateway's own reason why not. Execution
logs show what each call and test run did, with secrets already redacted when they were written.
"""

from __future__ import annotations

from typing import Any

from mcpbox.db import execution_log_store, server_store, tool_store
from mcpbox.db.execution_log_store import ExecutionLogRecord
from mcpbox.db.models import ToolStatus
from mcpbox.management.context import ManagementContext, page_fields
from mcpbox.management.registry import ManagementTool, management_tool
from mcpbox.management.servers import PAGE, PAGE_SIZE, SERVER_NAME, iso
from mcpbox.management.tool_authoring import TOOL_NAME
from mcpbox.management.tool_views import capabilities, exposure_of, next_step_for, require_server
from mcpbox.tools.exposure import exposed_name


@management_tool(
    name="mcpbox_get_tool_status",
    title="Get a tool's review status",
    description="Where a tool stands: its state, current and approved versions, who asked for review and "
    "who decided, the owner's reason (read it after a rejection), whether clients can call it and "
    "under which name (or why not), and the modules and hosts it still lacks.",
    properties={"server": SERVER_NAME, "name": TOOL_NAME},
    required=["server", "name"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def get_tool_status(ctx: ManagementContext, args: dict[str, Any]) -> object:
    tool = await tool_store.get_tool(ctx.database, args["server"], args["name"])
    server = await server_store.get_server(ctx.database, tool.server)
    version = await tool_store.get_version(ctx.database, tool.id, tool.current_version)
    exposed, why_not = await exposure_of(ctx.database, tool)
    return {
        "server": tool.server,
        "name": tool.name,
        "ref": f"tool:{tool.id}",
        "status": tool.status.value,
        "enabled": tool.enabled,
        "server_status": server.status,
        "current_version": tool.current_version,
        "current_hash": tool.current_hash,
        "approved_version": tool.approved_version,
        "review_requested_by": tool.review_requested_by,
        "review_requested_at": iso(tool.review_requested_at),
        "decided_by": tool.decided_by,
        "decided_at": iso(tool.decided_at),
        "decision_reason": tool.decision_reason,
        "rejection_reason": tool.decision_reason if tool.status is ToolStatus.REJECTED else None,
        "exposed": exposed,
        "exposed_name": exposed_name(tool.server, tool.name) if exposed else None,
        "not_exposed_because": why_not,
        "requests": await capabilities(
            ctx.database, tool.server, version.content.modules, version.content.hosts
        ),
        "next_step": next_step_for(tool, exposed=exposed, why_not=why_not),
    }


def _log_json(entry: ExecutionLogRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "server": entry.server,
        "tool": entry.tool,
        "version": entry.version,
        "content_hash": entry.content_hash,
        "kind": entry.kind,
        "outcome": entry.outcome,
        "duration_ms": entry.duration_ms,
        "arguments": entry.arguments,
        "result_summary": entry.result_summary,
        "stdout": entry.stdout,
        "error": entry.error,
        "egress": entry.egress,
        "requested_by": entry.requested_by,
    }


@management_tool(
    name="mcpbox_get_tool_logs",
    title="Get execution logs",
    description="Execution logs of a server's tools, newest first (paged): published calls and test runs "
    "with arguments, result summary, printed output, error, duration and every HTTP request attempted. "
    "Pass `tool` for one tool and `kind` for only calls or only test runs. Logs are written in "
    "batches, so the newest run may take a second to appear.",
    properties={
        "server": SERVER_NAME,
        "tool": TOOL_NAME,
        "kind": {"type": "string", "enum": ["call", "test"], "description": "call or test runs only."},
        "page": PAGE,
        "page_size": PAGE_SIZE,
    },
    required=["server"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def get_tool_logs(ctx: ManagementContext, args: dict[str, Any]) -> object:
    # Logs outlive deleted tools, so only the server must exist.
    await require_server(ctx.database, args["server"])
    size = ctx.page_size(args.get("page_size"))
    page = args["page"]
    entries, total = await execution_log_store.list_execution_logs(
        ctx.database,
        server=args["server"],
        tool=args.get("tool"),
        kind=args.get("kind"),
        offset=(page - 1) * size,
        limit=size,
    )
    return {
        "server": args["server"],
        "tool": args.get("tool"),
        "logs": [_log_json(entry) for entry in entries],
        **page_fields(page, size, total),
    }


TOOL_STATUS_TOOLS: tuple[ManagementTool, ...] = (get_tool_status, get_tool_logs)
