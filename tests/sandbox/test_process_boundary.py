"""The process boundary alone (Landlock, namespaces, scopes) stops what the policy would.

Tools run with ``policy=False``: real ``open``, ``socket``, ``os.kill``. What they try must fail
because of the OS layer, so each test also shows the thing works outside the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import RestrictedPython

import mcpbox
from mcpbox.config import Config
from mcpbox.errors import SandboxError
from mcpbox.sandbox.egress import EgressGrant
from mcpbox.sandbox.pool import EgressHandler, SandboxPool
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

pytestmark = pytest.mark.anyio
GRANT = EgressGrant(server="test")


async def refuse(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
    return HttpResponse(error="refused: no network in this test")


@contextlib.asynccontextmanager
async def running_pool(egress: EgressHandler = refuse, **settings: object) -> AsyncIterator[SandboxPool]:
    config = Config.load(environ={}, overrides={"sandbox_idle_workers": 2, **settings})
    pool = SandboxPool(config, egress)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


async def run_raw(pool: SandboxPool, source: str, **arguments: object) -> object:
    outcome = await pool.run_once(source, arguments, secrets={}, grant=GRANT, policy=False)
    assert outcome.ok, outcome.error
    assert outcome.result_json is not None
    return json.loads(outcome.result_json)


TRY_OPEN = """
def main(path: str, mode: str) -> str:
    try:
        with open(path, mode) as handle:
            if "w" in mode:
                handle.write("escaped")
            else:
                handle.read(10)
    except OSError as exc:
        return "refused: " + type(exc).__name__
    return "opened"
"""

TRY_CONNECT = """
import socket
def main(port: int) -> str:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return "refused: " + type(exc).__name__
    return "connected"
"""

TRY_KILL = """
import os
import signal
def main(pid: int) -> str:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as exc:
        return "refused: " + type(exc).__name__
    return "killed"
"""

INTERFACES = """
import socket
def main() -> list:
    return [name for _, name in socket.if_nameindex()]
"""


async def test_writing_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "escape.txt"
    async with running_pool() as pool:
        for path in (str(target), "/tmp/mcpbox-sandbox-escape.txt"):
            assert await run_raw(pool, TRY_OPEN, path=path, mode="w") == "refused: PermissionError"
    assert not target.exists()
    assert not Path("/tmp/mcpbox-sandbox-escape.txt").exists()


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/hostname", "/proc/self/environ"])
async def test_reading_files_outside_the_python_installation_is_refused(path: str) -> None:
    assert Path(path).exists()
    async with running_pool() as pool:
        assert await run_raw(pool, TRY_OPEN, path=path, mode="r") == "refused: PermissionError"


async def test_reading_the_data_directory_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "keys.json"
    secret.write_text('{"key": "secret"}')
    secret.chmod(0o644)
    tmp_path.chmod(0o755)
    async with running_pool(data_dir=str(tmp_path)) as pool:
        assert await run_raw(pool, TRY_OPEN, path=str(secret), mode="r") == "refused: PermissionError"


async def test_reading_the_python_installation_is_allowed() -> None:
    # site-packages rather than the stdlib: run as root, workers are nobody, and a stdlib under
    # /root (pyenv) is closed to them by plain permissions even though Landlock would allow it.
    async with running_pool() as pool:
        for module in (mcpbox, RestrictedPython):
            assert module.__file__ is not None
            assert await run_raw(pool, TRY_OPEN, path=module.__file__, mode="r") == "opened"


async def test_a_source_checkout_around_the_package_is_not_readable() -> None:
    """With an editable install the repository root is on sys.path; only the package is allowed."""
    checkout_file = Path(mcpbox.__path__[0]).parent / "pyproject.toml"
    if not checkout_file.exists():
        pytest.skip("mcpbox is installed as a wheel here; there is no checkout around it")
    async with running_pool() as pool:
        assert await run_raw(pool, TRY_OPEN, path=str(checkout_file), mode="r") == "refused: PermissionError"


async def test_a_live_local_listener_is_unreachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from here
        async with running_pool() as pool:
            # Landlock's TCP rule answers first (PermissionError); without it the empty network
            # namespace would (OSError: network unreachable). Either way nothing connects.
            assert await run_raw(pool, TRY_CONNECT, port=port) in (
                "refused: PermissionError",
                "refused: OSError",
            )


async def test_the_worker_sees_only_a_loopback_interface() -> None:
    async with running_pool() as pool:
        assert await run_raw(pool, INTERFACES) == ["lo"]


async def test_a_worker_cannot_signal_a_sibling_worker() -> None:
    echo = "def main() -> int:\n    return 7\n"
    async with running_pool() as pool:
        await pool.run_warm("v1", "s1", echo, {}, secrets={}, grant=GRANT)
        (target,) = [info.pid for info in pool.snapshot() if info.version_key == "v1"]
        assert await run_raw(pool, TRY_KILL, pid=target) == "refused: PermissionError"
        os.kill(target, 0)  # still alive, and still serving
        await pool.run_warm("v1", "s1", echo, {}, secrets={}, grant=GRANT)
        assert [info.pid for info in pool.snapshot() if info.version_key == "v1"] == [target]


async def test_a_worker_cannot_signal_the_zygote_or_the_server() -> None:
    async with running_pool() as pool:
        assert pool.zygote_pid is not None
        assert await run_raw(pool, TRY_KILL, pid=pool.zygote_pid) == "refused: PermissionError"
        assert await run_raw(pool, TRY_KILL, pid=os.getpid()) == "refused: PermissionError"


LISTEN_ABSTRACT = """
import socket
async def main(name: str) -> str:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\\0" + name)
    server.listen(1)
    await http.get("http://rendezvous.invalid/listening")
    server.close()
    return "done"
"""

CONNECT_ABSTRACT = """
import socket
def main(name: str) -> str:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect("\\0" + name)
    except OSError as exc:
        return "refused: " + type(exc).__name__
    return "connected"
"""


async def test_a_worker_cannot_reach_a_siblings_abstract_unix_socket() -> None:
    """Both workers share the zygote's network namespace; only Landlock's scope separates them."""
    name = f"mcpbox-test-{os.getpid()}"
    seen: list[object] = []
    pool_ref: list[SandboxPool] = []

    async def rendezvous(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
        # The listener is up and waiting for this answer: now a second worker tries to connect.
        seen.append(await run_raw(pool_ref[0], CONNECT_ABSTRACT, name=name))
        return HttpResponse(status_code=200)

    async with running_pool(rendezvous, sandbox_idle_workers=2) as pool:
        pool_ref.append(pool)
        result = await asyncio.wait_for(run_raw(pool, LISTEN_ABSTRACT, name=name), 30)
    assert result == "done"
    assert seen == ["refused: PermissionError"]


HOSTILE_FRAMES = {
    "oversized": "os.write(3, (2**31).to_bytes(4, 'big'))",
    "not_json": "os.write(3, (5).to_bytes(4, 'big') + b'{nope')",
    "forged_outcome": (
        'body = b\'{"op": "outcome", "ok": "yes"}\'\n    os.write(3, len(body).to_bytes(4, \'big\') + body)'
    ),
    "unknown_op": "body = b'{\"op\": \"shell\"}'\n    os.write(3, len(body).to_bytes(4, 'big') + body)",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FRAMES))
async def test_a_worker_breaking_the_framing_is_killed(kind: str) -> None:
    body = HOSTILE_FRAMES[kind]
    source = f"import os\nimport time\ndef main() -> int:\n    {body}\n    time.sleep(30)\n    return 1\n"
    async with running_pool() as pool:
        with pytest.raises(SandboxError):
            await pool.run_once(source, {}, secrets={}, grant=GRANT, policy=False)
        assert pool.kills == 1
        assert not [info for info in pool.snapshot() if info.state == "busy"]
        assert await run_raw(pool, "def main() -> int:\n    return 5\n") == 5
