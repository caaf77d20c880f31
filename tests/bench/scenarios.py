"""What the bench runs: the servers (how to start them) and the scenarios (what to call on them).

Add a scenario by appending to ``SCENARIOS``. A scenario names a server, the tool call to repeat,
and optionally a ``prepare`` hook that runs once on a live session before the load (to publish a
tool, check that a tool exists, pick the call) and may raise ``ScenarioUnavailable`` to skip with
a reason instead of failing. ``background`` is a call left in flight during the measurement.

mcpbox scenarios that switch themselves on when the tools they need are listed (until then they
are reported as skipped with the reason):
* ``sandbox-oneshot``: ``mcpbox_test_code`` with an echo source, one fresh sandbox per call;
* ``sandbox-warm``: a published echo tool served by warm workers;
* ``echo-while-sleeping``: p99 of the warm echo while another published tool sleeps 30 s (that
  call is cancelled with ``notifications/cancelled`` when the run ends).
Publication needs no human: the bench seeds ``tool_approval_mode = auto_approve`` into its own
fresh data dir before mcpbox starts (``seed_auto_approve``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.loadgen import LoadError, McpSession, ToolCall

PYTHON = sys.executable
MCPBOX_BIN = str(Path(sys.executable).parent / "mcpbox")
MESSAGE = "hello from the bench"


def echoed(result: Mapping[str, Any]) -> str | None:
    """An echo tool's result must carry the message back as text."""
    for block in result.get("content") or []:
        if isinstance(block, dict) and block.get("text") == MESSAGE:
            return None
    return "the message did not come back as a text block"


def ran_echo(result: Mapping[str, Any]) -> str | None:
    """``mcpbox_test_code`` reports the run as data; the run must be ok and return the message."""
    report = result.get("structuredContent")
    if not isinstance(report, dict):
        return "no structuredContent run report"
    if report.get("ok") is not True:
        return f"run not ok: {report.get('error')!r}"
    if report.get("result") != MESSAGE:
        return f"run returned {report.get('result')!r}"
    return None


ECHO = ToolCall("echo", {"message": MESSAGE}, expect=echoed)


class ScenarioUnavailable(Exception):
    """The server cannot run this scenario yet (e.g. a tool that lands in a later issue)."""


@dataclass(frozen=True)
class PreparedCalls:
    call: ToolCall
    background: ToolCall | None = None


Prepare = Callable[[McpSession], Awaitable[PreparedCalls]]


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server under test; ``argv``/``env`` get the port and a private work dir."""

    key: str
    description: str
    argv: Callable[[int, Path], list[str]]
    env: Callable[[Path], Mapping[str, str]] = lambda workdir: dict(os.environ)
    ready_timeout_s: float = 30.0
    worker_class: str = "asyncio"
    is_mcpbox: bool = False


@dataclass(frozen=True)
class Scenario:
    server: str
    name: str
    call: ToolCall
    concurrencies: tuple[int, ...] = (1, 8)
    prepare: Prepare | None = None
    note: str = ""


def _bare(worker_class: str) -> Callable[[int, Path], list[str]]:
    def argv(port: int, workdir: Path) -> list[str]:
        return [PYTHON, "-m", "tests.bench.bare_server", "--port", str(port), "--worker-class", worker_class]

    return argv


def _sdk(mode: str, worker_class: str) -> Callable[[int, Path], list[str]]:
    def argv(port: int, workdir: Path) -> list[str]:
        return [
            PYTHON, "-m", "tests.bench.sdk_server", "--port", str(port),
            "--mode", mode, "--worker-class", worker_class,
        ]  # fmt: skip

    return argv


def _canned(port: int, workdir: Path) -> list[str]:
    return [PYTHON, "-m", "tests.bench.canned_server", "--port", str(port)]


def mcpbox_argv(port: int, data_dir: Path) -> list[str]:
    return [MCPBOX_BIN, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]


def seed_auto_approve(data_dir: Path) -> None:
    """Create the bench's database with ``tool_approval_mode = auto_approve`` so that the
    published-tool scenarios need no owner; the policy is stored in the database, not in config."""
    from mcpbox.config import Config
    from mcpbox.db import migrate, setting_store
    from mcpbox.db.engine import open_database

    async def seed() -> None:
        config = Config.load(environ={"MCPBOX_DATA_DIR": str(data_dir)})
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        await migrate.upgrade_async(config)
        database = await open_database(config)
        try:
            await setting_store.set_setting(
                database, "tool_approval_mode", "auto_approve", updated_by="bench"
            )
        finally:
            await database.close()

    # Called from the bench's event loop: seed on a thread with a loop of its own.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, seed()).result()


def mcpbox_env(data_dir: Path) -> dict[str, str]:
    """Only the settings the bench chooses: stray ``MCPBOX_*`` variables of the caller are dropped.

    Also seeds the data dir (once) so that publish requests are approved by policy.
    """
    if not (data_dir / "mcpbox.db").exists():
        seed_auto_approve(data_dir)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCPBOX_")}
    env["MCPBOX_DATA_DIR"] = str(data_dir)
    return env


SERVERS: dict[str, ServerSpec] = {
    spec.key: spec
    for spec in (
        ServerSpec("canned", "raw asyncio+uvloop canned answers (load generator ceiling)", _canned),
        ServerSpec("bare", "bare Starlette JSON-RPC, hypercorn asyncio worker", _bare("asyncio")),
        ServerSpec(
            "bare-uvloop", "bare Starlette JSON-RPC, hypercorn uvloop worker", _bare("uvloop"),
            worker_class="uvloop",
        ),
        ServerSpec(
            "sdk", "mcp 2.3.0 MCPServer, stateless_http+json_response, hypercorn asyncio",
            _sdk("stateless-json", "asyncio"),
        ),
        ServerSpec(
            "sdk-uvloop", "mcp 2.3.0 MCPServer, stateless_http+json_response, hypercorn uvloop",
            _sdk("stateless-json", "uvloop"), worker_class="uvloop",
        ),
        ServerSpec(
            "sdk-stateful", "mcp 2.3.0 MCPServer, sessions+json_response, hypercorn uvloop",
            _sdk("stateful-json", "uvloop"), worker_class="uvloop",
        ),
        ServerSpec(
            "mcpbox", "mcpbox serve (fresh data dir; uvloop per its CLI)", mcpbox_argv, mcpbox_env,
            ready_timeout_s=60.0, worker_class="uvloop", is_mcpbox=True,
        ),
    )
}  # fmt: skip

BASELINE_SDK = ("sdk", "sdk-uvloop", "sdk-stateful")
BASELINE_BARE = ("bare", "bare-uvloop")


async def list_tool_names(session: McpSession) -> set[str]:
    names: set[str] = set()
    cursor: str | None = None
    for _ in range(100):
        result = await session.request("tools/list", {"cursor": cursor} if cursor else {})
        names.update(str(tool["name"]) for tool in result.get("tools", []))
        cursor = result.get("nextCursor")
        if not cursor:
            break
    return names


def requires_tools(*names: str, call: ToolCall, background: ToolCall | None = None) -> Prepare:
    """A prepare hook that skips the scenario until the server lists every tool in ``names``."""

    async def prepare(session: McpSession) -> PreparedCalls:
        missing = sorted(set(names) - await list_tool_names(session))
        if missing:
            raise ScenarioUnavailable(f"tools not listed yet: {', '.join(missing)}")
        await wait_until_answering(session, call)
        return PreparedCalls(call, background)

    return prepare


async def wait_until_answering(session: McpSession, call: ToolCall) -> None:
    """Repeat ``call`` until it gives the expected answer: a sandbox pool starts after the server is
    ready, and timing it while it still answers "starting" would time the error path."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while True:
        try:
            await session.call_tool(call)
            return
        except LoadError:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.1)


BENCH_SERVER = "bench"
ECHO_SOURCE = '''async def main(message: str) -> str:
    """Return the message unchanged."""
    return message
'''
SLEEP_SOURCE = '''import asyncio


async def main(seconds: float = 30.0) -> str:
    """Sleep, then say so."""
    await asyncio.sleep(seconds)
    return "slept"
'''
TEST_ECHO = ToolCall(
    "mcpbox_test_code", {"code": ECHO_SOURCE, "arguments": {"message": MESSAGE}}, expect=ran_echo
)
PUBLISH_TOOLS = ("mcpbox_create_server", "mcpbox_create_tool", "mcpbox_request_publish")
PUBLISH_WAIT_SECONDS = 5.0
ANSWER_WAIT_SECONDS = 15.0


async def publish_tool(session: McpSession, name: str, source: str) -> str:
    """Create ``bench`` (once), save ``name`` with ``source``, ask to publish it, wait until it is listed.

    The bench's data dir approves publish requests by policy (see ``seed_auto_approve``).
    """
    listed = await list_tool_names(session)
    missing = sorted(set(PUBLISH_TOOLS) - listed)
    if missing:
        raise ScenarioUnavailable(f"tools not listed yet: {', '.join(missing)}")
    mcp_name = f"{BENCH_SERVER}__{name}"
    if mcp_name in listed:
        return mcp_name
    await _call_unless_exists(session, ToolCall("mcpbox_create_server", {"name": BENCH_SERVER}))
    await _call_unless_exists(
        session, ToolCall("mcpbox_create_tool", {"server": BENCH_SERVER, "name": name, "code": source})
    )
    await session.call_tool(ToolCall("mcpbox_request_publish", {"server": BENCH_SERVER, "name": name}))
    deadline = time.monotonic() + PUBLISH_WAIT_SECONDS
    while time.monotonic() < deadline:
        if mcp_name in await list_tool_names(session):
            return mcp_name
        await asyncio.sleep(0.2)
    raise ScenarioUnavailable(
        f"{mcp_name} not listed {PUBLISH_WAIT_SECONDS:.0f}s after mcpbox_request_publish "
        "(tool_approval_mode should be auto_approve in the bench data dir)"
    )


async def _call_unless_exists(session: McpSession, call: ToolCall) -> None:
    """Create something; an "already exists" answer (the other scenario made it) is fine."""
    try:
        await session.call_tool(call)
    except LoadError as exc:
        if "exist" not in str(exc).lower():
            raise


async def prepare_warm_echo(session: McpSession) -> PreparedCalls:
    echo = ToolCall(await publish_tool(session, "echo", ECHO_SOURCE), ECHO.arguments, expect=echoed)
    await wait_until_answering(session, echo)
    return PreparedCalls(echo)


async def prepare_echo_while_sleeping(session: McpSession) -> PreparedCalls:
    echo = await publish_tool(session, "echo", ECHO_SOURCE)
    sleep = await publish_tool(session, "sleep", SLEEP_SOURCE)
    return PreparedCalls(
        ToolCall(echo, ECHO.arguments, expect=echoed), background=ToolCall(sleep, {"seconds": 30})
    )


SCENARIOS: list[Scenario] = [
    # The canned server answers every call with the same text: nothing to check.
    Scenario(
        "canned", "echo", ToolCall("echo", ECHO.arguments), concurrencies=(8,), note="load generator ceiling"
    ),
    Scenario("bare", "echo", ECHO),
    Scenario("bare-uvloop", "echo", ECHO),
    Scenario("sdk", "echo", ECHO),
    Scenario("sdk-uvloop", "echo", ECHO),
    Scenario("sdk-stateful", "echo", ECHO),
    Scenario("mcpbox", "list_servers", ToolCall("mcpbox_list_servers", {})),
    # One fresh sandbox worker per call (DESIGN.md §5); arguments per DESIGN.md §6.
    Scenario(
        "mcpbox", "sandbox-oneshot", TEST_ECHO, prepare=requires_tools("mcpbox_test_code", call=TEST_ECHO)
    ),
    Scenario("mcpbox", "sandbox-warm", ECHO, prepare=prepare_warm_echo),
    Scenario("mcpbox", "echo-while-sleeping", ECHO, prepare=prepare_echo_while_sleeping),
]
