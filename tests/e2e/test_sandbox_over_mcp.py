"""The official SDK client drives mcpbox_test_code on a real mcpbox serve: egress only once approved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcpbox.approvals.hooks import Hooks
from mcpbox.config import Config
from mcpbox.db.engine import open_database
from mcpbox.tools.requests import request_network_access
from tests.e2e.serve import ServeProcess, running_mcpbox
from tests.local_http import fixed_text, local_http_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

FETCH = '''
async def main(url: str) -> dict:
    """Fetch a URL from the lab."""
    response = await http.get(url)
    return {"status": response.status_code, "body": response.text}
'''


@pytest.fixture(scope="module")
def mcpbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_mcpbox(tmp_path_factory.mktemp("sandbox-e2e")) as proc:
        yield proc


async def approve_host_as_owner(data_dir: Path, server: str, host: str) -> None:
    """What the owner does in the admin UI or CLI, done against the same database."""
    from mcpbox.approvals import service

    database = await open_database(Config.load(environ={"MCPBOX_DATA_DIR": str(data_dir)}))
    hooks = Hooks(record=lambda event: None, exposure_changed=lambda: None)
    try:
        request = await request_network_access(
            database, server=server, host=host, requested_by="test", hooks=hooks
        )
        from mcpbox.db.request_store import RequestKind

        await service.approve_request(database, RequestKind.HOST, request.id, decided_by="owner", hooks=hooks)
    finally:
        await database.close()


async def run_fetch(client: Client, url: str) -> dict[str, Any]:
    result = await client.call_tool(
        "mcpbox_test_code", {"code": FETCH, "arguments": {"url": url}, "server": "lab"}
    )
    assert result.is_error is False
    assert result.structured_content is not None
    return dict(result.structured_content)


async def test_test_code_reaches_a_local_server_only_after_the_owner_approves_it(
    mcpbox_server: ServeProcess,
) -> None:
    async with (
        local_http_server(fixed_text(b"lab says hi")) as port,
        Client(mcpbox_server.mcp_url, mode="legacy") as client,
    ):
        await client.call_tool("mcpbox_create_server", {"name": "lab"})
        url = f"http://127.0.0.1:{port}/status"
        with anyio.fail_after(60):  # the sandbox pool starts in the background
            while (refused := await run_fetch(client, url))["error_kind"] == "sandbox":
                await anyio.sleep(0.2)
        assert refused["ok"] is False
        assert refused["egress"][0]["outcome"] == "refused"
        assert "not approved" in refused["error"]

        await approve_host_as_owner(mcpbox_server.data_dir, "lab", f"127.0.0.1:{port}")
        with anyio.fail_after(10):  # the server notices the approval within a poll interval
            while not (allowed := await run_fetch(client, url))["ok"]:
                await anyio.sleep(0.2)
        assert allowed["result"] == {"status": 200, "body": "lab says hi"}
        assert allowed["egress"][0]["status"] == 200
