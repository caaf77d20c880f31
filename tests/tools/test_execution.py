"""Test runs through the real sandbox: egress only to approved hosts, secrets redacted, runs logged."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcpbox.approvals import service as approvals
from mcpbox.db import execution_log_store, secret_store, setting_store
from mcpbox.db.request_store import RequestKind
from mcpbox.management.catalog import Caller
from mcpbox.state import AppState
from tests.app_harness import running_app
from tests.local_http import fixed_text, local_http_server

pytestmark = pytest.mark.anyio

FETCH = '''
async def main(url: str) -> dict:
    """Fetch a URL."""
    response = await http.get(url)
    return {"status": response.status_code, "body": response.text}
'''


async def ready(state: AppState) -> None:
    with anyio.fail_after(30):
        while state.pool.state.value != "running":
            await anyio.sleep(0.05)


async def test_a_local_host_is_reached_only_after_the_owner_approves_it(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path) as (_, state),
        local_http_server(fixed_text(b"hello from the lab")) as port,
    ):
        await ready(state)
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        url = f"http://127.0.0.1:{port}/status"
        refused = await state.runner.test_run(FETCH, {"url": url}, server="lab", requested_by="local")
        assert not refused.ok
        assert refused.egress[0]["outcome"] == "refused"
        assert "not approved" in (refused.error or "")

        request = await approvals.submit_host_request(
            state.database, server="lab", host=f"127.0.0.1:{port}", requested_by="local", hooks=state.hooks
        )
        await approvals.approve_request(
            state.database, RequestKind.HOST, request.id, decided_by="owner", hooks=state.hooks
        )
        allowed = await state.runner.test_run(FETCH, {"url": url}, server="lab", requested_by="local")
        assert allowed.ok, allowed.error
        assert allowed.result == {"status": 200, "body": "hello from the lab"}
        assert allowed.egress[0]["outcome"] == "ok"
        assert allowed.egress[0]["status"] == 200

        other = await state.runner.test_run(FETCH, {"url": url}, server=None, requested_by="local")
        assert not other.ok  # approval belongs to the server, not to every run


async def test_secret_values_are_redacted_from_result_output_and_log(tmp_path: Path) -> None:
    source = """
def main() -> dict:
    print("token is", secrets["API_KEY"])
    return {"echo": secrets["API_KEY"], "length": len(secrets["API_KEY"])}
"""
    async with running_app(tmp_path) as (_, state):
        await ready(state)
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        await secret_store.create_secret_placeholder(state.database, "lab", "API_KEY", created_by="local")
        await secret_store.set_secret_value(
            state.database, "lab", "API_KEY", "sk-live-abcdef123456", state.keyring
        )
        assert not await state.watcher.check()  # a secret change is noticed, and is no list change
        report = await state.runner.test_run(source, {}, server="lab", requested_by="local")
        assert report.ok, report.error
        assert report.result == {"echo": "[REDACTED:API_KEY]", "length": 20}
        assert "sk-live" not in report.stdout
        with anyio.fail_after(10):  # the execution log is written in batches
            logs: list[object] = []
            while not logs:
                logs = list((await execution_log_store.list_execution_logs(state.database, server="lab"))[0])
                await anyio.sleep(0.05)
        assert "sk-live" not in repr(logs[0])

        await setting_store.set_setting(state.database, "redact_secrets_in_output", "off", updated_by="owner")
        await state.watcher.check()
        plain = await state.runner.test_run(source, {}, server="lab", requested_by="local")
        assert plain.result == {"echo": "sk-live-abcdef123456", "length": 20}


async def test_test_code_tool_reports_result_stdout_and_duration(tmp_path: Path) -> None:
    source = '''
async def main(name: str, times: int = 2) -> str:
    """Greet."""
    print("greeting", name)
    return " ".join(["hi " + name] * times)
'''
    async with running_app(tmp_path) as (_, state):
        await ready(state)
        result = await state.catalog.call_tool(
            "mcpbox_test_code", {"code": source, "arguments": {"name": "ada"}}, Caller("local")
        )
        assert not result.is_error
        assert result.structured is not None
        assert result.structured["result"] == "hi ada hi ada"
        assert result.structured["stdout"] == "greeting ada\n"
        assert result.structured["duration_ms"] >= 0
        validated = await state.catalog.call_tool(
            "mcpbox_validate_code", {"code": "import os\n"}, Caller("local")
        )
        assert validated.structured is not None
        assert validated.structured["valid"] is False
        assert any(v["line"] == 1 for v in validated.structured["violations"])


async def _publish_fetch(state: AppState, server: str, host: str) -> str:
    from mcpbox.tools import lifecycle

    await lifecycle.create_tool(
        state.database,
        server=server,
        name="fetch",
        code=FETCH,
        created_by="local",
        hooks=state.hooks,
        hosts=[host],
    )
    tool = await lifecycle.request_publish(
        state.database, server=server, name="fetch", requested_by="local", hooks=state.hooks
    )
    await approvals.approve_tool(
        state.database, tool.id, content_hash=tool.current_hash, decided_by="owner", hooks=state.hooks
    )
    return f"{server}__fetch"


async def _call_text(state: AppState, name: str, url: str) -> tuple[bool, str]:
    result = await state.catalog.call_tool(name, {"url": url}, Caller("local"))
    return result.is_error, str(result.content[0]["text"])


async def test_a_revoked_host_is_refused_at_once_even_to_a_warm_worker(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path) as (_, state),
        local_http_server(fixed_text(b"hello from the lab")) as port,
    ):
        await ready(state)
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        host, url = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/status"
        request = await approvals.submit_host_request(
            state.database, server="lab", host=host, requested_by="local", hooks=state.hooks
        )
        await approvals.approve_request(
            state.database, RequestKind.HOST, request.id, decided_by="owner", hooks=state.hooks
        )
        name = await _publish_fetch(state, "lab", host)
        for _ in range(3):  # a warm worker now holds this version, bound to the server
            failed, text = await _call_text(state, name, url)
            assert not failed, text
        warm = [info.pid for info in state.pool.snapshot() if info.server_key == "lab"]
        assert warm

        revoked = await approvals.revoke(
            state.database, request.ref, revoked_by="owner", reason="not needed any more", hooks=state.hooks
        )
        assert revoked.status.value == "revoked"
        failed, text = await _call_text(state, name, url)
        assert failed
        assert "not approved" in text
        assert not set(warm) & {info.pid for info in state.pool.snapshot()}  # retired, not reused


async def test_a_revocation_from_another_process_reaches_a_running_server(tmp_path: Path) -> None:
    from mcpbox.approvals.hooks import Hooks
    from mcpbox.db.engine import open_database

    async with (
        running_app(tmp_path) as (_, state),
        local_http_server(fixed_text(b"hello from the lab")) as port,
    ):
        await ready(state)
        await state.catalog.call_tool("mcpbox_create_server", {"name": "lab"}, Caller("local"))
        host, url = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/status"
        request = await approvals.submit_host_request(
            state.database, server="lab", host=host, requested_by="local", hooks=state.hooks
        )
        await approvals.approve_request(
            state.database, RequestKind.HOST, request.id, decided_by="owner", hooks=state.hooks
        )
        name = await _publish_fetch(state, "lab", host)
        failed, text = await _call_text(state, name, url)
        assert not failed, text

        # `mcpbox approvals revoke` is another process: its own connection, no in-process hooks.
        cli_db = await open_database(state.config)
        try:
            await approvals.revoke(
                cli_db,
                request.ref,
                revoked_by="cli:owner",
                reason="done",
                hooks=Hooks(lambda _e: None, lambda: None),
            )
        finally:
            await cli_db.close()
        with anyio.fail_after(10):  # the catalog watcher polls every second
            while True:
                failed, text = await _call_text(state, name, url)
                if failed:
                    break
                await anyio.sleep(0.2)
        assert "not approved" in text
