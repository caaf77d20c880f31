"""``mcpbox db`` (schema migrations) and ``mcpbox keys`` (the secret store's keys)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mcpbox.errors import (
    MCPBoxError,
)

if TYPE_CHECKING:
    pass


from mcpbox.cli.common import (
    common_options,
    fail,
    load_config,
)


@click.group()
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


@click.group()
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
    click.echo(
        f"new active key {result.new_key_id}; {result.reencrypted} secret(s) re-encrypted; "
        f"key file holds {', '.join(result.key_ids)}"
        + (f"; dropped {', '.join(result.dropped_key_ids)}" if result.dropped_key_ids else "")
    )
    click.echo("restart a running mcpbox serve so it reads the new key file", err=True)
