"""The registry of built-in ``mcpbox_*`` management tools and the catalog that serves them.

Each tool is declared once (descriptor + handler) in a module of this package and registered in
``build_registry``; later issues add modules without touching the gateway. The catalog validates
arguments at the edge, enforces the remote-editing rule at call time, and turns every outcome
into an MCP result: JSON text plus ``structuredContent``, never a Python repr.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcpbox.errors import MCPBoxError, NotFound, PermissionDenied
from mcpbox.management.arguments import check_schema, validate_arguments
from mcpbox.management.catalog import Caller, ToolAnnotations, ToolCallResult, ToolDescriptor
from mcpbox.management.context import ManagementContext

logger = logging.getLogger(__name__)

Handler = Callable[[ManagementContext, dict[str, Any]], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class ManagementTool:
    descriptor: ToolDescriptor
    handler: Handler

    @property
    def name(self) -> str:
        return self.descriptor.name


def management_tool(
    *,
    name: str,
    title: str,
    description: str,
    properties: Mapping[str, Mapping[str, Any]] | None = None,
    required: Sequence[str] = (),
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    open_world: bool = False,
) -> Callable[[Handler], ManagementTool]:
    """Declare a management tool next to its handler; the schema is a closed JSON object."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key: dict(value) for key, value in (properties or {}).items()},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    check_schema(schema)
    descriptor = ToolDescriptor(
        name=name,
        title=title,
        description=description,
        input_schema=schema,
        annotations=ToolAnnotations(
            read_only=read_only, destructive=destructive, idempotent=idempotent, open_world=open_world
        ),
    )

    def wrap(handler: Handler) -> ManagementTool:
        return ManagementTool(descriptor=descriptor, handler=handler)

    return wrap


class ManagementRegistry:
    """Name → management tool, in declaration order."""

    def __init__(self, tools: Iterable[ManagementTool] = ()) -> None:
        self._tools: dict[str, ManagementTool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: ManagementTool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"management tool {tool.name} registered twice")
        self._tools[tool.name] = tool

    def find(self, name: str) -> ManagementTool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[ManagementTool]:
        return iter(self._tools.values())

    @property
    def descriptors(self) -> tuple[ToolDescriptor, ...]:
        return tuple(tool.descriptor for tool in self._tools.values())


ContextFactory = Callable[[Caller], ManagementContext]
RemoteEditingCheck = Callable[[], Awaitable[bool]]


class ManagementCatalog:
    """A ``ToolCatalog`` over the management registry."""

    def __init__(
        self,
        registry: ManagementRegistry,
        context_for: ContextFactory,
        remote_editing_allowed: RemoteEditingCheck,
    ) -> None:
        self._registry = registry
        self._context_for = context_for
        self._remote_editing_allowed = remote_editing_allowed
        self._descriptors = registry.descriptors

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]:
        return self._descriptors

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult:
        tool = self._registry.find(name)
        if tool is None:
            raise NotFound(f"unknown tool {name}", public_message=f"Unknown tool: {name}")
        try:
            if (
                caller.remote
                and tool.descriptor.annotations.destructive
                and not await self._remote_editing_allowed()
            ):
                raise PermissionDenied(
                    f"{name} changes or deletes data and remote callers may not use it; the owner "
                    "can allow it with the remote_tool_editing setting"
                )
            checked = validate_arguments(tool.descriptor.input_schema, arguments)
            value = await tool.handler(self._context_for(caller), checked)
        except MCPBoxError as exc:
            return ToolCallResult.error(exc.public_message)
        return ToolCallResult.from_value(value)
