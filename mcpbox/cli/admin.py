"""``mcpbox admin``: create the owner's account or reset its password from the host.

The password is read from a hidden, confirmed prompt, or with ``--password-stdin`` from the
first line of standard input (for scripts): never from an argument, where it would sit in the
shell history and the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mcpbox.cli.common import common_options, fail, load_config, run_async


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("refusing an empty password")
    return password


@click.group()
def admin() -> None:
    """Admin accounts of the web UI."""


@admin.command("create")
@common_options
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def admin_create(config_file: Path | None, data_dir: Path | None, name: str, password_stdin: bool) -> None:
    """Create admin NAME (an alternative to the one-time setup page)."""
    from mcpbox.auth.cli_support import create_admin_account

    config = load_config({"data_dir": data_dir}, config_file)
    created = run_async(create_admin_account(config, name, read_password(password_stdin)))
    click.echo(f"admin {created} created; sign in at {config.base_url}/admin/")


@admin.command("reset-password")
@common_options
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def admin_reset_password(
    config_file: Path | None, data_dir: Path | None, name: str, password_stdin: bool
) -> None:
    """Set a new password for admin NAME, sign it out everywhere and lift any login lockout."""
    from mcpbox.auth.cli_support import reset_admin_password

    config = load_config({"data_dir": data_dir}, config_file)
    reset = run_async(reset_admin_password(config, name, read_password(password_stdin)))
    click.echo(f"password of {name} reset; {reset.sessions_revoked} session(s) signed out")
