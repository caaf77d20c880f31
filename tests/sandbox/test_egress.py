"""The egress broker, attacked: SSRF in every notation, rebinding, redirects, limits, records.

Nothing here leaves 127.0.0.1: broker tests use ``httpx.MockTransport`` and a fake resolver, and
the real-socket tests serve on 127.0.0.1 with a resolver that maps made-up ``.invalid`` names to
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcpbox.errors import InvalidInput
from mcpbox.sandbox import egress
from mcpbox.sandbox.egress import EgressBroker, EgressGrant, resolve_with_getaddrinfo
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"
PUBLIC_2 = "93.184.216.35"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker built without a fake resolver must not reach the system resolver in these tests."""

    async def forbidden(host: str, port: int) -> list[IPv4Address | IPv6Address]:
        raise AssertionError(f"test tried to resolve {host!r} for real")

    monkeypatch.setattr(egress, "resolve_with_getaddrinfo", forbidden)


async def test_default_resolver_reads_getaddrinfo_answers() -> None:
    # A numeric host: getaddrinfo answers without any DNS traffic.
    assert await resolve_with_getaddrinfo("127.0.0.1", 80) == [IPv4Address("127.0.0.1")]


class FakeResolver:
    """Answers from a table and counts lookups; unknown names fail like NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPv4Address | IPv6Address]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(text) for text in self.table[host]]


class Recorder:
    """A MockTransport handler that records requests and answers with a configurable function."""

    def __init__(self, answer: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return await self.answer(request)
        return httpx.Response(200, json={"ok": True})


def make_broker(
    recorder: Recorder,
    resolver: FakeResolver | None = None,
    *,
    max_bytes: int = 1 << 20,
    timeout: float = 5.0,
) -> EgressBroker:
    return EgressBroker(
        transport=httpx.MockTransport(recorder),
        resolver=resolver or FakeResolver({"api.example.org": [PUBLIC]}),
        max_response_bytes=max_bytes,
        timeout_seconds=timeout,
    )


def grant(**changes: object) -> EgressGrant:
    fields: dict[str, object] = {"server": "weather", "approved_hosts": frozenset({"api.example.org"})}
    fields.update(changes)
    return EgressGrant(**fields)  # type: ignore[arg-type]


def get(url: str, **changes: object) -> HttpRequest:
    fields: dict[str, object] = {"method": "GET", "url": url}
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


async def test_approved_host_is_fetched_through_the_pinned_ip() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"api.example.org": [PUBLIC]})
    g = grant()
    response = await make_broker(recorder, resolver)(get("https://API.example.org./v1/forecast?key=abc"), g)
    assert response.error is None
    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": True}
    assert response.url == "https://api.example.org/v1/forecast?key=abc"
    (sent,) = recorder.requests
    assert sent.url.host == PUBLIC
    assert str(sent.url) == f"https://{PUBLIC}/v1/forecast?key=abc"
    assert sent.headers["host"] == "api.example.org"
    assert sent.extensions["sni_hostname"] == "api.example.org"
    assert resolver.calls == ["api.example.org"]
    (attempt,) = g.attempts
    assert (attempt.method, attempt.host, attempt.path, attempt.status, attempt.address) == (
        "GET",
        "api.example.org",
        "/v1/forecast",
        200,
        PUBLIC,
    )
    assert attempt.outcome == "ok"
    assert attempt.bytes == len(response.body)
    assert g.requests_made == 1


async def test_unapproved_host_is_refused_with_an_actionable_message() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"evil.example.net": [PUBLIC]})
    g = grant()
    response = await make_broker(recorder, resolver)(get("https://evil.example.net/"), g)
    assert response.error == (
        "refused: host 'evil.example.net' is not approved for server 'weather'; "
        "ask the owner with mcpbox_request_network_access"
    )
    assert recorder.requests == []
    assert resolver.calls == []
    assert g.attempts[0].refused_why is not None
    assert g.attempts[0].outcome == "refused"
    assert g.requests_made == 0


SSRF_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:80/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://127.0.1/",
    "http://127.000.000.001/",
    "http://127.0.0.1./",
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2001:0:7f00:1::]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://0251.0376.0251.0376/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://10.0.0.1/",
    "http://10.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://192.168.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://１２７．０．０．１/",
    "https://127.0.0.1/",
]


@pytest.mark.parametrize("url", SSRF_URLS)
async def test_ssrf_notations_are_refused_even_on_the_public_internet_policy(url: str) -> None:
    recorder = Recorder()
    resolver = FakeResolver()
    g = grant(policy="public_internet")
    response = await make_broker(recorder, resolver)(get(url), g)
    assert response.error is not None
    assert response.error.startswith("refused: address ")
    assert "mcpbox_request_network_access" in response.error
    assert recorder.requests == []
    assert resolver.calls == []
    assert g.attempts[-1].refused_why is not None


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:10.0.0.1"],
        [PUBLIC, "127.0.0.1"],
        ["10.0.0.5", PUBLIC],
        [PUBLIC, "fd00::1"],
        [PUBLIC, "fe80::1"],
    ],
)
async def test_any_private_answer_refuses_the_name(answers: list[str]) -> None:
    recorder = Recorder()
    resolver = FakeResolver({"api.example.org": answers})
    response = await make_broker(recorder, resolver)(get("https://api.example.org/"), grant())
    assert response.error is not None
    assert response.error.startswith("refused: address 'api.example.org (")
    assert recorder.requests == []


async def test_dns_is_resolved_once_and_rebinding_after_the_check_is_useless() -> None:
    class Rebinding(FakeResolver):
        async def __call__(self, host: str, port: int) -> Sequence[IPv4Address | IPv6Address]:
            self.calls.append(host)
            return [ip_address(PUBLIC if len(self.calls) == 1 else "127.0.0.1")]

    recorder = Recorder()
    resolver = Rebinding()
    response = await make_broker(recorder, resolver)(get("https://api.example.org/"), grant())
    assert response.status_code == 200
    assert resolver.calls == ["api.example.org"]
    assert recorder.requests[0].url.host == PUBLIC


async def test_unresolvable_host_is_an_error_not_a_crash() -> None:
    response = await make_broker(Recorder(), FakeResolver())(get("https://api.example.org/"), grant())
    assert response.error == "could not resolve host 'api.example.org'"


async def test_approved_private_address_is_allowed_only_when_exact() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"nas.lan": ["192.168.1.10"], "router.lan": ["192.168.1.1"]})
    g = grant(
        approved_hosts=frozenset({"nas.lan", "router.lan"}), approved_addresses=frozenset({"192.168.1.10"})
    )
    broker = make_broker(recorder, resolver)
    assert (await broker(get("http://nas.lan/"), g)).status_code == 200
    refused = await broker(get("http://router.lan/"), g)
    assert refused.error is not None
    assert "private" in refused.error
    assert [request.url.host for request in recorder.requests] == ["192.168.1.10"]


async def test_public_internet_policy_allows_any_public_host_on_default_ports_only() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"news.example.com": [PUBLIC]})
    g = grant(policy="public_internet", approved_hosts=frozenset())
    broker = make_broker(recorder, resolver)
    assert (await broker(get("https://news.example.com/"), g)).status_code == 200
    odd_port = await broker(get("https://news.example.com:8443/"), g)
    assert odd_port.error is not None
    assert "'news.example.com:8443' is not approved" in odd_port.error


async def test_public_internet_policy_still_refuses_names_resolving_to_metadata() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"metadata.example.com": ["169.254.169.254"]})
    g = grant(policy="public_internet", approved_hosts=frozenset())
    response = await make_broker(recorder, resolver)(get("http://metadata.example.com/latest/"), g)
    assert response.error == (
        "refused: address 'metadata.example.com (169.254.169.254)' is cloud metadata (link-local); "
        "ask the owner with mcpbox_request_network_access"
    )
    assert recorder.requests == []


async def test_unicode_hostnames_match_approvals_in_idna_form() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"xn--bcher-kva.example": [PUBLIC]})
    g = grant(approved_hosts=frozenset({"BÜCHER.example."}))
    response = await make_broker(recorder, resolver)(get("https://bücher.example/"), g)
    assert response.status_code == 200
    assert recorder.requests[0].headers["host"] == "xn--bcher-kva.example"
    assert recorder.requests[0].extensions["sni_hostname"] == "xn--bcher-kva.example"


async def test_ports_need_an_explicit_host_port_approval() -> None:
    recorder = Recorder()
    g = grant(approved_hosts=frozenset({"api.example.org:8443"}))
    broker = make_broker(recorder)
    assert (await broker(get("https://api.example.org:8443/"), g)).status_code == 200
    assert recorder.requests[0].headers["host"] == "api.example.org:8443"
    assert (await broker(get("https://api.example.org/"), g)).error is not None
    assert (await broker(get("https://api.example.org:8444/"), g)).error is not None


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://api.example.org/_x",
        "ftp://api.example.org/",
        "ws://api.example.org/",
        "data:text/plain,hi",
    ],
)
async def test_non_http_schemes_are_refused(url: str) -> None:
    recorder = Recorder()
    response = await make_broker(recorder)(get(url), grant())
    assert response.error is not None
    assert response.error.startswith("refused: only http:// and https:// URLs are allowed")
    assert recorder.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@api.example.org/",
        "https://api.example.org@127.0.0.1/",
        "https://api.example.org\\@127.0.0.1/",
        "https://api.example.org%2F@127.0.0.1/",
    ],
)
async def test_userinfo_and_parser_confusion_are_refused(url: str) -> None:
    recorder = Recorder()
    response = await make_broker(recorder)(get(url), grant())
    assert response.error is not None
    assert response.error.startswith("refused: ")
    assert recorder.requests == []


async def test_host_header_spoofing_is_refused_and_matching_host_header_is_fine() -> None:
    recorder = Recorder()
    broker = make_broker(recorder)
    spoofed = await broker(
        get("https://api.example.org/", headers=[("Host", "metadata.google.internal")]), grant()
    )
    assert spoofed.error is not None
    assert "Host header must match" in spoofed.error
    ok = await broker(get("https://api.example.org/", headers=[("HOST", "API.example.org:443")]), grant())
    assert ok.status_code == 200
    assert recorder.requests[0].headers.get_list("host") == ["api.example.org"]


async def test_hop_by_hop_headers_are_stripped_and_ordinary_ones_kept() -> None:
    recorder = Recorder()
    headers = [
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic Zm9v"),
        ("Content-Length", "999"),
        ("Accept-Encoding", "br"),
        ("Authorization", "Bearer t0ken"),
        ("X-Api-Key", "k"),
    ]
    await make_broker(recorder)(HttpRequest("POST", "https://api.example.org/", headers, b"{}"), grant())
    sent = recorder.requests[0].headers
    for name in ("x-secret-hop", "transfer-encoding", "upgrade", "proxy-authorization", "connection"):
        assert name not in sent
    assert sent["content-length"] == "2"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["authorization"] == "Bearer t0ken"
    assert sent["x-api-key"] == "k"


async def test_header_injection_is_refused() -> None:
    recorder = Recorder()
    response = await make_broker(recorder)(
        get("https://api.example.org/", headers=[("X-A", "1\r\nHost: 127.0.0.1")]), grant()
    )
    assert response.error == "refused: invalid HTTP header 'X-A'"
    assert recorder.requests == []


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "ünï\u2028"])
async def test_header_values_outside_the_http_grammar_are_refused(value: str) -> None:
    recorder = Recorder()
    response = await make_broker(recorder)(get("https://api.example.org/", headers=[("X-A", value)]), grant())
    assert response.error == "refused: invalid HTTP header 'X-A'"
    assert recorder.requests == []


@pytest.mark.parametrize("method", ["CONNECT", "TRACE", "PROPFIND", "GET /x HTTP/1.1"])
async def test_unusual_methods_are_refused(method: str) -> None:
    recorder = Recorder()
    response = await make_broker(recorder)(HttpRequest(method, "https://api.example.org/"), grant())
    assert response.error is not None
    assert response.error.startswith("refused: HTTP method")
    assert recorder.requests == []


def redirecting(location_for: dict[str, str], status: int = 302) -> Handler:
    async def answer(request: httpx.Request) -> httpx.Response:
        location = location_for.get(request.url.path)
        if location is None:
            return httpx.Response(200, text=f"final {request.method} {request.url.path}")
        return httpx.Response(status, headers={"Location": location})

    return answer


async def test_redirects_are_followed_and_rechecked_per_hop() -> None:
    recorder = Recorder(redirecting({"/a": "/b", "/b": "https://cdn.example.org/c"}))
    resolver = FakeResolver({"api.example.org": [PUBLIC], "cdn.example.org": [PUBLIC_2]})
    g = grant(approved_hosts=frozenset({"api.example.org", "cdn.example.org"}))
    response = await make_broker(recorder, resolver)(
        get("https://api.example.org/a", headers=[("Authorization", "Bearer x"), ("Cookie", "s=1")]), g
    )
    assert response.body == b"final GET /c"
    assert response.url == "https://cdn.example.org/c"
    assert [(r.url.host, r.headers["host"]) for r in recorder.requests] == [
        (PUBLIC, "api.example.org"),
        (PUBLIC, "api.example.org"),
        (PUBLIC_2, "cdn.example.org"),
    ]
    assert recorder.requests[1].headers["authorization"] == "Bearer x"
    assert "authorization" not in recorder.requests[2].headers
    assert "cookie" not in recorder.requests[2].headers
    assert [a.status for a in g.attempts] == [302, 302, 200]
    assert g.requests_made == 3


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "https://internal.example.org/",
        "//127.0.0.1/",
    ],
)
async def test_redirect_to_a_private_address_is_refused(location: str) -> None:
    recorder = Recorder(redirecting({"/": location}))
    resolver = FakeResolver({"api.example.org": [PUBLIC], "internal.example.org": ["10.0.0.7"]})
    g = grant(policy="public_internet")
    response = await make_broker(recorder, resolver)(get("http://api.example.org/"), g)
    assert response.error is not None
    assert response.error.startswith("refused: address ")
    assert len(recorder.requests) == 1
    assert g.attempts[-1].refused_why is not None


async def test_redirect_to_an_unapproved_host_is_refused() -> None:
    recorder = Recorder(redirecting({"/": "https://evil.example.net/steal"}))
    resolver = FakeResolver({"api.example.org": [PUBLIC], "evil.example.net": [PUBLIC_2]})
    response = await make_broker(recorder, resolver)(get("https://api.example.org/"), grant())
    assert response.error is not None
    assert "host 'evil.example.net' is not approved" in response.error
    assert len(recorder.requests) == 1


async def test_redirect_to_another_scheme_or_a_downgrade_is_refused() -> None:
    recorder = Recorder(redirecting({"/": "file:///etc/passwd", "/down": "http://api.example.org/?k=v"}))
    broker = make_broker(recorder)
    assert (await broker(get("https://api.example.org/"), grant())).error.startswith("refused: only http")  # type: ignore[union-attr]
    g = grant()
    downgrade = await broker(get("https://api.example.org/down"), g)
    assert downgrade.error is not None
    assert "https to plain http" in downgrade.error
    assert (
        g.attempts[-1].refused_why == "a redirect from https to plain http (api.example.org) is not followed"
    )


async def test_malformed_redirect_location_is_refused_not_a_crash() -> None:
    recorder = Recorder(redirecting({"/": "http://[::1/"}))
    g = grant()
    response = await make_broker(recorder)(get("http://api.example.org/"), g)
    assert response.error == "refused: invalid host '[::1'"
    assert g.attempts[-1].refused_why == "invalid host '[::1'"


async def test_too_many_redirects() -> None:
    async def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"/r{len(recorder.requests)}"})

    recorder = Recorder(loop)
    g = grant()
    response = await make_broker(recorder)(get("https://api.example.org/"), g)
    assert response.error == "too many redirects (more than 5)"
    assert len(recorder.requests) == 6


async def test_303_turns_post_into_get_without_body() -> None:
    recorder = Recorder(redirecting({"/form": "/done"}, status=303))
    request = HttpRequest(
        "POST", "https://api.example.org/form", [("Content-Type", "application/json")], b"{}"
    )
    response = await make_broker(recorder)(request, grant())
    assert response.body == b"final GET /done"
    assert recorder.requests[1].content == b""
    assert "content-type" not in recorder.requests[1].headers


async def test_307_keeps_method_and_body() -> None:
    recorder = Recorder(redirecting({"/form": "/done"}, status=307))
    response = await make_broker(recorder)(
        HttpRequest("POST", "https://api.example.org/form", [], b"{}"), grant()
    )
    assert response.body == b"final POST /done"
    assert recorder.requests[1].content == b"{}"


class CountingStream(httpx.AsyncByteStream):
    """An endless body that counts how much of it was pulled."""

    def __init__(self, chunk: bytes = b"x" * 1024) -> None:
        self.chunk = chunk
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.pulled += 1
            yield self.chunk

    async def aclose(self) -> None:
        self.closed = True


async def test_response_over_the_cap_is_cut_while_streaming() -> None:
    stream = CountingStream()

    async def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    g = grant()
    response = await make_broker(Recorder(endless), max_bytes=4096)(get("https://api.example.org/"), g)
    assert response.error == "response larger than 4096 bytes"
    assert response.body == b""
    assert stream.pulled <= 6
    assert stream.closed
    assert g.attempts[0].error == "response larger than 4096 bytes"


async def test_declared_content_length_over_the_cap_is_refused_before_reading() -> None:
    stream = CountingStream()

    async def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "99999999"}, stream=stream)

    response = await make_broker(Recorder(big), max_bytes=4096)(get("https://api.example.org/"), grant())
    assert response.error == "response larger than 4096 bytes"
    assert stream.pulled == 0


async def test_gzip_bomb_is_cut_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (20 << 20))

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)

    response = await make_broker(Recorder(answer), max_bytes=64 << 10)(
        get("https://api.example.org/"), grant()
    )
    assert response.error == f"response larger than {64 << 10} bytes"


async def test_gzip_body_is_returned_decoded() -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(b"hello"))

    response = await make_broker(Recorder(answer))(get("https://api.example.org/"), grant())
    assert response.body == b"hello"
    assert all(name.lower() not in ("content-encoding", "content-length") for name, _ in response.headers)


async def test_unknown_content_encoding_is_an_error() -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "br"}, content=b"\x0b\x02\x80hello\x03")

    response = await make_broker(Recorder(answer))(get("https://api.example.org/"), grant())
    assert response.error is not None
    assert "content-encoding 'br'" in response.error


async def test_slow_server_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(200)

    g = grant()
    with anyio.fail_after(5):
        response = await make_broker(Recorder(slow), timeout=0.2)(get("https://api.example.org/"), g)
    assert response.error == "timeout: no complete response within 0.2 seconds"
    assert g.attempts[0].error == "timeout"


async def test_slow_body_times_out_and_tool_timeout_can_only_shorten() -> None:
    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                await anyio.sleep(0.05)
                yield b"."

    async def trickle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle())

    broker = make_broker(Recorder(trickle), timeout=0.3)
    with anyio.fail_after(5):
        longer = await broker(get("https://api.example.org/", timeout=100.0), grant())
        shorter = await broker(get("https://api.example.org/", timeout=0.1), grant())
    assert longer.error == "timeout: no complete response within 0.3 seconds"
    assert shorter.error == "timeout: no complete response within 0.1 seconds"


async def test_request_count_is_capped_per_call() -> None:
    recorder = Recorder()
    g = grant(max_requests=2)
    broker = make_broker(recorder)
    responses = [await broker(get("https://api.example.org/"), g) for _ in range(5)]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert responses[2].error == "refused: this call already made 2 HTTP requests, its limit"
    assert len(recorder.requests) == 2


async def test_concurrent_requests_of_one_call_cannot_overshoot_the_cap() -> None:
    async def slow_ok(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)
        return httpx.Response(200)

    recorder = Recorder(slow_ok)
    g = grant(max_requests=3)
    broker = make_broker(recorder)
    results: list[HttpResponse] = []

    async def one() -> None:
        results.append(await broker(get("https://api.example.org/"), g))

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(one)
    assert len(recorder.requests) == 3
    assert sum(r.status_code == 200 for r in results) == 3


async def test_redirect_hops_count_towards_the_request_cap() -> None:
    recorder = Recorder(redirecting({"/a": "/b", "/b": "/c"}))
    g = grant(max_requests=2)
    response = await make_broker(recorder)(get("https://api.example.org/a"), g)
    assert response.error == "refused: this call already made 2 HTTP requests, its limit"
    assert len(recorder.requests) == 2


async def test_attempts_record_path_without_query_and_redact_secrets() -> None:
    secret = "tg-9876543210-abcdef"
    recorder = Recorder()
    resolver = FakeResolver({"api.example.org": [PUBLIC], "leak.example.net": [PUBLIC_2]})
    g = grant(secret_values={"BOT_TOKEN": secret})
    broker = make_broker(recorder, resolver)
    await broker(get(f"https://api.example.org/bot{secret}/send?token={secret}&chat=1"), g)
    await broker(get(f"https://leak.example.net/x/{secret}?k={secret}"), g)
    await broker(get(f"gopher://{secret}/"), g)
    recorded = repr(g.attempts)
    assert secret not in recorded
    assert "chat=1" not in recorded
    assert g.attempts[0].path == "/bot[REDACTED:BOT_TOKEN]/send"
    assert g.attempts[1].path == "/x/[REDACTED:BOT_TOKEN]"
    assert g.attempts[1].refused_why is not None
    assert g.attempts[2].host == "[REDACTED:BOT_TOKEN]"
    assert secret not in repr(g)


async def test_refusals_are_recorded_but_the_record_is_bounded() -> None:
    g = grant()
    broker = make_broker(Recorder())
    for _ in range(300):
        await broker(get("http://127.0.0.1/"), g)
    assert len(g.attempts) == 256
    assert g.attempts_dropped == 44


async def test_transport_failure_is_an_error_response() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    g = grant()
    response = await make_broker(Recorder(refuse))(get("https://api.example.org/"), g)
    assert response.error == "could not connect to 'api.example.org'"
    assert g.attempts[0].error == response.error


async def test_connect_failure_falls_back_to_the_next_checked_address() -> None:
    async def v6_unreachable(request: httpx.Request) -> httpx.Response:
        if request.url.host == "2606:2800:220:1::1":
            raise httpx.ConnectError("network unreachable")
        return httpx.Response(200)

    resolver = FakeResolver({"api.example.org": ["2606:2800:220:1::1", PUBLIC]})
    recorder = Recorder(v6_unreachable)
    response = await make_broker(recorder, resolver)(get("https://api.example.org/"), grant())
    assert response.status_code == 200
    assert [r.url.host for r in recorder.requests] == ["2606:2800:220:1::1", PUBLIC]


async def test_unexpected_bug_is_logged_and_answered_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    response = await make_broker(Recorder(broken))(get("https://api.example.org/"), grant())
    assert response.error == "the HTTP request failed inside mcpbox (not the tool's fault)"
    assert "boom" not in response.error
    assert any("egress broker failed" in record.getMessage() for record in caplog.records)


async def test_unexpected_bug_log_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = "hunter2-super-secret"

    async def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"boom at {request.url}")

    g = grant(secret_values={"API_KEY": secret})
    await make_broker(Recorder(broken))(get(f"https://api.example.org/?key={secret}"), g)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "boom at" in logged
    assert secret not in logged
    assert "[REDACTED:API_KEY]" in logged


async def test_closed_broker_answers_with_an_error() -> None:
    broker = make_broker(Recorder())
    await broker.aclose()
    response = await broker(get("https://api.example.org/"), grant())
    assert response.error is not None


def test_grant_refuses_bad_approvals() -> None:
    with pytest.raises(InvalidInput):
        grant(approved_hosts=frozenset({"api.example.org:http"}))
    with pytest.raises(InvalidInput):
        grant(approved_addresses=frozenset({"not-an-ip"}))
    with pytest.raises(InvalidInput):
        grant(policy="anything")


# --- real sockets on 127.0.0.1 ---------------------------------------------------------------


@asynccontextmanager
async def local_server(
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[tuple[int, list[dict[str, str]]]]:
    """A tiny HTTP/1.1 responder on 127.0.0.1 that echoes the Host header and path it received."""
    seen: list[dict[str, str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
        }
        seen.append({"request_line": request_line, "host": headers.get("host", "")})
        body = json.dumps({"host": headers.get("host"), "line": request_line}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()
        await server.wait_closed()


async def test_local_server_is_refused_by_default_and_reached_when_approved_with_host_intact() -> None:
    resolver = FakeResolver({"api.test.invalid": ["127.0.0.1"]})
    async with local_server() as (port, seen):
        broker = EgressBroker(resolver=resolver, max_response_bytes=1 << 16, timeout_seconds=5)
        try:
            hosts = frozenset({f"api.test.invalid:{port}"})
            url = f"http://api.test.invalid:{port}/hello?x=1"
            refused = await broker(get(url), grant(approved_hosts=hosts))
            assert refused.error is not None
            assert refused.error.startswith("refused: address 'api.test.invalid (127.0.0.1)' is loopback")
            assert seen == []

            g = grant(approved_hosts=hosts, approved_addresses=frozenset({"127.0.0.1"}))
            allowed = await broker(get(url), g)
        finally:
            await broker.aclose()
    assert allowed.error is None
    assert json.loads(allowed.body) == {"host": f"api.test.invalid:{port}", "line": "GET /hello?x=1 HTTP/1.1"}
    assert seen == [{"request_line": "GET /hello?x=1 HTTP/1.1", "host": f"api.test.invalid:{port}"}]
    assert g.attempts[0].address == "127.0.0.1"
    assert g.attempts[0].path == "/hello"


def _self_signed(tmp_path: Path, hostname: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]:
    cert_path, key_path = _self_signed(tmp_path, "api.test.invalid")
    server_names: list[str | None] = []
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    server.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client, server_names


async def test_tls_uses_sni_and_verifies_the_certificate_against_the_hostname(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, server_names = tls_pair
    resolver = FakeResolver({"api.test.invalid": ["127.0.0.1"], "other.test.invalid": ["127.0.0.1"]})
    async with local_server(server_ctx) as (port, seen):
        transport = httpx.AsyncHTTPTransport(verify=client_ctx, retries=0)
        broker = EgressBroker(
            transport=transport, resolver=resolver, max_response_bytes=1 << 16, timeout_seconds=5
        )
        hosts = frozenset({f"api.test.invalid:{port}", f"other.test.invalid:{port}"})
        g = grant(approved_hosts=hosts, approved_addresses=frozenset({"127.0.0.1"}))
        try:
            good = await broker(get(f"https://api.test.invalid:{port}/"), g)
            wrong_name = await broker(get(f"https://other.test.invalid:{port}/"), g)
        finally:
            await transport.aclose()
    assert good.error is None
    assert json.loads(good.body)["host"] == f"api.test.invalid:{port}"
    assert server_names[0] == "api.test.invalid"
    assert wrong_name.error == "the TLS certificate of 'other.test.invalid' could not be verified"
    assert len(seen) == 1


def test_http_response_type_is_the_protocol_one() -> None:
    assert HttpResponse(error="x").to_dict()["error"] == "x"
