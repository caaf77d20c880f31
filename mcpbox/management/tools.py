"""The full set of built-in management tools, assembled in one place."""

from __future__ import annotations

from mcpbox.management.code import CODE_TOOLS
from mcpbox.management.registry import ManagementRegistry
from mcpbox.management.secrets import SECRET_TOOLS
from mcpbox.management.servers import SERVER_TOOLS


def build_registry() -> ManagementRegistry:
    return ManagementRegistry((*SERVER_TOOLS, *SECRET_TOOLS, *CODE_TOOLS))
