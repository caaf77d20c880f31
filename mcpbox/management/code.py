"""Management tools that run code: validate it against the sandbox policy, or test-run it.

Both run in a one-shot sandbox worker, never in the server process: parsing and compiling
untrusted code is itself attack surface. Results, output and the egress a run attempted go back
to the LLM so it can fix its code; violations carry line numbers.
"""

from __future__ import annotations

from typing import Any

from mcpbox.db import tool_store
from mcpbox.db.models import TOOL_NAME_PATTERN
from mcpbox.errors import InvalidInput
from mcpbox.management.context import ManagementContext
from mcpbox.management.registry import ManagementTool, management_tool
from mcpbox.management.servers import SERVER_NAME
from mcpbox.sandbox.worker.contract import validate_arguments

CODE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1_000_000,
    "description": "Python source with exactly one top-level `main` (def or async def). Injected names: "
    "`http` (async client), `secrets` (read-only mapping), `arguments`.",
}
OPTIONAL_SERVER = {
    **SERVER_NAME,
    "description": "Run as this server: its secrets, approved hosts and approved modules apply.",
}


@management_tool(
    name="mcpbox_validate_code",
    title="Validate tool code",
    description="Check Python tool code against the sandbox policy without running it. Reports every "
    "violation with its line number, and the input schema derived from main()'s signature and "
    "docstring.",
    properties={"code": CODE, "server": OPTIONAL_SERVER},
    required=["code"],
    read_only=True,
    destructive=False,
    idempotent=True,
)
async def validate_code(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if "server" in args:
        await ctx.runner.context_for(args["server"])  # NotFound for an unknown server
        modules = await ctx.runner.modules_for(args["server"])
    else:
        modules = None
    result = await ctx.pool.validate(args["code"], allowed_modules=modules)
    return {
        "valid": result.ok,
        "violations": [
            {"line": violation.line, "column": violation.column, "message": violation.message}
            for violation in result.violations
        ],
        "input_schema": result.input_schema,
        "description": result.description,
    }


@management_tool(
    name="mcpbox_test_code",
    title="Test-run tool code",
    description="Run Python tool code once in a fresh sandbox worker with the given arguments and return "
    "its result, printed output, duration and every HTTP request it attempted (allowed or refused). "
    "Nothing survives the run. Pass either `code` (any source) or `tool` with `server` (that saved "
    "tool's current version, draft included; arguments are checked against its schema). `server` "
    "also gives the run that server's secrets, approved hosts and approved modules.",
    properties={
        "code": CODE,
        "tool": {
            "type": "string",
            "pattern": f"^{TOOL_NAME_PATTERN}$",
            "description": "Name of a saved tool of `server` to run instead of `code`.",
        },
        "arguments": {"type": "object", "default": {}, "description": "Arguments for main()."},
        "server": OPTIONAL_SERVER,
    },
    read_only=False,
    destructive=False,
    idempotent=False,
    open_world=True,
)
async def test_code(ctx: ManagementContext, args: dict[str, Any]) -> object:
    if ("code" in args) == ("tool" in args):
        raise InvalidInput("pass either `code` (source to run) or `tool` (a saved tool's name), not both")
    if "code" in args:
        report = await ctx.runner.test_run(
            args["code"], args["arguments"], server=args.get("server"), requested_by=ctx.caller.identity
        )
        return report.to_json()
    if "server" not in args:
        raise InvalidInput("`tool` needs `server`: the server the tool belongs to")
    tool = await tool_store.get_tool(ctx.database, args["server"], args["tool"])
    version = await tool_store.get_version(ctx.database, tool.id, tool.current_version)
    # The same check a published call gets, so a test cannot pass with arguments clients can't send.
    problems = validate_arguments(version.content.input_schema, args["arguments"])
    if problems:
        raise InvalidInput(
            f"invalid arguments for {tool.name} (version {version.number}): " + "; ".join(problems)
        )
    report = await ctx.runner.test_run(
        version.content.code,
        args["arguments"],
        server=tool.server,
        requested_by=ctx.caller.identity,
        tool=tool.name,
        version=version.number,
        content_hash=version.content_hash,
    )
    return {
        "tool": tool.name,
        "version": version.number,
        "content_hash": version.content_hash,
        **report.to_json(),
    }


CODE_TOOLS: tuple[ManagementTool, ...] = (validate_code, test_code)
