"""What the gateway sees of tools: descriptors to list, one entry point to call.

The gateway never knows whether a tool is a built-in ``mcpbox_*`` management tool or a published
user tool; it talks to a ``ToolCatalog``. Later issues add published tools behind the same
interface without touching the gateway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: recorded on everything they create and used for remote-only rules."""

    identity: str  # "local", "token:<name>" or "jwt:<subject>"
    remote: bool = False
    client_name: str | None = None
    session_id: str | None = None


LOCAL_CALLER = Caller(identity="local")


@dataclass(frozen=True, slots=True)
class ToolAnnotations:
    """MCP tool annotations: hints for the client, not guarantees (the server enforces rules)."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool

    def to_mcp(self, title: str) -> JSONObject:
        return {
            "title": title,
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }


@dataclass(frozen=True, slots=True)
class ToolDescriptor:
    name: str
    title: str
    description: str
    input_schema: Mapping[str, Any]
    annotations: ToolAnnotations
    output_schema: Mapping[str, Any] | None = None

    def to_mcp(self) -> JSONObject:
        item: JSONObject = {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": dict(self.input_schema),
            "annotations": self.annotations.to_mcp(self.title),
        }
        if self.output_schema is not None:
            item["outputSchema"] = dict(self.output_schema)
        return item


@dataclass(frozen=True, slots=True)
class ToolCallResult:
    """An MCP ``CallToolResult``: text content, optional structured content, error flag."""

    content: list[JSONObject] = field(default_factory=list)
    structured: JSONObject | None = None
    is_error: bool = False

    @classmethod
    def from_value(cls, value: object) -> ToolCallResult:
        """A ``str`` is one text item; anything else is its JSON text (+ structuredContent for objects)."""
        if isinstance(value, str):
            return cls(content=[{"type": "text", "text": value}])
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        structured = value if isinstance(value, dict) else None
        return cls(content=[{"type": "text", "text": text}], structured=structured)

    @classmethod
    def error(cls, message: str) -> ToolCallResult:
        return cls(content=[{"type": "text", "text": message}], is_error=True)

    def to_mcp(self) -> JSONObject:
        result: JSONObject = {"content": self.content, "isError": self.is_error}
        if self.structured is not None:
            result["structuredContent"] = self.structured
        return result


class ToolCatalog(Protocol):
    """The gateway's view of every callable tool.

    ``call_tool`` raises ``errors.NotFound`` for a name that is not listed *for this caller right
    now* (the check runs at call time, not only at list time). Failures of the tool itself come
    back as a result with ``is_error=True`` and a message that helps the LLM, never as an
    exception. Cancelling the calling task cancels the call (and kills its sandbox worker).
    """

    async def list_tools(self, caller: Caller) -> Sequence[ToolDescriptor]: ...

    async def call_tool(self, name: str, arguments: Mapping[str, Any], caller: Caller) -> ToolCallResult: ...
