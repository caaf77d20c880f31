"""Published user tools as the gateway sees them, and the catalog that joins them to ``mcpbox_*``.

Listing and calling read the same in-memory snapshot, rebuilt whenever exposure changes, so a
tool that is no longer approved, enabled and on a running server is neither listed nor callable
— checked at call time, and the code that runs is exactly the approved version's. Arguments are
validated against the approved schema before the sandbox is touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcpbox.db.engine import Database
from mcpbox.management.catalog import Caller, ToolAnnotations, ToolCallResult, ToolCatalog, ToolDescriptor
from mcpbox.sandbox.worker.contract import validate_arguments
from mcpbox.tools.execution import ToolRunner
from mcpbox.tools.exposure import ExposedTool, get_exposed_tool
from mcpbox.tools.snapshot import CatalogCache, CatalogSnapshot

MANAGEMENT_PREFIX = "mcpbox_"


def describe(tool: ExposedTool) -> ToolDescriptor:
    # Hints only: a user tool's effects are unknown, so claim nothing reassuring.
    return ToolDescriptor(
        name=tool.exposed_name,
        title=f"{tool.tool} ({tool.server})",
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=ToolAnnotations(
            read_only=False, destructive=True, idempotent=False, open_world=bool(tool.hosts)
        ),
    )


class PublishedCatalog:
    def __init__(self, database: Database, cache: CatalogCache, runner: ToolRunner) -> None:
        self._database = database
        self._cache = cache
        self._runner = runner
        self._described: tuple[CatalogSnapshot, tuple[ToolDescriptor, ...]] | None = None

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]:
        snapshot = await self._cache.get()
        described = self._described
        if described is None or described[0] is not snapshot:
            described = (snapshot, tuple(describe(tool) for tool in snapshot.exposed.values()))
            self._described = described
        return described[1]

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult:
        exposed = (await self._cache.get()).exposed.get(name)
        if exposed is None:
            # Not in the snapshot: ask the store, which either explains why (NotFound with a
            # reason the LLM can act on) or has just seen it approved by another process.
            exposed = await get_exposed_tool(self._database, name)
            self._cache.invalidate()
        problems = validate_arguments(exposed.input_schema, dict(arguments))
        if problems:
            return ToolCallResult.error("invalid arguments: " + "; ".join(problems))
        report = await self._runner.published_call(exposed, arguments, requested_by=caller.identity)
        if not report.ok:
            return ToolCallResult.error(report.error or "the tool failed")
        return ToolCallResult.from_value(report.result)


class CombinedCatalog:
    """Management tools first, then published tools; a name is routed by its prefix."""

    def __init__(self, management: ToolCatalog, published: ToolCatalog) -> None:
        self._management = management
        self._published = published

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]:
        return [*await self._management.list_tools(caller), *await self._published.list_tools(caller)]

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult:
        if name.startswith(MANAGEMENT_PREFIX):
            return await self._management.call_tool(name, arguments, caller)
        return await self._published.call_tool(name, arguments, caller)
