"""`mcpbox approvals` and `mcpbox secrets`: the owner's loop on the data dir a server uses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from mcpbox.approvals.hooks import Hooks
from mcpbox.cli import main
from mcpbox.cli.common import cli_actor
from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring
from mcpbox.db import activity_store, migrate, secret_store, server_store, tool_store
from mcpbox.db.engine import Database, open_database
from mcpbox.db.models import ToolStatus
from mcpbox.management.catalog import LOCAL_CALLER
from mcpbox.tools import lifecycle, requests
from tests.app_harness import running_app

CODE = '''
async def main(city: str) -> dict:
    """Weather for a city."""
    return {"city": city}
'''
CODE_V2 = CODE.replace('{"city": city}', '{"city": city.title()}')
HOOKS = Hooks(record=lambda _event: None, exposure_changed=lambda: None)


def in_db(data_dir: Path, work: Any) -> Any:
    """Run ``work(db)`` against the data dir, as another process (a running server) would."""

    async def run() -> Any:
        config = Config.load(environ={"MCPBOX_DATA_DIR": str(data_dir)})
        await migrate.upgrade_if_needed_async(config)
        db = await open_database(config)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


async def _prepare(db: Database) -> None:
    await server_store.create_server(db, name="home", created_by="local")
    await lifecycle.create_tool(
        db,
        server="home",
        name="weather",
        code=CODE,
        created_by="token:ci",
        hooks=HOOKS,
        hosts=["api.example.org"],
    )
    await lifecycle.request_publish(db, server="home", name="weather", requested_by="token:ci", hooks=HOOKS)
    await requests.request_network_access(
        db,
        server="home",
        host="api.example.org",
        requested_by="token:ci",
        hooks=HOOKS,
        justification="forecasts",
    )
    await requests.request_module(
        db, server="home", module="csv", requested_by="jwt:alice", hooks=HOOKS, justification="read csv"
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir with server home: tool:1 pending review, host:1 and module:1 pending."""
    in_db(tmp_path, _prepare)
    return tmp_path


def invoke(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, env={"MCPBOX_DATA_DIR": str(data_dir)})


async def _activity(db: Database) -> list[activity_store.ActivityRecord]:
    rows, _ = await activity_store.list_activity(db)
    return rows


def test_list_shows_tools_modules_and_hosts_waiting_with_their_refs(data_dir: Path) -> None:
    result = invoke(data_dir, "approvals", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["REF", "SERVER", "SUBJECT", "DETAIL", "REQUESTED", "BY", "REQUESTED", "AT"]
    assert [line.split()[0] for line in lines[1:4]] == ["tool:1", "host:1", "module:1"]
    assert "api.example.org" in lines[2]
    assert "jwt:alice" in lines[3]


def test_list_json_filters_by_kind_and_server(data_dir: Path) -> None:
    result = invoke(data_dir, "approvals", "list", "--json", "--kind", "tool")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    [item] = document["pending"]
    assert (item["ref"], item["subject"], item["version"], document["total"]) == ("tool:1", "weather", 1, 1)
    assert len(item["content_hash"]) == 64
    other = json.loads(invoke(data_dir, "approvals", "list", "--json", "--server", "lab").output)
    assert other == {"pending": [], "total": 0}
    assert "Nothing is waiting" in invoke(data_dir, "approvals", "list", "--server", "lab").output


def test_show_a_tool_prints_numbered_code_and_the_diff_against_the_approved_version(data_dir: Path) -> None:
    async def approve_then_change(db: Database) -> str:
        tool = await tool_store.get_tool(db, "home", "weather")
        await lifecycle_approve(db, tool.id, tool.current_hash)
        changed, _ = await lifecycle.update_tool(
            db,
            server="home",
            name="weather",
            code=CODE_V2,
            hosts=["api.example.org", "b.example"],
            updated_by="token:ci",
            hooks=HOOKS,
        )
        await lifecycle.request_publish(
            db, server="home", name="weather", requested_by="token:ci", hooks=HOOKS
        )
        return changed.current_hash

    new_hash = in_db(data_dir, approve_then_change)
    result = invoke(data_dir, "approvals", "show", "tool:1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "tool:1  home/weather  version 2  status pending_review" in out
    assert f"content hash: {new_hash}" in out
    assert "requested by: token:ci" in out
    assert "hosts: api.example.org (pending host:1), b.example (not requested)" in out
    assert "hosts added: b.example" in out
    assert "--- weather v1 (approved)" in out
    assert "+++ weather v2" in out
    assert '-    return {"city": city}' in out
    assert '+    return {"city": city.title()}' in out
    assert '4 |     return {"city": city.title()}' in out
    assert f"mcpbox approvals approve tool:1 --hash {new_hash[:16]}" in out


async def lifecycle_approve(db: Database, tool_id: int, content_hash: str) -> None:
    from mcpbox.approvals import service

    await service.approve_tool(db, tool_id, content_hash=content_hash, decided_by="admin:owner", hooks=HOOKS)


def test_show_a_request_prints_subject_justification_and_requester(data_dir: Path) -> None:
    result = invoke(data_dir, "approvals", "show", "host:1")
    assert result.exit_code == 0, result.output
    assert "host:1  server home  host api.example.org  status pending" in result.output
    assert "justification: forecasts" in result.output
    assert "requested by: token:ci" in result.output
    unknown = invoke(data_dir, "approvals", "show", "tool:99")
    assert unknown.exit_code == 1
    assert "no tool with id 99" in unknown.output
    malformed = invoke(data_dir, "approvals", "show", "widget:1")
    assert malformed.exit_code == 1
    assert "use tool:<n>, module:<n> or host:<n>" in malformed.output


def test_approving_a_tool_publishes_it_and_is_recorded_as_the_cli_user(data_dir: Path) -> None:
    listed = json.loads(invoke(data_dir, "approvals", "list", "--json", "--kind", "tool").output)
    reviewed = listed["pending"][0]["content_hash"][:12]
    result = invoke(data_dir, "approvals", "approve", "tool:1", "--hash", reviewed, "--reason", "looks fine")
    assert result.exit_code == 0, result.output
    assert "approved tool:1: home/weather version 1" in result.output
    assert "home__weather" in result.output
    tool = in_db(data_dir, lambda db: tool_store.get_tool(db, "home", "weather"))
    assert (tool.status, tool.decided_by, tool.decision_reason) == (
        ToolStatus.APPROVED,
        cli_actor(),
        "looks fine",
    )
    names = {(row.name, row.actor) for row in in_db(data_dir, _activity)}
    assert ("approval.decided", cli_actor()) in names
    assert ("tool.published", cli_actor()) in names
    again = invoke(data_dir, "approvals", "approve", "tool:1")
    assert again.exit_code == 1
    assert "not pending_review" in again.output


def test_a_tool_changed_after_review_is_not_approved(data_dir: Path) -> None:
    listed = json.loads(invoke(data_dir, "approvals", "list", "--json").output)
    reviewed = listed["pending"][0]["content_hash"]

    async def change(db: Database) -> None:
        await lifecycle.update_tool(
            db, server="home", name="weather", code=CODE_V2, updated_by="token:ci", hooks=HOOKS
        )

    in_db(data_dir, change)
    result = invoke(data_dir, "approvals", "approve", "tool:1", "--hash", reviewed)
    assert result.exit_code == 1
    assert "tool:1 not approved" in result.output
    assert "changed meanwhile: its current version is 2" in result.output
    tool = in_db(data_dir, lambda db: tool_store.get_tool(db, "home", "weather"))
    assert tool.status is ToolStatus.PENDING_REVIEW
    assert invoke(data_dir, "approvals", "approve", "tool:1", "--hash", "zz").exit_code == 1


def test_reject_needs_a_reason_and_the_reason_reaches_the_tool(data_dir: Path) -> None:
    missing = invoke(data_dir, "approvals", "reject", "tool:1")
    assert missing.exit_code == 2
    assert "--reason" in missing.output
    result = invoke(data_dir, "approvals", "reject", "tool:1", "--reason", "cache the forecast")
    assert result.exit_code == 0, result.output
    tool = in_db(data_dir, lambda db: tool_store.get_tool(db, "home", "weather"))
    assert (tool.status, tool.decision_reason) == (ToolStatus.REJECTED, "cache the forecast")


def test_host_and_module_requests_are_approved_and_rejected_by_ref(data_dir: Path) -> None:
    host = invoke(data_dir, "approvals", "approve", "host:1")
    assert host.exit_code == 0, host.output
    assert "approved host:1: host api.example.org for server home" in host.output
    module = invoke(data_dir, "approvals", "reject", "module:1", "--reason", "use the json module")
    assert module.exit_code == 0, module.output
    remaining = json.loads(invoke(data_dir, "approvals", "list", "--json").output)
    assert [item["ref"] for item in remaining["pending"]] == ["tool:1"]
    twice = invoke(data_dir, "approvals", "approve", "host:1")
    assert twice.exit_code == 1
    assert f"already approved by {cli_actor()}" in twice.output


def test_an_approved_host_is_listed_and_revoked_by_ref(data_dir: Path) -> None:
    assert "No module or host is approved." in invoke(data_dir, "approvals", "list", "--approved").output
    assert invoke(data_dir, "approvals", "approve", "host:1").exit_code == 0
    table = invoke(data_dir, "approvals", "list", "--approved")
    assert table.exit_code == 0, table.output
    assert "host:1  home    api.example.org" in table.output
    assert "mcpbox approvals revoke REF --reason TEXT" in table.output
    listed = json.loads(invoke(data_dir, "approvals", "list", "--approved", "--json").output)
    assert [(item["ref"], item["subject"]) for item in listed["approved"]] == [("host:1", "api.example.org")]

    assert invoke(data_dir, "approvals", "revoke", "host:1").exit_code == 2  # --reason is required
    result = invoke(data_dir, "approvals", "revoke", "host:1", "--reason", "the lab moved")
    assert result.exit_code == 0, result.output
    assert "revoked host:1: host api.example.org for server home" in result.output
    assert json.loads(invoke(data_dir, "approvals", "list", "--approved", "--json").output)["approved"] == []
    again = invoke(data_dir, "approvals", "revoke", "host:1", "--reason", "twice")
    assert again.exit_code == 1
    assert "host:1 not revoked: " in again.output
    assert "is revoked, not approved" in again.output
    pending = invoke(data_dir, "approvals", "revoke", "module:1", "--reason", "not yet decided")
    assert pending.exit_code == 1
    assert "is pending, not approved" in pending.output
    tool = invoke(data_dir, "approvals", "revoke", "tool:1", "--reason", "no")
    assert tool.exit_code == 1
    assert "only module and host approvals can be revoked" in tool.output
    events = [row.name for row in in_db(data_dir, _activity)]
    assert "host.revoked" in events


def _read_secret(data_dir: Path) -> dict[str, str]:
    async def read(db: Database) -> dict[str, str]:
        config = Config.load(environ={"MCPBOX_DATA_DIR": str(data_dir)})
        return await secret_store.load_secret_values(db, "home", Keyring.load(config.key_file))

    result: dict[str, str] = in_db(data_dir, read)
    return result


def test_secrets_set_reads_the_first_line_of_stdin_and_records_who_set_it(data_dir: Path) -> None:
    undeclared = invoke(data_dir, "secrets", "set", "home", "API_KEY", stdin="sk-1\n")
    assert undeclared.exit_code == 1
    assert "--create" in undeclared.output
    created = invoke(
        data_dir, "secrets", "set", "home", "API_KEY", "--create", stdin="sk-live-123\nignored\n"
    )
    assert created.exit_code == 0, created.output
    assert "sk-live" not in created.output
    assert _read_secret(data_dir) == {"API_KEY": "sk-live-123"}
    replaced = invoke(data_dir, "secrets", "set", "home", "API_KEY", stdin="sk-live-456\r\n")
    assert replaced.exit_code == 0, replaced.output
    assert _read_secret(data_dir) == {"API_KEY": "sk-live-456"}
    events = [row for row in in_db(data_dir, _activity) if row.name == "secret.set"]
    assert {row.actor for row in events} == {cli_actor()}
    assert all("sk-live" not in json.dumps(row.detail) for row in events)


def test_secrets_set_refuses_an_empty_value_a_bad_key_and_a_value_argument(data_dir: Path) -> None:
    empty = invoke(data_dir, "secrets", "set", "home", "API_KEY", "--create", stdin="\n")
    assert empty.exit_code == 1
    assert "empty" in empty.output
    assert invoke(data_dir, "secrets", "set", "home", "api-key", stdin="x\n").exit_code == 1
    as_argument = invoke(data_dir, "secrets", "set", "home", "API_KEY", "sk-live-123")
    assert as_argument.exit_code == 2  # no such parameter: a value never comes from argv
    assert invoke(data_dir, "secrets", "set", "nope", "API_KEY", "--create", stdin="x\n").exit_code == 1


def test_secrets_list_shows_keys_and_whether_set_never_values(data_dir: Path) -> None:
    invoke(data_dir, "secrets", "set", "home", "API_KEY", "--create", stdin="sk-live-123\n")

    async def declare(db: Database) -> None:
        await secret_store.create_secret_placeholder(
            db, "home", "OTHER", created_by="token:ci", description="spare"
        )

    in_db(data_dir, declare)
    table = invoke(data_dir, "secrets", "list", "home")
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split()[:2] == ["API_KEY", "set"]
    assert "OTHER    not set" in table.output
    document = json.loads(invoke(data_dir, "secrets", "list", "home", "--json").output)
    assert [(s["key"], s["has_value"]) for s in document["secrets"]] == [("API_KEY", True), ("OTHER", False)]
    assert "sk-live" not in table.output + json.dumps(document)


def test_approvals_list_json_runs_as_a_real_process(data_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mcpbox", "approvals", "list", "--json"],
        env={**os.environ, "MCPBOX_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert [item["ref"] for item in json.loads(completed.stdout)["pending"]] == [
        "tool:1",
        "host:1",
        "module:1",
    ]


@pytest.mark.anyio
async def test_an_approval_from_the_cli_reaches_a_running_server(tmp_path: Path) -> None:
    from mcpbox.activity.bus import Change

    async with running_app(tmp_path) as (_, state):
        await _prepare(state.database)
        await state.watcher.check()
        assert "home__weather" not in [d.name for d in await state.catalog.list_tools(LOCAL_CALLER)]
        # What the gateway's open streams subscribe to: each turns a signal into list_changed.
        async with state.bus.subscribe() as changes:
            completed = await anyio.run_process(
                [sys.executable, "-m", "mcpbox", "approvals", "approve", "tool:1"],
                env={**os.environ, "MCPBOX_DATA_DIR": str(tmp_path)},
                check=False,
            )
            assert completed.returncode == 0, completed.stderr.decode()
            with anyio.fail_after(10):  # the watcher polls the database every second
                assert await changes.receive() is Change.TOOLS
        assert "home__weather" in [d.name for d in await state.catalog.list_tools(LOCAL_CALLER)]


def test_a_request_decision_is_logged_with_the_services_typed_events(data_dir: Path) -> None:
    invoke(data_dir, "approvals", "approve", "host:1")
    rows = in_db(data_dir, _activity)
    assert [row.name for row in rows if row.actor == cli_actor()] == ["host.approved", "approval.decided"]
    decided = next(row for row in rows if row.name == "approval.decided")
    assert decided.detail is not None
    assert (decided.detail["ref"], decided.detail["decision"]) == ("host:1", "approved")


def test_a_package_the_audit_refuses_is_not_approved_and_the_refusal_is_logged(tmp_path: Path) -> None:
    from mcpbox.cli.approvals import decide_ref
    from mcpbox.errors import PermissionDenied
    from mcpbox.tools.packages import PackageInstaller, PackageSpec, Vulnerability

    async def vulnerable(spec: PackageSpec) -> list[Vulnerability]:
        return [Vulnerability("PYSEC-2099-1", ("6.0.3",), "bad")]

    async def prepare(db: Database) -> None:
        await server_store.create_server(db, name="home", created_by="local")
        await requests.request_module(
            db, server="home", module="yaml", package="PyYAML", version="6.0.2",
            requested_by="token:ci", hooks=HOOKS, justification="parse",
        )  # fmt: skip

    in_db(tmp_path, prepare)
    config = Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})
    installer = PackageInstaller(tmp_path / "packages", auditor=vulnerable)
    with pytest.raises(PermissionDenied, match="PYSEC-2099-1"):
        asyncio.run(
            decide_ref(config, "module:1", approve=True, reason=None, reviewed_hash=None, installer=installer)
        )
    pending = json.loads(invoke(tmp_path, "approvals", "list", "--json").output)
    assert [item["ref"] for item in pending["pending"]] == ["module:1"]
    refused = [row for row in in_db(tmp_path, _activity) if row.name == "package.install_refused"]
    assert refused[0].actor == cli_actor()
    assert not (tmp_path / "packages").exists() or not any((tmp_path / "packages").iterdir())


def test_admin_create_and_reset_password_read_the_password_from_stdin_only(tmp_path: Path) -> None:
    created = invoke(
        tmp_path, "admin", "create", "owner", "--password-stdin", stdin="correct horse battery\n"
    )
    assert created.exit_code == 0, created.output
    assert "admin owner created" in created.output
    assert "correct horse" not in created.output
    again = invoke(tmp_path, "admin", "create", "owner", "--password-stdin", stdin="another long password\n")
    assert again.exit_code == 1
    short = invoke(tmp_path, "admin", "reset-password", "owner", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1
    assert "at least" in short.output
    reset = invoke(
        tmp_path, "admin", "reset-password", "owner", "--password-stdin", stdin="a new long password\n"
    )
    assert reset.exit_code == 0, reset.output
    assert "0 session(s) signed out" in reset.output
    missing = invoke(
        tmp_path, "admin", "reset-password", "nobody", "--password-stdin", stdin="a new long password\n"
    )
    assert missing.exit_code == 1


def test_a_tool_is_disabled_and_enabled_by_name(data_dir: Path) -> None:
    assert invoke(data_dir, "approvals", "approve", "tool:1").exit_code == 0
    disabled = invoke(data_dir, "tools", "disable", "home", "weather")
    assert disabled.exit_code == 0, disabled.output
    assert (
        "disabled home/weather: home__weather is no longer listed or callable by any client"
        in disabled.output
    )
    tool = in_db(data_dir, lambda db: tool_store.get_tool(db, "home", "weather"))
    assert (tool.status, tool.enabled) == (ToolStatus.APPROVED, False)  # the approval stays
    enabled = invoke(data_dir, "tools", "enable", "home", "weather")
    assert enabled.exit_code == 0, enabled.output
    assert "clients see it as home__weather while its server runs" in enabled.output
    assert in_db(data_dir, lambda db: tool_store.get_tool(db, "home", "weather")).enabled
    missing = invoke(data_dir, "tools", "disable", "home", "nope")
    assert missing.exit_code == 1
    assert "home/nope not disabled: " in missing.output
    events = [row.name for row in in_db(data_dir, _activity) if row.actor == cli_actor()]
    assert events.count("tool.disabled") == 1
    assert events.count("tool.enabled") == 1


@pytest.mark.anyio
async def test_disabling_a_tool_from_the_cli_reaches_a_running_server(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await _prepare(state.database)
        tool = await tool_store.get_tool(state.database, "home", "weather")
        from mcpbox.approvals import service

        await service.approve_tool(
            state.database, tool.id, content_hash=tool.current_hash, decided_by="owner", hooks=state.hooks
        )
        await state.watcher.check()
        assert "home__weather" in [d.name for d in await state.catalog.list_tools(LOCAL_CALLER)]
        completed = await anyio.run_process(
            [sys.executable, "-m", "mcpbox", "tools", "disable", "home", "weather"],
            env={**os.environ, "MCPBOX_DATA_DIR": str(tmp_path)},
            check=False,
        )
        assert completed.returncode == 0, completed.stderr.decode()
        with anyio.fail_after(10):  # the watcher polls the database every second
            while "home__weather" in [d.name for d in await state.catalog.list_tools(LOCAL_CALLER)]:
                await anyio.sleep(0.1)
        from mcpbox.errors import NotCallable

        with pytest.raises(NotCallable, match="is disabled"):  # the gateway says why: "Unknown tool: … (…)"
            await state.catalog.call_tool("home__weather", {"city": "Oslo"}, LOCAL_CALLER)
