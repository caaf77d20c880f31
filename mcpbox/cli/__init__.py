"""The ``mcpbox`` command line. ``mcpbox --help`` lists every command; each has ``--help``.

Commands live one group per module; this module assembles them. It is the only layer that
prints or exits (see ``common``).
"""

from __future__ import annotations

import click

from mcpbox import __version__
from mcpbox.cli.admin import admin
from mcpbox.cli.approvals import approvals
from mcpbox.cli.db import db, keys
from mcpbox.cli.secrets import secrets
from mcpbox.cli.serve import check, serve, stdio
from mcpbox.cli.tools import tools


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mcpbox")
def main() -> None:
    """mcpbox: a self-hosted, self-extending MCP server for your homelab."""


@click.command()
def version() -> None:
    """Print the mcpbox version."""
    click.echo(f"mcpbox {__version__}")


for command in (serve, stdio, check, db, keys, approvals, tools, secrets, admin, version):
    main.add_command(command)
