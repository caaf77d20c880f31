"""The ``mcpbox`` command line: the only module that prints or exits.

Errors are mapped here, once: a startup failure is one line on stderr and exit code 3 (as uvicorn
does), any other mcpbox error is one line and exit code 1. Heavy imports happen inside commands so
``mcpbox --help`` stays instant.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
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
    from mcpbox.activity.events import ActivityEvent
    from mcpbox.approvals.hooks import Hooks
    from mcpbox.db.engine import Database
    from mcpbox.state import AppState
    from mcpbox.tools.packages import PackageInstaller

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


@main.group()
def approvals() -> None:
    """Review what LLMs asked for: tools pending review, module and network-host requests."""


@approvals.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table.")
@click.option("--kind", type=click.Choice(["tool", "module", "host"]), help="Only this kind.")
@click.option("--server", help="Only items of this server.")
def approvals_list(
    config_file: Path | None, data_dir: Path | None, as_json: bool, kind: str | None, server: str | None
) -> None:
    """List everything waiting for a decision, oldest first, with refs such as tool:3."""
    from mcpbox.approvals.cli_view import pending_json, pending_table
    from mcpbox.approvals.pending import PendingKind, list_pending

    config = load_config({"data_dir": data_dir}, config_file)

    async def work() -> Any:
        async with open_data(config) as (database, _hooks):
            return await list_pending(
                database,
                kind=PendingKind(kind) if kind else None,
                server=server,
                limit=QUEUE_SHOWN_MAX,
            )

    items, total = run_async(work())
    if as_json:
        click.echo(json.dumps({"pending": [pending_json(item) for item in items], "total": total}, indent=2))
        return
    click.echo("\n".join(pending_table(items, total)))


@approvals.command("show")
@common_options
@click.argument("ref")
def approvals_show(config_file: Path | None, data_dir: Path | None, ref: str) -> None:
    """Show what approving REF means: for a tool its code, the diff against the last approved
    version, the modules and hosts it uses and the hash an approval binds to; for a module or
    host request its subject, justification and requester."""
    from mcpbox.approvals.cli_view import review_lines
    from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES

    config = load_config({"data_dir": data_dir}, config_file)

    async def work() -> list[str]:
        async with open_data(config) as (database, _hooks):
            return await review_lines(database, ref, default_modules=DEFAULT_MODULES)

    click.echo("\n".join(run_async(work())))


async def decide_ref(
    config: Config,
    ref: str,
    *,
    approve: bool,
    reason: str | None,
    reviewed_hash: str | None,
    installer: PackageInstaller | None = None,
) -> str:
    """Approve or reject any ref ``approvals list`` shows; returns the line to print.

    ``installer`` defaults to the one ``mcpbox serve`` uses (same target directory, pip-audit).
    """
    from mcpbox.approvals import service
    from mcpbox.approvals.cli_view import resolve_hash
    from mcpbox.approvals.pending import PendingKind, parse_ref
    from mcpbox.db import tool_store
    from mcpbox.tools.exposure import exposed_name
    from mcpbox.tools.packages import PackageInstaller, PipAuditor
    from mcpbox.tools.requests import approve_module_request

    kind, item_id = parse_ref(ref)
    actor = cli_actor()
    verb = "approved" if approve else "rejected"
    async with open_data(config) as (database, hooks):
        if kind is PendingKind.TOOL:
            current = await tool_store.get_tool_by_id(database, item_id)
            content_hash = resolve_hash(current.current_hash, reviewed_hash)
            if approve:
                tool = await service.approve_tool(
                    database, item_id, content_hash=content_hash, decided_by=actor, hooks=hooks, reason=reason
                )
            else:
                tool = await service.reject_tool(
                    database,
                    item_id,
                    content_hash=content_hash,
                    decided_by=actor,
                    hooks=hooks,
                    reason=reason or "",
                )
            line = (
                f"{verb} {ref}: {tool.label} version {tool.current_version} (hash {tool.current_hash[:16]})"
            )
            if approve:
                line += f"; clients now see it as {exposed_name(tool.server, tool.name)}"
            return line
        if kind is PendingKind.MODULE and approve:
            if installer is None:
                installer = PackageInstaller(config.data_dir / "packages", auditor=PipAuditor())
            request = await approve_module_request(
                database, item_id, decided_by=actor, hooks=hooks, reason=reason, installer=installer
            )
        else:
            decided = await service.decide(
                database, ref, approve=approve, decided_by=actor, hooks=hooks, reason=reason
            )
            assert not isinstance(decided, tool_store.ToolInfo)
            request = decided
        return f"{verb} {ref}: {request.kind.value} {request.subject} for server {request.server}"


@approvals.command("approve")
@common_options
@click.argument("ref")
@click.option("--reason", help="Why (kept in the activity log).")
@click.option(
    "--hash",
    "reviewed_hash",
    help="For tools: the content hash (or its first 8+ hex digits) of the version you reviewed, as "
    "`show` prints it; refused if the tool changed since.",
)
def approvals_approve(
    config_file: Path | None, data_dir: Path | None, ref: str, reason: str | None, reviewed_hash: str | None
) -> None:
    """Approve REF (tool:N, module:N or host:N as `approvals list` shows them).

    A tool approval binds to one version's content hash: publish exactly what was reviewed. A
    module with a PyPI package is installed (wheel only, after a vulnerability check) first.
    """
    config = load_config({"data_dir": data_dir}, config_file)
    work = decide_ref(config, ref, approve=True, reason=reason, reviewed_hash=reviewed_hash)
    click.echo(run_async(work, failure=f"{ref} not approved: "))


@approvals.command("reject")
@common_options
@click.argument("ref")
@click.option("--reason", required=True, help="What to change: the requesting LLM reads it.")
@click.option(
    "--hash", "reviewed_hash", help="For tools: the content hash (or a prefix) of the version you reviewed."
)
def approvals_reject(
    config_file: Path | None, data_dir: Path | None, ref: str, reason: str, reviewed_hash: str | None
) -> None:
    """Reject REF with a reason the requester can act on."""
    config = load_config({"data_dir": data_dir}, config_file)
    work = decide_ref(config, ref, approve=False, reason=reason, reviewed_hash=reviewed_hash)
    click.echo(run_async(work, failure=f"{ref} not rejected: "))


@main.group()
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


@main.command()
def version() -> None:
    """Print the mcpbox version."""
    click.echo(f"mcpbox {__version__}")
