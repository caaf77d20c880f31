"""``mcpbox secrets``: set a server's secret values (never as an argument) and list them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    pass


from mcpbox.cli.common import (
    cli_actor,
    common_options,
    fail,
    load_config,
    open_data,
    run_async,
)


@click.group()
def secrets() -> None:
    """Server secrets: an LLM declares them, only the owner sets their values."""


def read_secret_value() -> str:
    """The value from stdin: a hidden, confirmed prompt on a terminal, else the first line.

    Never from an argument: arguments end up in shell history and in ``ps`` output.
    """
    stdin = sys.stdin
    if stdin.isatty():
        value: str = click.prompt("Value", hide_input=True, confirmation_prompt=True)
    else:
        value = stdin.readline().rstrip("\r\n")
    if not value:
        fail("refusing an empty secret value; pipe the value on stdin or type it at the prompt")
    return value


@secrets.command("set")
@common_options
@click.argument("server")
@click.argument("key")
@click.option("--create", is_flag=True, help="Declare KEY first if the server does not have it yet.")
def secrets_set(config_file: Path | None, data_dir: Path | None, server: str, key: str, create: bool) -> None:
    """Set the value of secret KEY of SERVER, read from stdin (a hidden prompt on a terminal)."""
    from mcpbox.activity.events import ActivityEvent
    from mcpbox.db import secret_store
    from mcpbox.db.key_rotation import open_keyring
    from mcpbox.errors import InvalidInput, NotFound

    config = load_config({"data_dir": data_dir}, config_file)
    try:
        secret_store.check_secret_key(key)
    except InvalidInput as exc:
        fail(str(exc))
    value = read_secret_value()
    actor = cli_actor()

    async def work() -> bool:
        async with open_data(config) as (database, hooks):
            keyring = await open_keyring(config, database)
            declared = {item.key for item in await secret_store.list_secrets(database, server)}
            created = False
            if key not in declared:
                if not create:
                    raise NotFound(
                        f"server {server!r} has no secret {key!r}; pass --create to declare it, or let "
                        "the LLM declare it with mcpbox_create_server_secret"
                    )
                await secret_store.create_secret_placeholder(database, server, key, created_by=actor)
                created = True
            await secret_store.set_secret_value(database, server, key, value, keyring)
            hooks.record(
                ActivityEvent(
                    name="secret.set", actor=actor, server=server, detail={"key": key, "created": created}
                )
            )
            return created

    created = run_async(work())
    declared = " (declared now)" if created else ""
    click.echo(f"secret {key} of server {server} set{declared}; tools see it from their next call")


@secrets.command("list")
@common_options
@click.argument("server")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def secrets_list(config_file: Path | None, data_dir: Path | None, server: str, as_json: bool) -> None:
    """List the secrets of SERVER and whether each has a value (values are never shown)."""
    from mcpbox.approvals.cli_view import when
    from mcpbox.db import secret_store

    config = load_config({"data_dir": data_dir}, config_file)

    async def work() -> list[secret_store.SecretInfo]:
        async with open_data(config) as (database, _hooks):
            return await secret_store.list_secrets(database, server)

    found = run_async(work())
    rows: list[dict[str, Any]] = [
        {
            "key": item.key,
            "has_value": item.has_value,
            "description": item.description,
            "created_by": item.created_by,
            "updated_at": when(item.updated_at),
        }
        for item in found
    ]
    if as_json:
        click.echo(json.dumps({"server": server, "secrets": rows}, indent=2))
        return
    if not rows:
        click.echo(f"server {server} has no secrets; an LLM declares them with mcpbox_create_server_secret")
        return
    width = max(len(row["key"]) for row in rows)
    for row in rows:
        state = "set    " if row["has_value"] else "not set"
        click.echo(f"{row['key']:<{width}}  {state}  {row['updated_at']}  {row['description']}".rstrip())
