"""mcpbox: a self-hosted, self-extending MCP server for a homelab.

Importing this package must stay free of side effects: the sandbox zygote imports
``mcpbox.sandbox.worker`` under ``python -I`` and must not pull in the server.
"""

__version__ = "0.1.0"
