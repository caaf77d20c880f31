"""Start a real ``mcpbox serve`` subprocess on 127.0.0.1 for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    port: int
    data_dir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def mcpbox_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mcpbox", *args]


def serve_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPBOX_")}
    env["MCPBOX_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def wait_ready(proc: ServeProcess, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            _out, err = proc.process.communicate(timeout=5)
            raise RuntimeError(f"mcpbox serve exited with {proc.process.returncode}: {err[-2000:]}")
        try:
            if httpx.get(proc.base_url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.stop(signal.SIGKILL)
    raise RuntimeError("mcpbox serve did not become ready in time")


@contextmanager
def running_mcpbox(
    data_dir: Path, *, env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[ServeProcess]:
    port = port or free_port()
    process = subprocess.Popen(
        mcpbox_command("serve", "--host", "127.0.0.1", "--port", str(port)),
        env=serve_env(data_dir, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    proc = ServeProcess(process=process, port=port, data_dir=data_dir)
    try:
        wait_ready(proc)
        yield proc
    finally:
        proc.stop()
        if proc.process.stderr is not None:
            proc.process.stderr.close()
