"""The full set of built-in management tools, assembled in one place."""

from __future__ import annotations

from mcpbox.management.code import CODE_TOOLS
from mcpbox.management.registry import ManagementRegistry
from mcpbox.management.requests import REQUEST_TOOLS
from mcpbox.management.secrets import SECRET_TOOLS
from mcpbox.management.servers import SERVER_TOOLS
from mcpbox.management.tool_authoring import TOOL_AUTHORING_TOOLS
from mcpbox.management.tool_status import TOOL_STATUS_TOOLS


def build_registry() -> ManagementRegistry:
    return ManagementRegistry(
        (
            *SERVER_TOOLS,
            *SECRET_TOOLS,
            *CODE_TOOLS,
            *TOOL_AUTHORING_TOOLS,
            *TOOL_STATUS_TOOLS,
            *REQUEST_TOOLS,
        )
    )
