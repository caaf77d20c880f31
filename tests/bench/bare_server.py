"""The floor: a bare Starlette JSON-RPC endpoint under hypercorn with one ``echo`` tool.

It does the least a handshake-era MCP server must do on the hot path (parse the JSON-RPC body,
look the session up, answer a minimal ``CallToolResult`` as ``application/json``) and nothing
else: no validation, no logging, no database. Whatever mcpbox spends above this is its own.

Run: ``python -m tests.bench.bare_server --port 8001 [--worker-class uvloop]``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.bench import serving

PROTOCOL_VERSION = "2025-11-25"
ECHO_TOOL = {
    "name": "echo",
    "description": "Echo the message back.",
    "inputSchema": {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    },
}


def _reply(request_id: Any, result: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result}, headers=headers)


def _error(request_id: Any, code: int, message: str, status: int) -> Response:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status)


async def mcp_endpoint(request: Request) -> Response:
    sessions: set[str] = request.app.state.sessions
    try:
        message = json.loads(await request.body())
    except ValueError:
        return _error(None, -32700, "Parse error", 400)
    method = message.get("method")
    request_id = message.get("id")
    if method == "initialize":
        session_id = uuid.uuid4().hex
        sessions.add(session_id)
        result = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "bench-bare", "version": "0"},
        }
        return _reply(request_id, result, {"mcp-session-id": session_id})
    if request.headers.get("mcp-session-id") not in sessions:
        return _error(request_id, -32600, "Session not found", 404)
    if "id" not in message:
        return Response(status_code=202)
    if method == "tools/call":
        text = message["params"]["arguments"]["message"]
        return _reply(request_id, {"content": [{"type": "text", "text": text}], "isError": False})
    if method == "tools/list":
        return _reply(request_id, {"tools": [ECHO_TOOL]})
    if method == "ping":
        return _reply(request_id, {})
    return _error(request_id, -32601, "Method not found", 404)


def create_app() -> Starlette:
    app = Starlette(routes=[Route("/mcp", mcp_endpoint, methods=["POST"])])
    app.state.sessions = set()
    return app


def main() -> None:
    args = serving.parse_args("Bare Starlette JSON-RPC echo server (bench floor).")
    serving.run(create_app(), args.port, args.worker_class)


if __name__ == "__main__":
    main()
