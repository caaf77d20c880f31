"""The MCP gateway: the Streamable HTTP endpoint at ``/mcp`` for both protocol eras."""

from mcpbox.gateway.endpoint import CallerResolver, McpGateway

__all__ = ["CallerResolver", "McpGateway"]
