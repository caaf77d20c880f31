"""The assembled app: health, readiness, metrics access, security headers, first-run files."""

from __future__ import annotations

import stat
from pathlib import Path

import anyio
import pytest

from tests.app_harness import running_app

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_first_run_creates_private_data_dir_database_and_key_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "mcpbox"
    async with running_app(data_dir) as (client, state):
        assert (await client.get("/health")).json()["status"] == "ok"
        assert state.setup_token  # one-time token issued, stored hashed
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "keys.json").stat().st_mode) == 0o600
    assert (data_dir / "mcpbox.db").exists()


async def test_ready_reports_database_sandbox_and_isolation_once_the_pool_runs(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (client, _):
        with anyio.fail_after(30):
            while (response := await client.get("/health/ready")).status_code != 200:
                assert response.status_code == 503
                assert response.json()["status"] == "not_ready"
                await anyio.sleep(0.05)
        body = response.json()
        assert body["status"] == "ready"
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["sandbox"]["state"] == "running"
        layers = {layer["name"]: layer["active"] for layer in body["checks"]["isolation"]["layers"]}
        assert layers["landlock"] is True
        assert layers["network_namespace"] is True


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/metrics", "/mcp", "/nowhere"])
async def test_every_response_carries_security_headers(tmp_path: Path, path: str) -> None:
    async with running_app(tmp_path) as (client, _):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        assert "camera=()" in response.headers["permissions-policy"]


async def test_metrics_count_mcp_requests_for_loopback_clients(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (client, _):
        assert (await client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)).status_code == 200
        text = (await client.get("/metrics")).text
        assert 'mcpbox_mcp_requests_total{method="initialize",outcome="ok"} 1' in text
        assert "mcpbox_mcp_sessions 1" in text


async def test_metrics_refused_to_remote_clients_without_a_token(tmp_path: Path) -> None:
    async with running_app(tmp_path, client_host="203.0.113.9") as (client, _):
        assert (await client.get("/metrics")).status_code == 403


async def test_metrics_token_is_required_when_configured(tmp_path: Path) -> None:
    env = {"MCPBOX_METRICS_TOKEN": "tok-123456"}
    async with running_app(tmp_path, environ=env, client_host="203.0.113.9") as (client, _):
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer tok-123456"})
        assert ok.status_code == 200
        assert "# TYPE mcpbox_mcp_requests_total counter" in ok.text
