"""A canned-answer HTTP server used only to measure the load generator's own ceiling.

An asyncio protocol on uvloop that answers each POST with prebuilt bytes (the JSON-RPC id copied
in) and no framework at all. If the load generator reaches many times the bare server's calls/s
against this, the load generator is not what limits the other figures.

Run: ``python -m tests.bench.canned_server --port 8003``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
from typing import cast

import uvloop

ID_PATTERN = re.compile(rb'"id"\s*:\s*(\d+)')
LENGTH_PATTERN = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
RESULT_BODY = b'"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}'
INIT_BODY = (
    b'"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},'
    b'"serverInfo":{"name":"canned","version":"0"}}}'
)


def _response(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


class CannedProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only duck-typed ones.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = LENGTH_PATTERN.search(self.buffer, 0, end + 2)
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self._answer(body))

    @staticmethod
    def _answer(body: bytes) -> bytes:
        found = ID_PATTERN.search(body)
        if found is None:
            return b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
        head = b'{"jsonrpc":"2.0","id":' + found.group(1) + b","
        if b'"initialize"' in body:
            return _response(head + INIT_BODY, b"mcp-session-id: canned\r\n")
        return _response(head + RESULT_BODY)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(CannedProtocol, "127.0.0.1", port)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
