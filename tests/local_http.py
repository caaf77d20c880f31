"""A tiny HTTP/1.1 server on 127.0.0.1 for tests that let sandboxed tools reach "the lab"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

Responder = Callable[[str], tuple[bytes, bytes]]  # request head -> (content type, body)


def fixed_text(body: bytes) -> Responder:
    return lambda head: (b"text/plain", body)


@asynccontextmanager
async def local_http_server(respond: Responder) -> AsyncIterator[int]:
    """Serve ``respond(request_head)`` to every request; yields the port. Loopback only."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        content_type, body = respond(head)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (content_type, len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
