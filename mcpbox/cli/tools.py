"""``mcpbox tools``: withdraw one published tool from every client, or bring it back."""

from __future__ import annotations

from pathlib import Path

import click

from mcpbox.cli.common import cli_actor, common_options, load_config, open_data, run_async
from mcpbox.config import Config


@click.group()
def tools() -> None:
    """Published tools: disable one without stopping its whole server."""


async def _set_enabled(config: Config, server: str, name: str, enabled: bool) -> str:
    from mcpbox.db.models import ToolStatus
    from mcpbox.tools.exposure import exposed_name
    from mcpbox.tools.lifecycle import set_tool_enabled

    async with open_data(config) as (database, hooks):
        tool = await set_tool_enabled(
            database, server=server, name=name, enabled=enabled, changed_by=cli_actor(), hooks=hooks
        )
    listed = exposed_name(tool.server, tool.name)
    if not enabled:
        return f"disabled {tool.label}: {listed} is no longer listed or callable by any client"
    if tool.status is ToolStatus.APPROVED:
        return f"enabled {tool.label}: clients see it as {listed} while its server runs"
    return f"enabled {tool.label}: it is {tool.status.value}, so clients see it once the owner approves it"


@tools.command("disable")
@common_options
@click.argument("server")
@click.argument("name")
def tools_disable(config_file: Path | None, data_dir: Path | None, server: str, name: str) -> None:
    """Disable tool NAME of SERVER: it leaves every client's tool list and cannot be called.

    Its approval, versions and logs stay; a running mcpbox notices within about a second. A new
    version approved later stays disabled until `mcpbox tools enable`.
    """
    config = load_config({"data_dir": data_dir}, config_file)
    click.echo(
        run_async(_set_enabled(config, server, name, False), failure=f"{server}/{name} not disabled: ")
    )


@tools.command("enable")
@common_options
@click.argument("server")
@click.argument("name")
def tools_enable(config_file: Path | None, data_dir: Path | None, server: str, name: str) -> None:
    """Enable tool NAME of SERVER again (listed and callable if approved and its server runs)."""
    config = load_config({"data_dir": data_dir}, config_file)
    click.echo(run_async(_set_enabled(config, server, name, True), failure=f"{server}/{name} not enabled: "))
