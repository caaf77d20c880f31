"""An app with the admin UI and API mounted, its lifespan running, reached over ASGITransport.

Until the lead mounts ``admin_routes``/``api_routes`` in ``create_app``, this builds the same
shape of app: the routes, ``SecurityHeadersMiddleware`` and ``open_app_state`` as lifespan.
Argon2 runs with cheap parameters and the auth clock is a ``FakeClock`` tests can advance.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from mcpbox.approvals import service as approvals
from mcpbox.auth.policy import AuthPolicy, PasswordParameters
from mcpbox.config import Config
from mcpbox.db import server_store
from mcpbox.db.activity_store import ActivityFilter, ActivityRecord, list_activity
from mcpbox.db.models import utcnow
from mcpbox.db.tool_store import ToolInfo
from mcpbox.sandbox.pool import PoolState
from mcpbox.state import AppState, open_app_state
from mcpbox.tools import lifecycle
from mcpbox.web.routes import admin_routes, api_routes, build_site
from mcpbox.web.security_headers import SecurityHeadersMiddleware

OWNER = "owner"
PASSWORD = "correct horse battery staple"
CHEAP_ARGON2 = PasswordParameters(time_cost=1, memory_kib=1024, parallelism=1)
# Values for the path parameters of every route in both tables (tests format each path with them).
PATH_VALUES = {
    "name": "home",
    "key": "API_KEY",
    "tool": "weather",
    "ref": "tool:1",
    "setting": "tool_approval_mode",
}
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def cheap_policy(clock: FakeClock | None = None, **changes: object) -> AuthPolicy:
    values: dict[str, object] = {"password": CHEAP_ARGON2, **changes}
    if clock is not None:
        values["clock"] = clock
    return AuthPolicy(**values)  # type: ignore[arg-type]


@dataclass
class Admin:
    client: httpx.AsyncClient
    state: AppState

    async def csrf(self, path: str = "/admin/") -> str:
        return csrf_from((await self.client.get(path)).text)


def csrf_from(html: str) -> str:
    found = _CSRF_RE.search(html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)


@asynccontextmanager
async def admin_app(
    data_dir: Path,
    *,
    policy: AuthPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    base_url: str = "http://127.0.0.1:8000",
    stream_seconds: float = 0.4,
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    env = {"MCPBOX_DATA_DIR": str(data_dir), "MCPBOX_ACTIVITY_FLUSH_SECONDS": "0.02", **(environ or {})}
    config = Config.load(environ=env)
    site = build_site(policy or cheap_policy(), stream_seconds=stream_seconds, stream_poll_seconds=0.05)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_app_state(config) as state:
            app.state.mcpbox = state
            yield

    app = Starlette(
        routes=[*admin_routes(site), *api_routes(site)],
        middleware=[Middleware(SecurityHeadersMiddleware)],
        lifespan=lifespan,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, app.state.mcpbox


async def run_setup(client: httpx.AsyncClient, state: AppState, name: str = OWNER) -> httpx.Response:
    """First-run setup through the page, as a browser does it."""
    page = await client.get(f"/admin/setup?token={state.setup_token}")
    assert page.status_code == 200, page.text
    return await client.post(
        "/admin/setup",
        data={
            "csrf_token": csrf_from(page.text),
            "setup_token": state.setup_token or "",
            "name": name,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )


async def log_in(client: httpx.AsyncClient, name: str = OWNER, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login", data={"csrf_token": csrf_from(page.text), "name": name, "password": password}
    )


async def wait_for_event(state: AppState, name: str, timeout: float = 5.0) -> ActivityRecord:
    """The newest recorded event called ``name`` (the recorder writes in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        found, _ = await list_activity(state.database, ActivityFilter(name=name), limit=1)
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {name} event recorded")
        await anyio.sleep(0.02)


WEATHER_V1 = '''def main(city: str) -> str:
    """Today's weather for a city."""
    print("looking up", city)
    return f"sunny in {city}"
'''
WEATHER_V2 = '''def main(city: str, units: str = "metric") -> str:
    """Today's weather for a city."""
    print("looking up", city)
    return f"sunny in {city} ({units})"
'''


async def pending_tool(state: AppState, code: str = WEATHER_V1, *, server: str = "home") -> ToolInfo:
    """Server ``home`` (created if needed) with tool ``weather`` pending review, as an LLM leaves it."""
    if await server_store.find_server(state.database, server) is None:
        await server_store.create_server(state.database, name=server, created_by="llm")
    await lifecycle.create_tool(
        state.database, server=server, name="weather", code=code, created_by="llm", hooks=state.hooks
    )
    return await lifecycle.request_publish(
        state.database, server=server, name="weather", requested_by="llm", hooks=state.hooks
    )


async def approved_then_changed(state: AppState) -> ToolInfo:
    """``weather`` approved at v1, then updated to v2 and sent for review again (the diff case)."""
    tool = await pending_tool(state)
    await approvals.approve_tool(
        state.database, tool.id, content_hash=tool.current_hash, decided_by=OWNER, hooks=state.hooks
    )
    await lifecycle.update_tool(
        state.database, server="home", name="weather", updated_by="llm", hooks=state.hooks, code=WEATHER_V2
    )
    return await lifecycle.request_publish(
        state.database, server="home", name="weather", requested_by="llm", hooks=state.hooks
    )


class CallCounter:
    """Counts calls of a zero-argument callable it wraps (e.g. ``watcher.local_change``)."""

    def __init__(self, wrapped: Callable[[], None]) -> None:
        self.wrapped = wrapped
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        self.wrapped()


async def wait_for_pool(state: AppState, timeout: float = 20.0) -> None:
    """The sandbox pool starts in the background (two-phase start); test runs need it running."""
    with anyio.fail_after(timeout):
        while state.pool.state is not PoolState.RUNNING:
            await anyio.sleep(0.02)
