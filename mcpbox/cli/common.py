"""What every ``mcpbox`` command shares: error-to-exit-code mapping, config loading, options.

The CLI is the only place that prints or exits. A startup failure is one line on stderr and exit
code 3 (as uvicorn does); any other mcpbox error is one line and exit code 1. Heavy imports
happen inside commands so ``mcpbox --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

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
    from mcpbox.activity.events import ActivityEvent
    from mcpbox.approvals.hooks import Hooks
    from mcpbox.db.engine import Database

EXIT_ERROR = 1
EXIT_STARTUP_FAILURE = 3
STARTUP_ERRORS = (ConfigError, StartupError, CryptoError, StorageError, MigrationError)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
QUEUE_SHOWN_MAX = 10_000  # `approvals list` shows the whole queue; this only bounds a runaway table


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


def cli_actor() -> str:
    """Who the activity log names for a CLI action: the OS account that ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers running under an arbitrary uid)
        user = f"uid{os.getuid()}"
    return f"cli:{user}"


def run_async(work: Coroutine[Any, Any, T], *, failure: str = "") -> T:
    """Run one command's async work; any mcpbox error is one line on stderr and exit code 1."""
    try:
        return asyncio.run(work)
    except MCPBoxError as exc:
        fail(f"{failure}{exc}")


@asynccontextmanager
async def open_data(config: Config) -> AsyncIterator[tuple[Database, Hooks]]:
    """The database of a data dir, possibly in use by a running ``mcpbox serve``, and CLI hooks.

    Services emit events through the hooks; they are written to the activity log when the work
    ends, also when it failed partway (a refused package install is worth an audit line). The
    running server needs no signal: its catalog watcher polls a fingerprint of these tables and
    tells connected clients when the tool list changed.
    """
    from mcpbox.approvals.hooks import Hooks
    from mcpbox.db import activity_store, migrate
    from mcpbox.db.engine import open_database
    from mcpbox.state import prepare_data_dir

    prepare_data_dir(config)
    await migrate.upgrade_if_needed_async(config)
    database = await open_database(config)
    events: list[ActivityEvent] = []

    def record(event: ActivityEvent) -> None:
        events.append(event)
        if event.name == "package.progress" and event.detail:
            click.echo(f"  {event.detail.get('message', '')}", err=True)

    try:
        yield (
            database,
            Hooks(record=record, exposure_changed=lambda: None, allowlists_changed=lambda _s: None),
        )
    finally:
        try:
            await activity_store.insert_many(database, events)
        finally:
            await database.close()
