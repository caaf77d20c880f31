"""The bridge proper: stdin messages in, gateway answers out, one task per client request.

Requests run concurrently (a slow ``tools/call`` never holds up a ``ping``); notifications and
client responses are POSTed in the order they arrived, because order matters for them
(``notifications/initialized`` before anything else, ``notifications/cancelled`` after the request
it cancels). After ``notifications/initialized`` the GET stream is held open so server pushes
such as ``notifications/tools/list_changed`` reach the client; it reconnects with backoff.

Session loss (the gateway restarted or expired us, HTTP 404): the bridge replays the client's own
``initialize`` to open a new session and retries the request once. That is safe because a 404 on
the session means the gateway did nothing with the request, and honest because the client is
then told ``notifications/tools/list_changed`` so it re-reads the tools. If the gateway now
negotiates a different protocol version the client would be talking past it, so the bridge
answers a JSON-RPC error instead and says so on stderr.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Final, TextIO

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcpbox.stdio_bridge.stdio import (
    Line,
    MessageWriter,
    OversizedLine,
    StdinItem,
    StdoutClosed,
    start_stdin_reader,
)
from mcpbox.stdio_bridge.upstream import (
    GATEWAY_UNREACHABLE,
    HTTP_TIMEOUT,
    INTERNAL_ERROR,
    MAX_MESSAGE_BYTES,
    SESSION_LOST,
    ConnectionLost,
    Deliver,
    GatewayRefused,
    GatewayUnreachable,
    NoStandaloneStream,
    SessionGone,
    Upstream,
)

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
# After stdin closes, answers already on their way get this long to arrive before we hang up.
EOF_GRACE_SECONDS: Final = 5.0
BACKOFF_FIRST_SECONDS: Final = 0.5
BACKOFF_MAX_SECONDS: Final = 30.0
EXIT_OK: Final = 0
EXIT_FATAL: Final = 1
EXIT_USAGE: Final = 2

RequestId = str | int


class Reporter:
    """One-line human messages on stderr, prefixed so they stand out in a client's log file."""

    def __init__(self, stderr: TextIO) -> None:
        self._stderr = stderr

    def say(self, text: str) -> None:
        try:
            self._stderr.write(f"mcpbox stdio: {text}\n")
            self._stderr.flush()
        except (OSError, ValueError):
            pass  # stderr is gone too; there is nobody left to tell


def _error(request_id: RequestId | None, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _valid_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


class Bridge:
    """Relays one stdio client to one gateway session."""

    def __init__(self, upstream: Upstream, writer: MessageWriter, reporter: Reporter) -> None:
        self._upstream = upstream
        self._writer = writer
        self._reporter = reporter
        self._initialize_params: Any = None
        self._listener_started = False
        self._reinit_lock = anyio.Lock()
        self._in_flight: dict[RequestId, anyio.CancelScope] = {}
        self._cancelled: set[RequestId] = set()
        self._idle = anyio.Event()
        self._idle.set()
        self._ordered_done = anyio.Event()
        self._fatal: str | None = None
        self._tasks: TaskGroup | None = None

    async def run(self, stdin: BinaryIO) -> int:
        lines_in, lines_out = anyio.create_memory_object_stream[StdinItem](0)
        ordered_in, ordered_out = anyio.create_memory_object_stream[dict[str, Any]](256)
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            start_stdin_reader(stdin, lines_in)
            tasks.start_soon(self._post_in_order, ordered_out)
            async with lines_out, ordered_in:
                async for item in lines_out:
                    await self._dispatch(item, ordered_in)
                    if self._fatal is not None:
                        break
            with anyio.move_on_after(EOF_GRACE_SECONDS):
                await self._ordered_done.wait()
                while not self._idle.is_set():
                    await self._idle.wait()
            tasks.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._end_session()
        if self._fatal is not None:
            self._reporter.say(self._fatal)
            return EXIT_FATAL
        return EXIT_OK

    def _stop(self, reason: str) -> None:
        """Stop the whole bridge: the client can no longer be reached."""
        if self._fatal is None:
            self._fatal = reason
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    async def _write(self, message: Any) -> None:
        try:
            await self._writer.write(message)
        except StdoutClosed:
            self._stop("stdout was closed by the client; stopping")

    async def _dispatch(self, item: StdinItem, ordered: MemoryObjectSendStream[dict[str, Any]]) -> None:
        if isinstance(item, OversizedLine):
            await self._write(_error(None, INVALID_REQUEST, f"message longer than {MAX_MESSAGE_BYTES} bytes"))
            return
        assert isinstance(item, Line)
        try:
            message = json.loads(item.data)
        except ValueError:  # UnicodeDecodeError is a ValueError too
            await self._write(_error(None, PARSE_ERROR, "Parse error: the line is not valid JSON"))
            return
        if isinstance(message, list):
            await self._write(_error(None, INVALID_REQUEST, "JSON-RPC batches are not supported"))
            return
        if not isinstance(message, dict):
            await self._write(_error(None, INVALID_REQUEST, "a JSON-RPC message must be an object"))
            return
        method = message.get("method")
        has_id = "id" in message
        if isinstance(method, str) and has_id:
            if not _valid_id(message["id"]):
                await self._write(_error(None, INVALID_REQUEST, "a request id must be a string or integer"))
                return
            if self._tasks is not None:
                self._begin(message["id"])
                self._tasks.start_soon(self._handle_request, message)
        elif isinstance(method, str) or (has_id and ("result" in message or "error" in message)):
            await ordered.send(message)
        else:
            request_id = message.get("id") if _valid_id(message.get("id")) else None
            await self._write(
                _error(request_id, INVALID_REQUEST, "not a JSON-RPC request, notification or response")
            )

    def _begin(self, request_id: RequestId) -> None:
        self._in_flight[request_id] = anyio.CancelScope()
        self._cancelled.discard(request_id)
        self._idle = anyio.Event()

    def _finish(self, request_id: RequestId) -> None:
        self._in_flight.pop(request_id, None)
        if not self._in_flight:
            self._idle.set()

    async def _handle_request(self, message: dict[str, Any]) -> None:
        request_id: RequestId = message["id"]
        try:
            await self._relay_request(request_id, message)
        except Exception as exc:  # noqa: BLE001 - last resort: one request fails, not the bridge
            self._reporter.say(f"internal error while relaying request {request_id!r}: {exc!r}")
            await self._write(_error(request_id, INTERNAL_ERROR, "internal error in the mcpbox stdio bridge"))
        finally:
            # Only now, with the answer written, may an EOF shutdown stop waiting for us.
            self._finish(request_id)

    async def _relay_request(self, request_id: RequestId, message: dict[str, Any]) -> None:
        handshake = message.get("method") == "initialize"
        if handshake:
            self._initialize_params = message.get("params")
        answered = False

        async def deliver(item: Any) -> None:
            nonlocal answered
            if (
                isinstance(item, dict)
                and item.get("id") == request_id
                and ("result" in item or "error" in item)
            ):
                answered = True
                if handshake:
                    self._note_negotiated(item)
            await self._write(item)

        failure: tuple[int, str] | None = None
        try:
            with self._in_flight[request_id]:
                await self._exchange(message, deliver, handshake=handshake)
        except GatewayUnreachable as exc:
            self._reporter.say(str(exc))
            failure = (GATEWAY_UNREACHABLE, str(exc))
        except ConnectionLost as exc:
            self._reporter.say(str(exc))
            failure = (INTERNAL_ERROR, str(exc))
        except GatewayRefused as exc:
            failure = (exc.code, exc.message)
        if answered or request_id in self._cancelled:
            return
        if failure is None:
            failure = (INTERNAL_ERROR, "the mcpbox gateway ended its answer without a response")
        await self._write(_error(request_id, *failure))

    def _note_negotiated(self, response: dict[str, Any]) -> None:
        result = response.get("result")
        if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self._upstream.session.protocol_version = result["protocolVersion"]

    async def _exchange(self, message: dict[str, Any], deliver: Deliver, *, handshake: bool = False) -> None:
        generation = self._upstream.session.generation
        try:
            await self._upstream.exchange(message, deliver, handshake=handshake)
        except SessionGone:
            if handshake or not await self._reopen_session(generation):
                raise GatewayRefused(
                    SESSION_LOST, "the mcpbox gateway ended the MCP session; restart or reconnect the client"
                ) from None
            await self._upstream.exchange(message, deliver)

    async def _reopen_session(self, lost_generation: int) -> bool:
        """Replay the client's ``initialize`` after a 404; True when a usable session is back."""
        async with self._reinit_lock:
            session = self._upstream.session
            if session.generation != lost_generation:
                return session.session_id is not None  # another task already reopened it
            if self._initialize_params is None:
                return False
            expected = session.protocol_version
            self._reporter.say("the gateway no longer knows our MCP session (restarted?); opening a new one")
            answer: dict[str, Any] = {}

            async def keep(item: Any) -> None:
                if isinstance(item, dict) and item.get("id") == "mcpbox-stdio-reinitialize":
                    answer.update(item)

            request = {
                "jsonrpc": "2.0",
                "id": "mcpbox-stdio-reinitialize",
                "method": "initialize",
                "params": self._initialize_params,
            }
            try:
                await self._upstream.exchange(request, keep, handshake=True)
                result = answer.get("result")
                if not isinstance(result, dict):
                    self._reporter.say(f"could not open a new MCP session: the gateway answered {answer!r}")
                    return False
                self._note_negotiated(answer)
                if session.protocol_version != expected:
                    self._reporter.say(
                        f"the gateway now speaks protocol {session.protocol_version}, not {expected}; "
                        "restart the client to reconnect"
                    )
                    await self._end_session()
                    return False
                await self._upstream.exchange(
                    {"jsonrpc": "2.0", "method": "notifications/initialized"}, self._write
                )
            except (GatewayUnreachable, ConnectionLost, GatewayRefused, SessionGone) as exc:
                self._reporter.say(f"could not open a new MCP session: {exc}")
                return False
            capabilities = result.get("capabilities")
            tools = capabilities.get("tools") if isinstance(capabilities, dict) else None
            if isinstance(tools, dict) and tools.get("listChanged") is True:
                await self._write({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
            return True

    async def _post_in_order(self, queue: MemoryObjectReceiveStream[dict[str, Any]]) -> None:
        try:
            async with queue:
                async for message in queue:
                    await self._post_one(message)
        finally:
            self._ordered_done.set()

    async def _post_one(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        try:
            await self._exchange(message, self._write)
        except GatewayUnreachable as exc:
            self._reporter.say(str(exc))
            return
        except (ConnectionLost, GatewayRefused) as exc:
            what = method if isinstance(method, str) else "a response"
            self._reporter.say(f"the gateway did not accept {what}: {exc}")
            return
        if method == "notifications/cancelled":
            params = message.get("params")
            target = params.get("requestId") if isinstance(params, dict) else None
            if _valid_id(target) and target in self._in_flight:
                # The gateway has been told; the client expects no answer, so stop waiting for one.
                self._cancelled.add(target)
                self._in_flight[target].cancel()
        elif method == "notifications/initialized" and not self._listener_started:
            self._listener_started = True
            if self._tasks is not None:
                self._tasks.start_soon(self._listen_forever)

    async def _listen_forever(self) -> None:
        """Keep the server-to-client GET stream open, reconnecting with capped backoff."""
        delay = BACKOFF_FIRST_SECONDS
        outage = False

        def opened() -> None:
            nonlocal delay, outage
            if outage:
                self._reporter.say("reconnected to the mcpbox gateway")
            delay, outage = BACKOFF_FIRST_SECONDS, False

        while True:
            session = self._upstream.session
            generation = session.generation
            try:
                await self._upstream.listen(self._write, opened)
                wait = (session.position.retry_ms or 0) / 1000 or BACKOFF_FIRST_SECONDS
            except NoStandaloneStream:
                return
            except SessionGone:
                if not await self._reopen_session(generation):
                    return
                continue
            except (GatewayUnreachable, ConnectionLost, GatewayRefused) as exc:
                if not outage:
                    self._reporter.say(f"{exc}; the notification stream will retry")
                    outage = True
                wait, delay = delay, min(delay * 2, BACKOFF_MAX_SECONDS)
            await anyio.sleep(wait)

    async def _end_session(self) -> None:
        with anyio.move_on_after(5):
            try:
                await self._upstream.end_session()
            except (GatewayUnreachable, ConnectionLost) as exc:
                self._reporter.say(f"could not end the MCP session: {exc}")


async def run_stdio_bridge(
    url: str,
    token: str | None,
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: TextIO,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Bridge MCP over stdin/stdout to the gateway at ``url`` until stdin ends; return an exit code.

    ``stdin``/``stdout`` are binary streams (``sys.stdin.buffer``, ``sys.stdout.buffer``) that
    carry only JSON-RPC; every human-readable line goes to ``stderr``. A gateway that is down is
    not fatal: the pending request gets a JSON-RPC error and the bridge keeps serving, so the
    client recovers once ``mcpbox serve`` is up. Exit codes: 0 after stdin EOF, 1 when stdout
    is closed under us, 2 for an unusable URL.
    """
    reporter = Reporter(stderr)
    problem = _check_url(url)
    if problem is not None:
        reporter.say(problem)
        return EXIT_USAGE
    # trust_env=False: a proxy variable in the client's environment must not divert traffic
    # meant for a loopback gateway (nor leak the token to the proxy).
    async with httpx.AsyncClient(
        transport=transport, timeout=HTTP_TIMEOUT, trust_env=False, follow_redirects=False
    ) as client:
        bridge = Bridge(Upstream(url, token, client), MessageWriter(stdout), reporter)
        return await bridge.run(stdin)


def _check_url(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return f"invalid gateway URL {url!r}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"invalid gateway URL {url!r}: expected http(s)://host:port/mcp"
    return None
