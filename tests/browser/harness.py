"""Headless Chromium (Debian's, through Playwright) against a real ``mcpbox serve``, plus the
official MCP SDK client, for the browser tests and ``make screenshots``.

The browser is the system ``/usr/bin/chromium``; Playwright never downloads one. ``mcpbox serve``
prints its one-time setup link on stderr; ``serve_with_setup_token`` drains that pipe in a thread
(so the server can never block on a full pipe) and picks the token out of it. The MCP client is
async; it runs in a worker thread with its own event loop, so the synchronous Playwright API in
the test's thread is not disturbed.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import mcp.types as types
from mcp import Client
from playwright.sync_api import Browser, Page, Playwright

from tests.e2e.serve import ServeProcess, running_mcpbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
OWNER = "owner"
PASSWORD = "correct horse battery staple"
TOKEN_RE = re.compile(r"/admin/setup\?token=(\S+)")
T = TypeVar("T")


def launch_chromium(playwright: Playwright) -> Browser:
    if shutil.which(CHROMIUM) is None:
        raise RuntimeError(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


@dataclass
class StderrTail:
    """Everything the server wrote to stderr so far (read continuously by a daemon thread)."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, pattern: re.Pattern[str], timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for line in self.lines:
                    found = pattern.search(line)
                    if found:
                        return found.group(1)
            time.sleep(0.02)
        raise AssertionError(f"mcpbox serve printed no line matching {pattern.pattern!r}")


@contextmanager
def serve_with_setup_token(data_dir: Path) -> Iterator[tuple[ServeProcess, str]]:
    """A real ``mcpbox serve`` on 127.0.0.1 and the setup token from its banner."""
    with running_mcpbox(data_dir, env={"MCPBOX_ACTIVITY_FLUSH_SECONDS": "0.05"}) as proc:
        tail = StderrTail()
        stream = proc.process.stderr
        assert stream is not None

        def drain() -> None:
            for line in stream:
                with tail.lock:
                    tail.lines.append(line)

        threading.Thread(target=drain, name="mcpbox-stderr", daemon=True).start()
        yield proc, tail.find(TOKEN_RE)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a fresh event loop in a worker thread."""

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main).result(timeout=60)


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error is False, result.content
    if result.structured_content is not None:
        return dict(result.structured_content)
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    return {"text": text.text}


def mcp_calls(url: str, *calls: tuple[str, dict[str, Any]]) -> list[types.CallToolResult]:
    """Call tools in order over one legacy (handshake) session of the official SDK client."""

    async def session() -> list[types.CallToolResult]:
        async with Client(url, mode="legacy") as client:
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    return run_async(session)


def mcp_call(url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return structured(mcp_calls(url, (name, arguments))[0])


def mcp_tool_names(url: str) -> set[str]:
    async def session() -> set[str]:
        async with Client(url, mode="legacy") as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    return run_async(session)


def complete_setup(page: Page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/admin/setup?token={token}")
    page.locator("#name").fill(OWNER)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_again").fill(PASSWORD)
    page.get_by_role("button", name="Create account and sign in").click()
    page.wait_for_url(f"{base_url}/admin/")


def sign_in(page: Page, base_url: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/admin/login")
    page.locator("#name").fill(OWNER)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def api(page: Page, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the admin JSON API with the page's session cookie and CSRF token."""
    csrf = page.request.get(path_of(page, "/api/session")).json()["csrf_token"]
    response = page.request.fetch(
        path_of(page, path),
        method=method,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        data=json.dumps(body or {}),
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def path_of(page: Page, path: str) -> str:
    match = re.match(r"https?://[^/]+", page.url)
    assert match is not None, page.url
    return match.group(0) + path
