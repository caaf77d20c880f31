"""The ``http`` object tool code uses: an httpx-like async client over the worker's pipe.

The worker has no network; every request becomes an ``HttpRequest`` message the supervisor's
egress broker checks and performs. The client is a ``Facade`` of closures, so its transport and
request counter live in closure cells tool code cannot reach, and it enforces the per-call
request limit before anything leaves the worker.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Final, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse
from mcpbox.sandbox.worker.policy.facades import Facade
from mcpbox.sandbox.worker.policy.guards import LimitExceeded

_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class HttpTransport(Protocol):
    """What the worker supplies: sends one request to the egress broker and returns its answer."""

    async def send(self, request: HttpRequest) -> HttpResponse: ...


class RequestError(Exception):
    """The request was refused (host not approved...) or failed (timeout, connection)."""


class HTTPStatusError(Exception):
    """``raise_for_status()`` on a 4xx or 5xx response."""


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only response headers; repeated headers are joined with ', '."""

    __slots__ = ("_items",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        items: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            items[key] = f"{items[key]}, {value}" if key in items else value
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Response:
    """An immutable response, shaped like ``httpx.Response`` so LLM-written code just works."""

    __slots__ = ("_content", "_headers", "_status_code", "_url")

    def __init__(self, message: HttpResponse) -> None:
        self._status_code = message.status_code
        self._headers = Headers(message.headers)
        self._content = message.body
        self._url = message.url

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> Headers:
        return self._headers

    @property
    def content(self) -> bytes:
        return self._content

    @property
    def url(self) -> str:
        return self._url

    @property
    def is_success(self) -> bool:
        return 200 <= self._status_code < 300

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in self._headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self._content.decode(charset, errors="replace")
        except LookupError:
            return self._content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> Response:
        if self._status_code >= 400:
            raise HTTPStatusError(f"HTTP {self._status_code} for {self._url}")
        return self

    def __repr__(self) -> str:
        return f"<Response [{self._status_code}]>"


def _url_with_params(url: str, params: Any) -> str:
    if not params:
        return url
    query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params), doseq=True)
    parts = urlsplit(url)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be strings")
        if any(char in name or char in value for char in "\r\n\0"):
            raise ValueError("header names and values may not contain line breaks or NUL")
        result.append((name, value))
    return result


def _body(json_body: Any, data: Any, content: Any) -> tuple[bytes, str | None]:
    if json_body is not None:
        return json.dumps(json_body, allow_nan=False).encode(), "application/json"
    if isinstance(data, Mapping):
        return urlencode(list(data.items()), doseq=True).encode(), "application/x-www-form-urlencoded"
    raw = content if content is not None else data
    if raw is None:
        return b"", None
    if isinstance(raw, str):
        return raw.encode(), None
    if isinstance(raw, bytes | bytearray):
        return bytes(raw), None
    raise TypeError("content must be str or bytes; use json= for objects and data= for forms")


def make_http_client(transport: HttpTransport, max_requests: int) -> Facade:
    """A fresh client for one call, allowing at most ``max_requests`` requests."""
    sent = [0]

    # The httpx-shaped signature tools are written against, ``timeout`` included.
    async def request(
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Any = None,
        json: Any = None,
        data: Any = None,
        content: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Response:
        verb = str(method).upper()
        if verb not in _METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        if not isinstance(url, str):
            raise TypeError("url must be a string")
        if sent[0] >= max_requests:
            raise LimitExceeded(f"this call may make at most {max_requests} HTTP requests")
        sent[0] += 1
        body, content_type = _body(json, data, content)
        pairs = _header_pairs(headers)
        if content_type and not any(name.lower() == "content-type" for name, _ in pairs):
            pairs.append(("Content-Type", content_type))
        message = HttpRequest(
            method=verb,
            url=_url_with_params(url, params),
            headers=pairs,
            body=body,
            timeout=float(timeout) if timeout is not None else None,
        )
        answer = await transport.send(message)
        if answer.error is not None:
            raise RequestError(f"{verb} {message.url} failed: {answer.error}")
        return Response(answer)

    def shortcut(verb: str) -> Callable[..., Awaitable[Response]]:
        async def call(url: str, **options: Any) -> Response:
            return await request(verb, url, **options)

        call.__name__ = verb.lower()
        return call

    return Facade(
        "http",
        {
            "request": request,
            **{verb.lower(): shortcut(verb) for verb in _METHODS},
            "RequestError": RequestError,
            "HTTPStatusError": HTTPStatusError,
            "Response": Response,
        },
    )
