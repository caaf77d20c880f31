"""The reference: the official MCP SDK (mcp 2.3.0) ``MCPServer`` with an in-process ``echo`` tool.

Served the way the SDK means to be served over HTTP: its Streamable HTTP ASGI app
(``MCPServer.streamable_http_app``, whose Starlette lifespan runs the session manager) under
hypercorn. ``--mode`` picks the transport options the SDK offers:

* ``stateless-json`` (``stateless_http=True, json_response=True``): no session bookkeeping and no
  SSE framing; the SDK's fastest mode and the default baseline;
* ``stateful-json``: sessions kept (each session is one long-lived server task), JSON responses;
* ``stateful-sse``: the SDK defaults (what ``mcp.run(transport="streamable-http")`` serves).

``--with-logging`` also answers ``logging/setLevel`` (so the server declares ``logging``): the
conformance runner uses that to validate its ``logging-set-level`` scenario on the reference.

Run: ``python -m tests.bench.sdk_server --port 8002 [--mode stateless-json] [--worker-class uvloop]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import mcp_types
from mcp.server.mcpserver import MCPServer

from tests.bench import serving

MODES = ("stateless-json", "stateful-json", "stateful-sse")


def create_app(mode: str, with_logging: bool = False) -> Any:
    server: MCPServer[Any] = MCPServer("bench-sdk", log_level="WARNING")

    @server.tool(description="Echo the message back.")
    def echo(message: str) -> str:
        return message

    if with_logging:

        async def set_level(ctx: Any, params: mcp_types.SetLevelRequestParams) -> mcp_types.EmptyResult:
            return mcp_types.EmptyResult()

        # MCPServer has no public hook for logging/setLevel; the low-level server it wraps does.
        server._lowlevel_server.add_request_handler(
            "logging/setLevel", mcp_types.SetLevelRequestParams, set_level
        )

    return server.streamable_http_app(
        stateless_http=mode == "stateless-json",
        json_response=mode != "stateful-sse",
        host="127.0.0.1",
    )


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default="stateless-json")
    parser.add_argument("--with-logging", action="store_true", help="answer logging/setLevel")


def main() -> None:
    args = serving.parse_args("Official MCP SDK server with an echo tool (bench reference).", _add_options)
    serving.run(create_app(args.mode, args.with_logging), args.port, args.worker_class)


if __name__ == "__main__":
    main()
