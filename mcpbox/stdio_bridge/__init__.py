"""``mcpbox stdio``: MCP over stdin/stdout for clients that only launch local commands.

Claude Desktop reads local servers from its config file as commands to spawn, and cannot reach
``http://127.0.0.1:8000/mcp`` itself (its remote connectors are brokered by Anthropic's cloud).
This bridge is that command: it speaks the MCP stdio transport (newline-delimited JSON-RPC) to the
client and handshake-era Streamable HTTP to a running ``mcpbox serve``. It sits at the app layer
and uses only the standard library, httpx and anyio, so it never touches the gateway or the
database directly: everything goes through ``/mcp`` exactly as for any other client.

Entry points: ``run_stdio_bridge`` (async, for the CLI) and ``main`` (``python -m
mcpbox.stdio_bridge``, usable before and besides the CLI).
"""

from __future__ import annotations

from mcpbox.stdio_bridge.bridge import run_stdio_bridge
from mcpbox.stdio_bridge.entry import DEFAULT_URL, main, run

__all__ = ["DEFAULT_URL", "main", "run", "run_stdio_bridge"]
