"""HTTP message rules the egress broker applies at every hop, whatever the policy decided.

Which of the tool's headers may leave (valid tokens only, no hop-by-hop headers, no ``Host`` that
names another host), where a redirect leads and what survives it (credentials never cross to
another origin), how a response body is read (streamed, decoded, cut at the limit, so no
decompression bomb gets through) and how failures are worded for the tool. ``Refused`` and
``Failed`` are the two ways a hop ends without a response; ``egress`` turns them into the
``HttpResponse`` errors the tool sees and the attempts the call log records.
"""

from __future__ import annotations

import re
import ssl
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urljoin

if TYPE_CHECKING:
    import httpx

from mcpbox.sandbox.addresses import AddressError, Target, split_url

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # RFC 9110 field-value: no CR, LF, NUL
# Connection-level headers belong to one hop; the broker sets framing and encoding itself.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te"}
    | {"trailer", "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding", "expect"}
)
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
NOT_RETURNED = _HOP_BY_HOP | {"content-encoding"}  # the body is returned decoded


class Refused(Exception):
    """A policy refusal; the tool sees ``refused: <why>``."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Failed(Exception):
    """The request was allowed but did not produce a response; ``message`` is for the tool."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def tool_headers(headers: Sequence[tuple[str, str]], target: Target) -> list[tuple[str, str]]:
    """The tool's headers minus hop-by-hop ones; a ``Host`` naming another host is refused."""
    dropped = set(_HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == "connection":
            dropped |= {token.strip().lower() for token in value.split(",")}
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise Refused(f"invalid HTTP header {name[:40]!r}")
        lower = name.lower()
        if lower == "host" and not _same_authority(value, target):
            raise Refused("the Host header must match the URL's host; put the host you want in the URL")
        if lower not in dropped:
            kept.append((name, value))
    return kept


def _same_authority(value: str, target: Target) -> bool:
    try:
        named = split_url(f"{target.scheme}://{value.strip()}/")
    except AddressError:
        return False
    return (named.host.name, named.port) == (target.host.name, target.port)


def next_hop(
    method: str, response: httpx.Response, target: Target, headers: list[tuple[str, str]], body: bytes
) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    """The next hop (method, url, headers, body) when ``response`` is a redirect, else None."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or not location:
        return None
    try:
        url = urljoin(target.display_url, location.strip())
    except ValueError:  # urllib refuses some malformed URLs; split_url then refuses it properly
        url = location
    if (response.status_code == 303 and method != "HEAD") or (
        response.status_code in (301, 302) and method == "POST"
    ):
        method, body = "GET", b""
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding")]
    try:
        same_origin = split_url(url).parts()[:3] == target.parts()[:3]
    except AddressError:
        same_origin = False  # refused at the next hop anyway
    if not same_origin:  # credentials meant for one origin never follow a redirect to another
        headers = [(k, v) for k, v in headers if k.lower() not in _CREDENTIALS]
    return method, url, headers, body


async def read_body(response: httpx.Response, method: str, target: Target, limit: int) -> bytes:
    """Stream the body, decoding gzip/deflate, and stop as soon as it passes ``limit`` bytes."""
    import httpx

    too_large = Failed(f"response larger than {limit} bytes")
    if method == "HEAD":
        return b""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise Failed(f"the response uses content-encoding {encoding[:40]!r}, which mcpbox cannot decode")
    # wbits | 32 accepts both gzip and zlib framing; max_length bounds each step (no zip bombs).
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding not in ("", "identity") else None
    chunks: list[bytes] = []
    raw = size = 0
    try:
        # The transport's raw stream, not aiter_raw(): a response built from bytes counts as
        # already read for aiter_raw, yet its stream still yields the bytes.
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise Failed(f"the connection to {target.authority!r} failed while reading the response")
        async for chunk in stream:
            raw += len(chunk)
            piece = decoder.decompress(chunk, limit - size + 1) if decoder else chunk
            size += len(piece)
            if raw > limit or size > limit or (decoder and decoder.unconsumed_tail):
                raise too_large
            chunks.append(piece)
        if decoder:
            tail = decoder.flush(limit - size + 1)
            size += len(tail)
            if size > limit:
                raise too_large
            chunks.append(tail)
    except zlib.error as exc:
        raise Failed(f"the response from {target.authority!r} could not be decompressed") from exc
    except httpx.TimeoutException as exc:
        raise TimeoutError from exc
    except httpx.HTTPError as exc:
        raise Failed(f"the connection to {target.authority!r} failed while reading the response") from exc
    return b"".join(chunks)


def connect_failure(target: Target, exc: BaseException) -> Failed:
    cause: BaseException | None = exc
    for _ in range(16):  # exception chains can be cyclic
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failed(f"the TLS certificate of {target.host.name!r} could not be verified")
        if isinstance(cause, ssl.SSLError):
            return Failed(f"the TLS handshake with {target.authority!r} failed")
        cause = cause.__cause__ or cause.__context__
    return Failed(f"could not connect to {target.authority!r}")


def loose_parts(url: str) -> tuple[str, str, int, str]:
    """Best-effort scheme/host/port/path of a URL for the record, never including the query."""
    try:
        return split_url(url).parts()
    except AddressError:
        scheme, _, rest = url.partition(":")
        authority, slash, tail = rest.removeprefix("//").partition("/")
        authority = authority.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
        path = (slash + tail).split("?", 1)[0].split("#", 1)[0]
        return scheme.lower()[:16], authority[:255], 0, path[:1024]
