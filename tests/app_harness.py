"""An in-process mcpbox app with its lifespan running, reached through httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx

from mcpbox.app import create_app
from mcpbox.config import Config
from mcpbox.state import AppState


@asynccontextmanager
async def running_app(
    data_dir: Path, *, environ: Mapping[str, str] | None = None, client_host: str = "127.0.0.1"
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    env = {"MCPBOX_DATA_DIR": str(data_dir), **(environ or {})}
    config = Config.load(environ=env)
    app = create_app(config)
    async with app.router.lifespan_context(app):
        with anyio.fail_after(60):
            await app.state.gate.wait()  # two-phase start: wait for the state to be open
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield client, app.state.mcpbox
