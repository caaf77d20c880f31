"""Run the app under hypercorn on a socket bound before anything else starts.

Binding first turns "port already in use" into a one-line startup error (exit 3) instead of a
traceback after the database and sandbox were opened. The socket is handed to hypercorn as
``fd://``; SIGINT/SIGTERM trigger a graceful shutdown with a deadline.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
from collections.abc import Callable

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from starlette.types import ASGIApp

from mcpbox.config import Config
from mcpbox.errors import StartupError

logger = logging.getLogger(__name__)
SHUTDOWN_DEADLINE_SECONDS = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket now, so a taken port is reported before anything else starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = "127.0.0.1" if host == "localhost" else host
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((address, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is already in use (another mcpbox?)") from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise StartupError(f"not allowed to bind {host}:{port} ({exc.strerror})") from exc
        raise StartupError(f"cannot bind {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _hypercorn_config(config: Config, fd: int) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [f"fd://{fd}"]
    hc.errorlog = logging.getLogger("hypercorn.error")
    hc.accesslog = logging.getLogger("hypercorn.access") if config.access_log else None
    hc.graceful_timeout = SHUTDOWN_DEADLINE_SECONDS
    hc.keep_alive_timeout = 75
    hc.h11_max_incomplete_size = 64 * 1024
    hc.include_server_header = False
    return hc


FatalHandler = Callable[[BaseException], None]
AppFactory = Callable[[FatalHandler], ASGIApp]


async def serve(
    config: Config,
    build_app: AppFactory,
    *,
    sock: socket.socket | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Serve ``build_app(on_fatal)`` until SIGINT/SIGTERM or a start-up failure.

    The app starts serving before its state is open (two-phase start); if opening the state
    fails it calls ``on_fatal``, the server shuts down, and the failure is raised here so the CLI
    reports it in one line with exit code 3.
    """
    sock = sock or bind_socket(config.host, config.port)
    stop = asyncio.Event()
    if install_signal_handlers:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    failures: list[BaseException] = []

    def on_fatal(exc: BaseException) -> None:
        failures.append(exc)
        stop.set()

    # hypercorn owns (and closes) the descriptor it is given.
    fd = sock.detach()
    try:
        app = build_app(on_fatal)
    except BaseException:
        os.close(fd)
        raise
    await hypercorn_serve(app, _hypercorn_config(config, fd), shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    if failures:
        raise failures[0]


def run(
    config: Config,
    build_app: AppFactory,
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Blocking entry point for ``mcpbox serve``: binds first, then runs the event loop."""
    sock = bind_socket(config.host, config.port)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(config, build_app, sock=sock))
