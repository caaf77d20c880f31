"""The load generator: handshake-era MCP over raw asyncio streams, one keep-alive connection per worker.

A hand-written HTTP/1.1 client (request bytes prebuilt per session, ``Content-Length`` or chunked
bodies, JSON or SSE payloads) costs a fraction of httpx per call, so one client core can drive a
single-core server to saturation; ``run.py`` proves it against a canned-response server.

Each worker does the flow a real client does: ``initialize`` → ``notifications/initialized`` →
N × ``tools/call`` carrying ``Mcp-Session-Id`` (when the server issued one) and
``MCP-Protocol-Version``. Latency is taken per call with ``perf_counter_ns``; only calls that start
and finish inside the measured window count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = "2025-11-25"
CONNECT_TIMEOUT_SECONDS = 5.0
CALL_TIMEOUT_SECONDS = 60.0


class LoadError(Exception):
    """A transport or protocol failure seen by the load generator."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpConnection:
    """One HTTP/1.1 keep-alive connection to 127.0.0.1."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.reader = reader
        self.writer = writer
        self.closed = False

    @classmethod
    async def open(cls, port: int, timeout: float = CONNECT_TIMEOUT_SECONDS) -> HttpConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        return cls(port, reader, writer)

    def close(self) -> None:
        self.closed = True
        self.writer.close()

    def head(self, path: str, headers: Sequence[tuple[str, str]]) -> bytes:
        """The request line and fixed headers of a POST, up to (not including) Content-Length."""
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Content-Type: application/json",
            "Accept: application/json, text/event-stream",
            *(f"{name}: {value}" for name, value in headers),
        ]
        return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")

    async def post(self, head: bytes, body: bytes) -> HttpResponse:
        if self.closed:
            raise LoadError("connection closed by the server")
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        return await self._read_response()

    async def _read_response(self) -> HttpResponse:
        try:
            return await self._parse_response()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as exc:
            self.closed = True
            raise LoadError(f"bad or cut-off HTTP response ({type(exc).__name__}: {exc})") from exc

    async def _parse_response(self) -> HttpResponse:
        raw_head = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        elif status in (204, 304):
            body = b""
        else:
            body = await self.reader.read()
            self.closed = True
        if headers.get("connection", "").lower() == "close":
            self.closed = True
        return HttpResponse(status, headers, body)

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                while (await self.reader.readline()) not in (b"\r\n", b""):
                    pass
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]


def parse_jsonrpc(response: HttpResponse, request_id: int) -> dict[str, Any]:
    """The JSON-RPC response to ``request_id`` from a JSON or SSE body."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("text/event-stream"):
        for message in _sse_messages(response.body):
            if message.get("id") == request_id and ("result" in message or "error" in message):
                return message
        raise LoadError(f"HTTP {response.status}: no response to id {request_id} in the SSE stream")
    try:
        message = json.loads(response.body)
    except ValueError as exc:
        raise LoadError(f"HTTP {response.status}: body is not JSON: {response.body[:200]!r}") from exc
    if not isinstance(message, dict):
        raise LoadError(f"HTTP {response.status}: unexpected JSON body: {response.body[:200]!r}")
    return message


def _sse_messages(body: bytes) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for event in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:"))
        if data:
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
                if isinstance(parsed, dict):
                    messages.append(parsed)
    return messages


@dataclass(frozen=True)
class ToolCall:
    """A ``tools/call``; ``expect`` returns what is wrong with a result (None: it is right).

    A result can be ``isError: false`` and still not be the answer (``mcpbox_test_code`` reports a
    sandbox failure as data), so a scenario that times a tool also checks what it answered.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    expect: Callable[[Mapping[str, Any]], str | None] | None = None


class McpSession:
    """A handshake-era MCP session over one connection."""

    def __init__(self, connection: HttpConnection, path: str, token: str | None = None) -> None:
        self.connection = connection
        self.path = path
        self.base_headers: list[tuple[str, str]] = []
        if token:
            self.base_headers.append(("Authorization", f"Bearer {token}"))
        self.session_id: str | None = None
        self.protocol_version = PROTOCOL_VERSION
        self._next_id = 0
        self._head = connection.head(path, self.base_headers)

    @classmethod
    async def open(cls, port: int, path: str = "/mcp", token: str | None = None) -> McpSession:
        session = cls(await HttpConnection.open(port), path, token)
        try:
            await session.initialize()
        except BaseException:
            session.close()
            raise
        return session

    def close(self) -> None:
        self.connection.close()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def initialize(self) -> dict[str, Any]:
        request_id = 0  # what Inspector, Claude Code and the TS SDK send
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcpbox-bench", "version": "0"},
        }
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params})
        response = await self.connection.post(self._head, body.encode())
        result = _result_of(parse_jsonrpc(response, request_id), response.status, "initialize")
        self.session_id = response.headers.get("mcp-session-id")
        self.protocol_version = str(result.get("protocolVersion", PROTOCOL_VERSION))
        headers = [*self.base_headers, ("MCP-Protocol-Version", self.protocol_version)]
        if self.session_id is not None:
            headers.append(("Mcp-Session-Id", self.session_id))
        self._head = self.connection.head(self.path, headers)
        note = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
        ack = await self.connection.post(self._head, note)
        if ack.status != 202:
            raise LoadError(f"notifications/initialized answered HTTP {ack.status}, want 202")
        return result

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        await self.reconnect_if_closed()
        request_id = self._new_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        response = await self.connection.post(self._head, json.dumps(message).encode())
        return _result_of(parse_jsonrpc(response, request_id), response.status, method)

    def call_template(self, call: ToolCall) -> tuple[bytes, bytes]:
        """Prebuilt halves of a ``tools/call`` body; the id goes in between."""
        params = json.dumps({"name": call.name, "arguments": dict(call.arguments)}, separators=(",", ":"))
        return b'{"jsonrpc":"2.0","id":', (',"method":"tools/call","params":' + params + "}").encode()

    async def reconnect_if_closed(self) -> None:
        """Open a new connection for the same MCP session after the server closed the old one.

        hypercorn closes a keep-alive connection after ``keep_alive_max_requests`` (default 1000)
        requests; a real HTTP client reconnects and keeps the session, and so does this one.
        """
        if self.connection.closed:
            self.connection = await HttpConnection.open(self.connection.port)

    async def call(
        self, template: tuple[bytes, bytes], expect: Callable[[Mapping[str, Any]], str | None] | None = None
    ) -> dict[str, Any]:
        await self.reconnect_if_closed()
        request_id = self._new_id()
        body = template[0] + str(request_id).encode() + template[1]
        response = await self.connection.post(self._head, body)
        result = _result_of(parse_jsonrpc(response, request_id), response.status, "tools/call")
        if result.get("isError"):
            raise LoadError(f"tool error: {json.dumps(result)[:300]}")
        problem = expect(result) if expect is not None else None
        if problem:
            raise LoadError(f"unexpected result ({problem}): {json.dumps(result)[:300]}")
        return result

    async def call_tool(self, call: ToolCall) -> dict[str, Any]:
        return await self.call(self.call_template(call), call.expect)

    @property
    def last_request_id(self) -> int:
        return self._next_id

    async def cancel(self, request_id: int) -> None:
        """Send ``notifications/cancelled`` on a side connection (the request's own one is busy)."""
        side = await HttpConnection.open(self.connection.port)
        try:
            body = json.dumps({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "bench run over"},
            })  # fmt: skip
            await side.post(self._head, body.encode())
        finally:
            side.close()


def _result_of(message: Mapping[str, Any], status: int, method: str) -> dict[str, Any]:
    if "error" in message:
        raise LoadError(f"{method}: HTTP {status} JSON-RPC error {json.dumps(message['error'])[:300]}")
    result = message.get("result")
    if status != 200 or not isinstance(result, dict):
        raise LoadError(f"{method}: HTTP {status} unexpected body {json.dumps(message)[:300]}")
    return result


@dataclass
class LoadResult:
    concurrency: int
    duration_s: float
    latencies_ns: list[int]
    errors: int = 0
    first_error: str | None = None
    client_cpu_s: float = 0.0
    counters: dict[str, float] = field(default_factory=dict)  # deltas over the window, seconds

    @property
    def calls(self) -> int:
        return len(self.latencies_ns)

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.duration_s if self.duration_s > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds (NaN without calls)."""
        if not self.latencies_ns:
            return math.nan
        ordered = sorted(self.latencies_ns)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] / 1e6

    @property
    def client_cpu_pct(self) -> float:
        return 100 * self.client_cpu_s / self.duration_s if self.duration_s > 0 else 0.0

    def counter_per_call_us(self, name: str) -> float:
        """A counter's delta per measured call, in microseconds (e.g. server CPU per call)."""
        if name not in self.counters or not self.latencies_ns:
            return math.nan
        return 1e6 * self.counters[name] / len(self.latencies_ns)

    def counter_pct(self, name: str) -> float:
        """A counter's delta as a percentage of the window (NaN when it was not sampled)."""
        if name not in self.counters or self.duration_s <= 0:
            return math.nan
        return 100 * self.counters[name] / self.duration_s


async def run_load(
    port: int,
    call: ToolCall,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    path: str = "/mcp",
    token: str | None = None,
    background: ToolCall | None = None,
    counters: Mapping[str, Callable[[], float]] | None = None,
) -> LoadResult:
    """Drive ``concurrency`` sessions calling ``call`` back to back; measure after ``warmup_s``.

    ``background``, if given, is called once on its own session before the warm-up and left in
    flight during the measurement (e.g. a tool that sleeps 30 s), then abandoned. ``counters``
    (e.g. the server's CPU seconds) are sampled at both edges of the window.
    """
    counters = counters or {}
    sessions = await asyncio.gather(*(McpSession.open(port, path, token) for _ in range(concurrency)))
    background_session: McpSession | None = None
    background_task: asyncio.Task[dict[str, Any]] | None = None
    result = LoadResult(concurrency, duration_s, [])
    try:
        if background is not None:
            background_session = await McpSession.open(port, path, token)
            background_task = asyncio.create_task(background_session.call_tool(background))
        start = time.perf_counter_ns()
        measure_from = start + int(warmup_s * 1e9)
        measure_to = measure_from + int(duration_s * 1e9)
        before: dict[str, float] = {}

        async def mark_window() -> None:
            await asyncio.sleep(max(0.0, (measure_from - time.perf_counter_ns()) / 1e9))
            client0 = time.process_time()
            before.update({name: read() for name, read in counters.items()})
            await asyncio.sleep(max(0.0, (measure_to - time.perf_counter_ns()) / 1e9))
            result.counters = {name: read() - before[name] for name, read in counters.items()}
            result.client_cpu_s = time.process_time() - client0

        async def worker(session: McpSession) -> None:
            template = session.call_template(call)
            latencies = result.latencies_ns
            clock = time.perf_counter_ns
            while True:
                t0 = clock()
                if t0 >= measure_to:
                    return
                try:
                    await asyncio.wait_for(session.call(template, call.expect), CALL_TIMEOUT_SECONDS)
                except (LoadError, TimeoutError, OSError) as exc:
                    if t0 >= measure_from:
                        result.errors += 1
                    if result.first_error is None:
                        result.first_error = f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, LoadError):
                        session.connection.close()  # a reply may still be in flight on it
                    continue
                t1 = clock()
                if t0 >= measure_from and t1 <= measure_to:
                    latencies.append(t1 - t0)

        await asyncio.gather(mark_window(), *(worker(session) for session in sessions))
        if background_task is not None and background_task.done():
            # The point of a background call is to be in flight for the whole window.
            failure = background_task.exception()
            result.errors += 1
            result.first_error = result.first_error or (
                f"background call failed: {failure}"
                if failure
                else "background call ended before the window did"
            )
    finally:
        if background_task is not None and background_session is not None:
            if not background_task.done():
                # Stop the server-side call too, or it keeps a sandbox worker busy into later runs.
                with contextlib.suppress(LoadError, OSError, TimeoutError):
                    await asyncio.wait_for(background_session.cancel(background_session.last_request_id), 5)
            background_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await background_task
        for session in [*sessions, *([background_session] if background_session else [])]:
            session.close()
    return result


async def wait_until_ready(
    port: int,
    timeout_s: float,
    *,
    path: str = "/mcp",
    token: str | None = None,
    alive: Callable[[], bool] = lambda: True,
    poll_s: float = 0.002,
) -> float:
    """Poll with ``initialize`` until one succeeds; return ``perf_counter()`` of that success."""
    deadline = time.perf_counter() + timeout_s
    last_error = "no attempt"
    while time.perf_counter() < deadline:
        if not alive():
            raise LoadError(f"server exited before it was ready ({last_error})")
        try:
            # mcpbox binds its socket before the app starts: the connect succeeds early and the
            # initialize waits in the backlog, so bound the whole attempt by the deadline.
            remaining = max(0.001, deadline - time.perf_counter())
            session = await asyncio.wait_for(McpSession.open(port, path, token), remaining)
        except (OSError, LoadError, TimeoutError, asyncio.IncompleteReadError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(poll_s)
            continue
        ready_at = time.perf_counter()
        session.close()
        return ready_at
    raise LoadError(f"not ready after {timeout_s:.0f}s ({last_error})")
