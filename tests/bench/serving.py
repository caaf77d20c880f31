"""Serve a bench ASGI app under hypercorn the way ``mcpbox serve`` does (one process, no access log).

The two baseline servers (``bare_server``, ``sdk_server``) share this so they differ from mcpbox
only in the app: same hypercorn settings, same event-loop choice. ``worker_class`` is hypercorn's
own name: ``asyncio`` or ``uvloop`` (what ``--worker-class uvloop`` selects on the hypercorn CLI).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

WORKER_CLASSES = ("asyncio", "uvloop")


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker-class", choices=WORKER_CLASSES, default="asyncio")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def hypercorn_config(port: int, worker_class: str) -> Config:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.worker_class = worker_class
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.include_server_header = False
    config.graceful_timeout = 2.0
    return config


def run(app: Any, port: int, worker_class: str) -> None:
    """Block serving ``app`` until SIGINT/SIGTERM (hypercorn's uvloop worker uses the same loop factory)."""
    config = hypercorn_config(port, worker_class)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if worker_class == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
