"""``mcpbox serve``, ``stdio`` and ``check``: running the server and looking at it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mcpbox import __version__
from mcpbox.errors import (
    MCPBoxError,
)

if TYPE_CHECKING:
    from mcpbox.state import AppState


from mcpbox.cli.common import (
    EXIT_ERROR,
    EXIT_STARTUP_FAILURE,
    STARTUP_ERRORS,
    common_options,
    fail,
    load_config,
)


@click.command()
@common_options
@click.option("--host", help="Bind address (also MCPBOX_HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (also MCPBOX_PORT; default 8000).")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Log level (also MCPBOX_LOG_LEVEL).",
)
def serve(
    config_file: Path | None, data_dir: Path | None, host: str | None, port: int | None, log_level: str | None
) -> None:
    """Run mcpbox: the MCP gateway (/mcp), admin UI and API, health and metrics on one port."""
    config = load_config(
        {"host": host, "port": port, "data_dir": data_dir, "log_level": log_level}, config_file
    )
    from mcpbox.app import create_app
    from mcpbox.observability.logging import configure_logging
    from mcpbox.server import run

    configure_logging(config.log_level, access_log=config.access_log)
    try:
        run(
            config,
            lambda on_fatal: create_app(config, on_ready=print_banner, on_fatal=on_fatal, tune_gc=True),
            loop_factory=_loop_factory(),
        )
    except STARTUP_ERRORS as exc:
        fail(str(exc), EXIT_STARTUP_FAILURE)
    except MCPBoxError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvloop is a pinned dependency; absent only on unusual platforms
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def print_banner(state: AppState) -> None:
    config = state.config
    base = config.base_url
    lines = [
        f"mcpbox {__version__} is ready",
        f"  MCP endpoint:   {base}/mcp",
        f"  Admin UI:       {base}/admin/",
        f"  Health:         {base}/health/ready",
        f"  Data directory: {config.data_dir}",
    ]
    if state.setup_token:
        hours = config.setup_token_ttl_seconds // 3600
        lines += [
            f"  One-time admin setup token (expires in {hours} h, shown only now):",
            f"    {base}/admin/setup?token={state.setup_token}",
        ]
    if not config.is_loopback_bind:
        lines.append(f"  WARNING: listening on {config.host}, not loopback; put it behind auth/TLS.")
    click.echo("\n".join(lines), err=True)


@click.command()
@click.option(
    "--url",
    envvar="MCPBOX_URL",
    default="http://127.0.0.1:8000/mcp",
    show_default=True,
    help="URL of the running gateway (also MCPBOX_URL).",
)
@click.option("--token", envvar="MCPBOX_TOKEN", help="Bearer token for the gateway (also MCPBOX_TOKEN).")
def stdio(url: str, token: str | None) -> None:
    """Bridge MCP over stdin/stdout to a running gateway (for stdio-only clients)."""
    from mcpbox.stdio_bridge import run as run_bridge

    sys.exit(run_bridge(url, token))


@click.command()
@common_options
def check(config_file: Path | None, data_dir: Path | None) -> None:
    """Doctor: configuration, key file, database, migrations and sandbox isolation layers."""
    from mcpbox.doctor import run_checks

    config = load_config({"data_dir": data_dir}, config_file)
    report = asyncio.run(run_checks(config))
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else EXIT_ERROR)
