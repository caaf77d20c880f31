"""The whole self-extending loop on a real ``mcpbox serve``, driven by the official SDK client.

The LLM (the SDK client) creates a server and an async tool that uses ``http`` and a secret,
tests it, asks for network access and publication; the owner approves on the CLI; the client
hears list_changed, sees ``lab__weather``, calls it; an update withdraws it until re-approved;
rollback; delete.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.e2e.serve import ServeProcess, mcpbox_command, running_mcpbox, serve_env
from tests.local_http import local_http_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SECRET = "sk-lab-0123456789abcdef"

TOOL_V1 = '''
async def main(city: str) -> dict:
    """Weather for a city, from the lab's weather service.

    Args:
        city: City name.
    """
    response = await http.get(BASE + "/weather", params={"city": city},
                              headers={"Authorization": "Bearer " + secrets["API_KEY"]})
    response.raise_for_status()
    data = response.json()
    return {"city": city, "forecast": data["forecast"], "seen_auth": data["auth"]}
'''


def tool_source(port: int, marker: str = "") -> str:
    return f'BASE = "http://127.0.0.1:{port}"\n' + TOOL_V1.replace(
        '"forecast": data["forecast"]', f'"forecast": data["forecast"] + "{marker}"'
    )


def weather(head: str) -> tuple[bytes, bytes]:
    """The lab's weather service: echoes the Authorization header it received."""
    lines = head.split("\r\n")
    auth = next(
        (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("authorization:")), ""
    )
    return b"application/json", json.dumps({"forecast": "sunny", "auth": auth}).encode()


@pytest.fixture(scope="module")
def mcpbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_mcpbox(tmp_path_factory.mktemp("forge-e2e")) as proc:
        yield proc


def owner(proc: ServeProcess, *args: str, stdin: str | None = None) -> str:
    """The owner at the host's shell, on the same data dir as the running server."""
    done = subprocess.run(mcpbox_command(*args), env=serve_env(proc.data_dir), input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def data(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error is False, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def test_the_whole_loop(mcpbox_server: ServeProcess) -> None:
    changes: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changes.append("tools")

    async def wait_for_change(seen: int) -> None:
        with anyio.fail_after(15):  # the CLI's change is noticed by the server's catalog poll
            while len(changes) <= seen:
                await anyio.sleep(0.05)

    async with (
        local_http_server(weather) as port,
        Client(mcpbox_server.mcp_url, mode="legacy", message_handler=on_message) as client,
    ):
        # The LLM builds it.
        data(await client.call_tool("mcpbox_create_server", {"name": "lab"}))
        data(await client.call_tool("mcpbox_create_server_secret", {"server": "lab", "key": "API_KEY"}))
        owner(mcpbox_server, "secrets", "set", "lab", "API_KEY", stdin=SECRET + "\n")
        created = data(
            await client.call_tool(
                "mcpbox_create_tool", {"server": "lab", "name": "weather", "code": tool_source(port)}
            )
        )
        assert created["tool"]["status"] == "draft"
        host = data(
            await client.call_tool(
                "mcpbox_request_network_access",
                {"server": "lab", "host": f"127.0.0.1:{port}", "justification": "the lab weather service"},
            )
        )

        # Testing before the host is approved: refused, and it says so.
        with anyio.fail_after(60):
            while (
                run := data(
                    await client.call_tool(
                        "mcpbox_test_code",
                        {"server": "lab", "tool": "weather", "arguments": {"city": "Lisbon"}},
                    )
                )
            )["error_kind"] == "sandbox":
                await anyio.sleep(0.2)
        assert run["ok"] is False
        assert run["egress"][0]["outcome"] == "refused"

        owner(mcpbox_server, "approvals", "approve", host["ref"])
        with anyio.fail_after(15):
            while not (
                run := data(
                    await client.call_tool(
                        "mcpbox_test_code",
                        {"server": "lab", "tool": "weather", "arguments": {"city": "Lisbon"}},
                    )
                )
            )["ok"]:
                await anyio.sleep(0.2)
        assert run["result"]["forecast"] == "sunny"
        assert run["result"]["seen_auth"] == "Bearer [REDACTED:API_KEY]"  # the secret went out, not back

        # Publication: pending until the owner approves on the CLI.
        publish = data(await client.call_tool("mcpbox_request_publish", {"server": "lab", "name": "weather"}))
        assert "owner must approve" in json.dumps(publish)
        assert "lab__weather" not in await tool_names(client)
        pending = json.loads(owner(mcpbox_server, "approvals", "list", "--json"))
        tool_ref = next(item["ref"] for item in pending["pending"] if item["kind"] == "tool")
        seen = len(changes)
        owner(mcpbox_server, "approvals", "approve", tool_ref)
        await wait_for_change(seen)
        assert "lab__weather" in await tool_names(client)
        called = data(await client.call_tool("lab__weather", {"city": "Porto"}))
        assert called == {"city": "Porto", "forecast": "sunny", "seen_auth": "Bearer [REDACTED:API_KEY]"}
        assert SECRET not in json.dumps(called)

        # An update withdraws it until the new version is approved.
        seen = len(changes)
        data(
            await client.call_tool(
                "mcpbox_update_tool", {"server": "lab", "name": "weather", "code": tool_source(port, "!")}
            )
        )
        await wait_for_change(seen)
        assert "lab__weather" not in await tool_names(client)
        with pytest.raises(MCPError, match=r"Unknown tool.*not published"):  # not callable by name, and why
            await client.call_tool("lab__weather", {"city": "Porto"})

        # Rollback to version 1, whose content was approved: published again at once.
        seen = len(changes)
        rolled = data(
            await client.call_tool("mcpbox_rollback_tool", {"server": "lab", "name": "weather", "version": 1})
        )
        assert rolled["tool"]["status"] == "approved"
        await wait_for_change(seen)
        assert data(await client.call_tool("lab__weather", {"city": "Faro"}))["forecast"] == "sunny"

        status = data(await client.call_tool("mcpbox_get_tool_status", {"server": "lab", "name": "weather"}))
        assert status["exposed"] is True
        assert status["exposed_name"] == "lab__weather"

        # Delete.
        seen = len(changes)
        data(
            await client.call_tool(
                "mcpbox_delete_tool", {"server": "lab", "name": "weather", "confirm": True}
            )
        )
        await wait_for_change(seen)
        assert "lab__weather" not in await tool_names(client)
