"""``mcpbox approvals``: the owner's review queue from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mcpbox.config import Config

if TYPE_CHECKING:
    from mcpbox.tools.packages import PackageInstaller


from mcpbox.cli.common import (
    QUEUE_SHOWN_MAX,
    cli_actor,
    common_options,
    load_config,
    open_data,
    run_async,
)


@click.group()
def approvals() -> None:
    """Review what LLMs asked for: tools pending review, module and network-host requests."""


@approvals.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table.")
@click.option("--kind", type=click.Choice(["tool", "module", "host"]), help="Only this kind.")
@click.option("--server", help="Only items of this server.")
@click.option(
    "--approved", is_flag=True, help="List the approved modules and hosts instead (what `revoke` takes)."
)
def approvals_list(
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
    kind: str | None,
    server: str | None,
    approved: bool,
) -> None:
    """List everything waiting for a decision, oldest first, with refs such as tool:3."""
    from mcpbox.approvals.cli_view import pending_json, pending_table
    from mcpbox.approvals.pending import PendingKind, list_pending

    config = load_config({"data_dir": data_dir}, config_file)
    if approved:
        _list_approved(config, as_json, kind, server)
        return

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


def _list_approved(config: Config, as_json: bool, kind: str | None, server: str | None) -> None:
    from mcpbox.approvals.cli_view import approved_table, request_json_line
    from mcpbox.db import request_store
    from mcpbox.db.models import RequestStatus
    from mcpbox.db.request_store import RequestInfo, RequestKind

    if kind == "tool":
        raise click.UsageError("--approved lists modules and hosts; tools are listed by `mcpbox_list_tools`")
    kinds = [RequestKind(kind)] if kind else [RequestKind.MODULE, RequestKind.HOST]

    async def work() -> list[RequestInfo]:
        found: list[RequestInfo] = []
        async with open_data(config) as (database, _hooks):
            for request_kind in kinds:
                items, _ = await request_store.list_requests(
                    database,
                    request_kind,
                    server=server,
                    status=RequestStatus.APPROVED,
                    limit=QUEUE_SHOWN_MAX,
                )
                found.extend(items)
        return found

    items = run_async(work())
    if as_json:
        click.echo(json.dumps({"approved": [request_json_line(item) for item in items]}, indent=2))
        return
    click.echo("\n".join(approved_table(items)))


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


@approvals.command("revoke")
@common_options
@click.argument("ref")
@click.option("--reason", required=True, help="Why: kept in the log and shown to the LLM that asks again.")
def approvals_revoke(config_file: Path | None, data_dir: Path | None, ref: str, reason: str) -> None:
    """Withdraw an approved module:N or host:N (`approvals list --approved` shows them).

    It leaves the server's allowlist at once; a running mcpbox retires the server's warm workers
    within about a second, so no later call can use it. A revoked host or module can be
    requested again (a new request for the owner to decide).
    """
    from mcpbox.approvals import service

    config = load_config({"data_dir": data_dir}, config_file)

    async def work() -> str:
        async with open_data(config) as (database, hooks):
            request = await service.revoke(database, ref, revoked_by=cli_actor(), reason=reason, hooks=hooks)
        return f"revoked {request.ref}: {request.kind.value} {request.subject} for server {request.server}"

    click.echo(run_async(work(), failure=f"{ref} not revoked: "))
