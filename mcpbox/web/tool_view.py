"""A tool as the owner reviews it (UI and API): code, diff, schema, needs, versions, test runs.

``tool_detail`` gathers what the tool page and ``GET /api/servers/{name}/tools/{tool}`` show:
the current version with line numbers, a side-by-side diff against the last approved version,
the modules and hosts it asks for with their approval state, and a page of versions. The two
actions here are the owner's: roll back to an earlier version (through the lifecycle, so an
earlier approved content is approved again by policy) and a test run of the current version in
a one-shot sandbox worker, with the egress it attempted. Both are recorded under the admin's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.db import execution_log_store, request_store, server_store, tool_store
from mcpbox.db.execution_log_store import ExecutionLogRecord
from mcpbox.db.models import RequestStatus, Server
from mcpbox.db.request_store import RequestKind
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.errors import InvalidInput, NotFound
from mcpbox.management.arguments import validate_arguments
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.state import AppState
from mcpbox.tools import lifecycle
from mcpbox.tools.execution import RunReport
from mcpbox.tools.exposure import exposed_name, get_exposed_tool
from mcpbox.web.diff_view import DiffRow, FieldChange, field_changes, numbered_lines, side_by_side
from mcpbox.web.operations import Page, page_window

ARGUMENTS_MAX_CHARS = 64 * 1024
RECENT_RUNS = 10
TEST_RUN_EVENT = "tool.test_run"


@dataclass(frozen=True, slots=True)
class Need:
    """A module or host the version uses, and where its approval stands."""

    name: str
    state: str  # default | approved | pending | not requested
    ref: str | None = None  # the pending request, to approve from the queue


@dataclass(frozen=True, slots=True)
class ToolDetail:
    server: Server
    tool: ToolInfo
    version: VersionInfo  # the current one
    approved: VersionInfo | None  # the last approved version (what the diff is against)
    diff: list[DiffRow]
    changes: list[FieldChange]
    code_lines: list[tuple[int, str]]
    modules: list[Need]
    hosts: list[Need]
    versions: Page[VersionInfo]
    exposed: bool
    not_exposed_because: str | None
    recent_runs: list[ExecutionLogRecord]

    @property
    def ref(self) -> str:
        return f"tool:{self.tool.id}"

    @property
    def exposed_name(self) -> str:
        return exposed_name(self.tool.server, self.tool.name)

    @property
    def schema_text(self) -> str:
        return json.dumps(self.version.content.input_schema, indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def pending(self) -> bool:
        return self.tool.status.value == "pending_review"


async def tool_detail(
    state: AppState, server: str, name: str, page: int | None = None, page_size: int | None = None
) -> ToolDetail:
    db = state.database
    found_server = await server_store.get_server(db, server)
    tool = await tool_store.get_tool(db, found_server.name, name)
    version = await tool_store.get_version(db, tool.id, tool.current_version)
    approved = None
    if tool.approved_version is not None:
        approved = await tool_store.get_version(db, tool.id, tool.approved_version)
    diff: list[DiffRow] = []
    changes: list[FieldChange] = []
    if approved is not None and approved.content_hash != version.content_hash:
        diff = side_by_side(approved.content.code, version.content.code)
        changes = field_changes(approved.content, version.content)
    number, size = page_window(page, page_size, state.config.page_size_max)
    items, total = await tool_store.list_versions(db, tool.id, offset=(number - 1) * size, limit=size)
    try:
        await get_exposed_tool(db, exposed_name(tool.server, tool.name))
        exposed, why_not = True, None
    except NotFound as exc:
        exposed, why_not = False, exc.public_message
    runs, _ = await execution_log_store.list_execution_logs(
        db, server=tool.server, tool=tool.name, limit=RECENT_RUNS
    )
    return ToolDetail(
        server=found_server,
        tool=tool,
        version=version,
        approved=approved,
        diff=diff,
        changes=changes,
        code_lines=numbered_lines(version.content.code),
        modules=await _needs(state, RequestKind.MODULE, tool.server, version.content.modules),
        hosts=await _needs(state, RequestKind.HOST, tool.server, version.content.hosts),
        versions=Page(items=items, total=total, page=number, page_size=size),
        exposed=exposed,
        not_exposed_because=why_not,
        recent_runs=runs,
    )


async def _needs(state: AppState, kind: RequestKind, server: str, names: tuple[str, ...]) -> list[Need]:
    if not names:
        return []
    approved = await request_store.approved_subjects(state.database, kind, server)
    pending, _ = await request_store.list_requests(
        state.database, kind, server=server, status=RequestStatus.PENDING, limit=state.config.page_size_max
    )
    pending_refs = {request.subject: request.ref for request in pending}
    needs = []
    for name in names:
        if kind is RequestKind.MODULE and name in DEFAULT_MODULES:
            needs.append(Need(name, "default"))
        elif name in approved:
            needs.append(Need(name, "approved"))
        elif name in pending_refs:
            needs.append(Need(name, "pending", pending_refs[name]))
        else:
            needs.append(Need(name, "not requested"))
    return needs


async def rollback(
    state: AppState, actor: str, server: str, name: str, to_version: int, expected_hash: str | None
) -> ToolInfo:
    """A new version copying ``to_version``; approved at once if that content was approved before.

    ``Conflict`` if the tool changed since the owner looked (``expected_hash``) or the version
    has the current content. The lifecycle records ``tool.rolled_back`` under ``actor`` and
    signals the exposure change through ``state.hooks``.
    """
    tool, _version = await lifecycle.rollback_tool(
        state.database,
        server=server,
        name=name,
        to_version=to_version,
        requested_by=actor,
        hooks=state.hooks,
        expected_hash=expected_hash or None,
    )
    return tool


def parse_arguments(text: str) -> dict[str, Any]:
    """The test form's JSON textarea as an object; an empty box means ``{}``."""
    if len(text) > ARGUMENTS_MAX_CHARS:
        raise InvalidInput(f"arguments are longer than {ARGUMENTS_MAX_CHARS} characters")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"arguments are not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput('arguments must be a JSON object, e.g. {"city": "Oslo"}')
    return value


@dataclass(frozen=True, slots=True)
class TrialRun:
    version: VersionInfo
    arguments: dict[str, Any]
    report: RunReport

    @property
    def result_text(self) -> str:
        if self.report.result_is_text and isinstance(self.report.result, str):
            return self.report.result
        return json.dumps(self.report.result, indent=2, ensure_ascii=False, default=str)


async def trial_run(
    state: AppState, actor: str, server: str, name: str, arguments: dict[str, Any]
) -> TrialRun:
    """Run the current version once with ``arguments`` (checked against its schema, as a client's
    would be), with the server's secrets and allowlists. Logged as a test run; emits
    ``tool.test_run`` under ``actor``."""
    tool = await tool_store.get_tool(state.database, server, name)
    version = await tool_store.get_version(state.database, tool.id, tool.current_version)
    checked = validate_arguments(version.content.input_schema, arguments)
    report = await state.runner.test_run(
        version.content.code,
        checked,
        server=tool.server,
        requested_by=f"admin:{actor}",
        tool=tool.name,
        version=version.number,
        content_hash=version.content_hash,
    )
    state.observe(
        ActivityEvent(
            name=TEST_RUN_EVENT,
            actor=actor,
            server=tool.server,
            tool=tool.name,
            outcome=Outcome.OK if report.ok else Outcome.ERROR,
            duration_ms=report.duration_ms,
            detail={"version": version.number, "egress_attempts": len(report.egress)},
        )
    )
    return TrialRun(version=version, arguments=checked, report=report)
