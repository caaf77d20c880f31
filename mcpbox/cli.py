"""The ``mcpbox`` command line: the only module that prints or exits.

Errors are mapped here, once: a startup failure is one line on stderr and exit code 3 (as uvicorn
does), any other mcpbox error is one line and exit code 1. Heavy imports happen inside commands so
``mcpbox --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from mcpbox import __version__
from mcpbox.config import Config
from mcpbox.errors import (
    ConfigError,
    CryptoError,
    MCPBoxError,
    MigrationError,
    StartupError,
    StorageError,
)

if TYPE_CHECKING:
    from mcpbox.state import AppState

EXIT_ERROR = 1
EXIT_STARTUP_FAILURE = 3
STARTUP_ERRORS = (ConfigError, StartupError, CryptoError, StorageError, MigrationError)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"mcpbox: {message}", err=True)
    sys.exit(code)


def load_config(overrides: Mapping[str, object], config_file: Path | None) -> Config:
    try:
        return Config.load(environ=os.environ, file=config_file, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc), EXIT_STARTUP_FAILURE)


def common_options(func: F) -> F:
    """Options every command that touches the data dir accepts."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="TOML config file (also MCPBOX_CONFIG).",
    )(func)
    func = click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Data directory (also MCPBOX_DATA_DIR; default ~/.local/share/mcpbox).",
    )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mcpbox")
def main() -> None:
    """mcpbox: a self-hosted, self-extending MCP server for your homelab."""


@main.command()
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
    """Run the MCP gateway (/mcp), health and metrics on one port."""
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


@main.command()
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


@main.command()
@common_options
def check(config_file: Path | None, data_dir: Path | None) -> None:
    """Doctor: configuration, key file, database, migrations and sandbox isolation layers."""
    from mcpbox.doctor import run_checks

    config = load_config({"data_dir": data_dir}, config_file)
    report = asyncio.run(run_checks(config))
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else EXIT_ERROR)


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@common_options
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(config_file: Path | None, data_dir: Path | None, revision: str) -> None:
    """Upgrade the schema (mcpbox serve does this to head on start)."""
    from mcpbox.db import migrate
    from mcpbox.state import prepare_data_dir

    config = load_config({"data_dir": data_dir}, config_file)
    try:
        prepare_data_dir(config)
        migrate.upgrade(config, revision)
        click.echo(f"database at revision {migrate.current(config)}")
    except MCPBoxError as exc:
        fail(str(exc))


@db.command("downgrade")
@common_options
@click.argument("revision")
def db_downgrade(config_file: Path | None, data_dir: Path | None, revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. 'base' or '-1'). Back up first."""
    from mcpbox.db import migrate

    config = load_config({"data_dir": data_dir}, config_file)
    try:
        migrate.downgrade(config, revision)
        click.echo(f"database at revision {migrate.current(config) or 'base'}")
    except MCPBoxError as exc:
        fail(str(exc))


@db.command("current")
@common_options
def db_current(config_file: Path | None, data_dir: Path | None) -> None:
    """Print the schema revision of the database and the newest one this version knows."""
    from mcpbox.db import migrate

    config = load_config({"data_dir": data_dir}, config_file)
    try:
        click.echo(f"current: {migrate.current(config) or 'none (empty database)'}")
        click.echo(f"head:    {migrate.head()}")
    except MCPBoxError as exc:
        fail(str(exc))


@main.group()
def keys() -> None:
    """Encryption keys of the secret store."""


@keys.command("rotate")
@common_options
def keys_rotate(config_file: Path | None, data_dir: Path | None) -> None:
    """Add a new key, make it active and re-encrypt every secret in one transaction."""
    from mcpbox.db.key_rotation import rotate_keys

    config = load_config({"data_dir": data_dir}, config_file)
    try:
        result = asyncio.run(rotate_keys(config))
    except MCPBoxError as exc:
        fail(str(exc))
    click.echo(str(result))


@main.command()
def version() -> None:
    """Print the mcpbox version."""
    click.echo(f"mcpbox {__version__}")
