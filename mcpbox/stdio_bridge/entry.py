"""Process-level wiring: argument parsing and the stdout guard around ``run_stdio_bridge``.

``run`` is what a command-line front end calls. It takes the real stdout for JSON-RPC and then
points ``sys.stdout`` at stderr, so a stray ``print`` or a library's chatter can never corrupt
the protocol stream.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Final

import anyio

from mcpbox.stdio_bridge.bridge import EXIT_FATAL, run_stdio_bridge

DEFAULT_URL: Final = "http://127.0.0.1:8000/mcp"


def run(url: str, token: str | None) -> int:
    """Run the bridge on this process's stdin/stdout/stderr; returns the exit code."""
    stdin, stdout, stderr = sys.stdin.buffer, sys.stdout.buffer, sys.stderr
    sys.stdout = sys.stderr
    try:
        return anyio.run(partial(run_stdio_bridge, url, token, stdin, stdout, stderr))
    except KeyboardInterrupt:
        return EXIT_FATAL


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """``python -m mcpbox.stdio_bridge [--url URL] [--token TOKEN]``; env MCPBOX_URL, MCPBOX_TOKEN.

    The environment is passed in by ``__main__`` (the entry point), never read here, as for the CLI.
    """
    env = environ or {}
    parser = argparse.ArgumentParser(
        prog="mcpbox stdio",
        description="Bridge an MCP stdio client to a running mcpbox gateway over Streamable HTTP.",
    )
    parser.add_argument(
        "--url",
        default=env.get("MCPBOX_URL") or DEFAULT_URL,
        help=f"gateway MCP endpoint (env MCPBOX_URL, default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token",
        default=env.get("MCPBOX_TOKEN") or None,
        help="bearer token for the gateway (env MCPBOX_TOKEN; prefer the variable: argv is visible to ps)",
    )
    args = parser.parse_args(argv)
    return run(args.url, args.token)
