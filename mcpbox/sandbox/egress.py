"""The egress broker: the only way tool code reaches the network (DESIGN.md §5 "Egress").

Workers have no network interface; their ``http`` calls arrive here as ``HttpRequest`` frames and
the sandbox pool awaits ``broker(request, grant)`` for each. Tool code is untrusted and may be
steered by hostile web content, so every request is treated as a server-side request forgery
attempt until proven otherwise:

1. The URL is split by our own strict parser (http/https only, no userinfo, no control characters
   or backslashes, numeric port) and the host canonicalised by ``addresses.parse_host``, which
   reads the odd numeric forms glibc accepts.
2. The host (and port) must be approved for the server, or the grant's policy is
   ``public_internet``. Ports other than 80/443 need an explicit ``host:port`` approval.
3. DNS is resolved once. *Every* answer must be a public address or one the owner approved;
   one bad answer refuses the request, which defeats rebinding with mixed answers.
4. The connection goes to the resolved IP itself (IP pinning), so nothing resolves the name
   again. The ``Host`` header and TLS SNI carry the hostname, and httpcore verifies the
   certificate against that SNI name (``sni_hostname`` becomes ``server_hostname``).
5. Redirects are followed by hand; each hop goes through steps 1–4 again. Time is capped for the
   whole exchange, the body is streamed and cut at ``max_response_bytes`` (also after gzip), and
   ``max_requests`` caps every hop made during one tool call.

Every hop, allowed or refused, is recorded as an ``EgressAttempt`` on the grant (path without
query string, secrets redacted) for the call log and the reviewer. Refusals and failures come
back as ``HttpResponse(error=...)`` written for the LLM; ``__call__`` never raises for them.
"""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import anyio

if TYPE_CHECKING:
    import httpx

from mcpbox.errors import InvalidInput
from mcpbox.sandbox.addresses import (
    AddressError,
    IPAddress,
    IPNetwork,
    Target,
    check_address,
    parse_host_rule,
    parse_networks,
    parse_resolved,
    split_url,
)
from mcpbox.sandbox.egress_http import (
    NOT_RETURNED,
    Failed,
    Refused,
    connect_failure,
    loose_parts,
    next_hop,
    read_body,
    tool_headers,
)
from mcpbox.sandbox.redaction import Redactor
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
Policy = Literal["allowlist", "public_internet"]

ASK_FOR_ACCESS = "ask the owner with mcpbox_request_network_access"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MAX_ADDRESSES_TRIED = 3
_MAX_RECORDED = 256


async def resolve_with_getaddrinfo(host: str, port: int) -> list[IPAddress]:
    """The default resolver: the system's getaddrinfo, run off the event loop by anyio."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = parse_resolved(str(sockaddr[0]))
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True, slots=True)
class EgressAttempt:
    """One outbound hop as recorded for the call log; never holds a query string or a secret."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    address: str | None  # the IP actually connected to (None when refused before connecting)
    status: int | None
    bytes: int
    duration_ms: float
    refused_why: str | None = None
    error: str | None = None

    @property
    def outcome(self) -> Literal["ok", "refused", "error"]:
        return "refused" if self.refused_why else "error" if self.error else "ok"


@dataclass(slots=True)
class EgressGrant:
    """What one tool call may reach, and what it did; the caller creates one per call.

    ``approved_hosts`` holds exact hostnames or IP literals, optionally as ``host:port``. A bare
    host allows the scheme's default port (80/443); ``host:port`` allows that port only. There
    are no wildcards: ``*.example.org`` would grant hosts the owner never saw (user-content
    subdomains, dangling DNS records). ``approved_addresses`` (strings or networks) lists the
    non-public addresses the owner allows, such as ``192.168.1.10`` or ``127.0.0.1`` in tests;
    they are the only way a non-public address is contacted, whatever the policy. The broker
    appends to ``attempts`` and counts sent requests in ``requests_made``.
    """

    server: str
    approved_hosts: frozenset[str] = frozenset()
    approved_addresses: frozenset[IPNetwork | str] = frozenset()
    policy: Policy = "allowlist"
    max_requests: int = 32
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False)
    attempts: list[EgressAttempt] = field(default_factory=list)
    requests_made: int = 0
    attempts_dropped: int = 0  # attempts beyond the recording cap, counted but not kept
    host_rules: frozenset[tuple[str, int | None]] = field(init=False, repr=False)
    networks: frozenset[IPNetwork] = field(init=False, repr=False)
    redactor: Redactor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.policy not in ("allowlist", "public_internet"):
            raise InvalidInput(f"unknown egress policy {self.policy!r}")
        try:
            self.host_rules = frozenset(parse_host_rule(entry) for entry in self.approved_hosts)
            self.networks = parse_networks(self.approved_addresses)
        except AddressError as exc:
            raise InvalidInput(str(exc)) from exc
        self.redactor = Redactor(self.secret_values)

    def allows(self, target: Target) -> bool:
        """True when this server may talk to the target's host and port."""
        if (target.host.name, target.port) in self.host_rules:
            return True
        if target.port != target.default_port:
            return False
        return self.policy == "public_internet" or (target.host.name, None) in self.host_rules


class EgressBroker:
    """Performs tool HTTP requests under a grant. One per app, shared by every call.

    The default transport keeps no idle connections: with IP pinning httpcore's pool is keyed by
    IP, and a kept-alive TLS connection verified for one hostname must never carry a request for
    another hostname that resolves to the same address. It ignores proxy and SSL environment
    variables, which would defeat pinning.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        max_response_bytes: int,
        timeout_seconds: float,
        max_redirects: int = 5,
    ) -> None:
        self._owns_transport = transport is None
        # The default transport (and httpx itself, ~5 MiB) is made on the first request:
        # many boxes run tools that never use the network.
        self._transport: httpx.AsyncBaseTransport | None = transport
        self._resolve = resolver or resolve_with_getaddrinfo
        self._max_bytes = max_response_bytes
        self._timeout = timeout_seconds
        self._max_redirects = max_redirects
        self._closed = False

    async def aclose(self) -> None:
        """Close the transport if the broker created it; later calls get an error response."""
        self._closed = True
        if self._owns_transport and self._transport is not None:
            await self._transport.aclose()

    async def __call__(self, request: HttpRequest, grant: EgressGrant) -> HttpResponse:
        """Perform ``request`` for the call holding ``grant``; refusals come back as ``error``."""
        if self._closed:
            return HttpResponse(error="the network broker is shutting down; try again later")
        timeout = self._timeout
        if request.timeout is not None and 0 < request.timeout < timeout:
            timeout = request.timeout
        try:
            with anyio.fail_after(timeout):
                return await self._exchange(request, grant, timeout)
        except TimeoutError:
            return HttpResponse(error=f"timeout: no complete response within {timeout:g} seconds")
        except Exception:  # noqa: BLE001 - a bug here must not kill the pool; logged below, redacted
            # The traceback may quote URLs or headers, so it is logged as redacted text.
            trace = grant.redactor.redact(traceback.format_exc())
            logger.error("egress broker failed unexpectedly\n%s", trace, extra={"server": grant.server})
            return HttpResponse(error="the HTTP request failed inside mcpbox (not the tool's fault)")

    async def _exchange(self, request: HttpRequest, grant: EgressGrant, seconds: float) -> HttpResponse:
        method, url, body = request.method.upper(), request.url, request.body
        headers: list[tuple[str, str]] = []
        previous: Target | None = None
        for hop in range(self._max_redirects + 1):
            started = time.monotonic()
            try:
                target = self._check(method, url, grant, previous)
                if hop == 0:
                    headers = tool_headers(request.headers, target)
                addresses = await self._resolve_checked(target, grant)
            except Refused as refusal:
                self._record(grant, method, url, started, refused_why=refusal.why)
                return HttpResponse(error=f"refused: {refusal.why}")
            except Failed as failure:
                self._record(grant, method, url, started, error=failure.message)
                return HttpResponse(error=failure.message)
            address: IPAddress | None = None
            try:
                response, address = await self._send(method, target, headers, body, addresses, seconds)
                try:
                    follow = next_hop(method, response, target, headers, body)
                    data = b"" if follow else await read_body(response, method, target, self._max_bytes)
                finally:
                    with anyio.CancelScope(shield=True):  # release the connection even when cancelled
                        await response.aclose()
            except Failed as failure:
                self._record(grant, method, target, started, address, error=failure.message)
                return HttpResponse(error=failure.message)
            except BaseException as exc:  # the overall deadline cancels us: record, then re-raise
                cancelled = isinstance(exc, anyio.get_cancelled_exc_class() | TimeoutError)
                why = "timeout" if cancelled else "internal error"
                self._record(grant, method, target, started, address, error=why)
                raise
            self._record(grant, method, target, started, address, response.status_code, len(data))
            if follow is None:
                kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in NOT_RETURNED]
                return HttpResponse(response.status_code, kept, data, url=target.display_url)
            method, url, headers, body = follow
            previous = target
        why = f"too many redirects (more than {self._max_redirects})"
        self._record(grant, method, url, time.monotonic(), error=why)
        return HttpResponse(error=why)

    def _check(self, method: str, url: str, grant: EgressGrant, previous: Target | None) -> Target:
        if grant.requests_made >= grant.max_requests:
            raise Refused(f"this call already made {grant.max_requests} HTTP requests, its limit")
        if method not in METHODS:
            raise Refused(
                f"HTTP method {method[:16]!r} is not allowed; use one of {', '.join(sorted(METHODS))}"
            )
        try:
            target = split_url(url)
        except AddressError as exc:
            raise Refused(str(exc)) from exc
        if previous is not None and previous.scheme == "https" and target.scheme == "http":
            raise Refused(f"a redirect from https to plain http ({target.authority}) is not followed")
        if not grant.allows(target):
            shown = target.host.name if target.port == target.default_port else target.authority
            raise Refused(f"host {shown!r} is not approved for server {grant.server!r}; {ASK_FOR_ACCESS}")
        # Counted before the first await, so concurrent requests of one call cannot overshoot.
        grant.requests_made += 1
        return target

    async def _resolve_checked(self, target: Target, grant: EgressGrant) -> list[IPAddress]:
        host = target.host
        if host.ip is not None:
            addresses = [host.ip]
        else:
            try:
                addresses = list(await self._resolve(host.name, target.port))
            except (OSError, UnicodeError, ValueError) as exc:
                raise Failed(f"could not resolve host {host.name!r}") from exc
            if not addresses:
                raise Failed(f"could not resolve host {host.name!r}")
        # Every answer is checked, not only the one we will use: a rebinding name that mixes a
        # public and a private answer is refused outright.
        for address in addresses:
            why = check_address(address, grant.networks)
            if why is not None:
                shown = host.name if host.ip is not None else f"{host.name} ({address})"
                raise Refused(f"address {shown!r} is {why}; {ASK_FOR_ACCESS}")
        return addresses

    async def _send(
        self,
        method: str,
        target: Target,
        headers: list[tuple[str, str]],
        body: bytes,
        addresses: list[IPAddress],
        seconds: float,
    ) -> tuple[httpx.Response, IPAddress]:
        extensions: dict[str, object] = {
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), seconds)
        }
        if target.host.ip is None:
            extensions["sni_hostname"] = target.host.name  # also the name the certificate must match
        sent = [*headers, ("Host", target.authority), ("Accept-Encoding", "gzip, deflate")]
        import httpx

        if self._transport is None:
            self._transport = httpx.AsyncHTTPTransport(
                retries=0, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
            )
        failure = Failed(f"could not connect to {target.authority!r}")
        for address in addresses[:_MAX_ADDRESSES_TRIED]:
            try:
                pinned = httpx.Request(
                    method, target.pinned_url(address), headers=sent, content=body, extensions=extensions
                )
            except httpx.InvalidURL as exc:
                raise Failed(f"the URL path {target.path[:80]!r} is not valid") from exc
            try:
                return await self._transport.handle_async_request(pinned), address
            except httpx.ConnectError as exc:  # try the next address, e.g. IPv6 without a route
                failure = connect_failure(target, exc)
            except httpx.TimeoutException as exc:
                raise TimeoutError from exc
            except httpx.HTTPError as exc:
                raise Failed(f"the connection to {target.authority!r} failed") from exc
        raise failure

    def _record(
        self,
        grant: EgressGrant,
        method: str,
        where: Target | str,
        started: float,
        address: IPAddress | None = None,
        status: int | None = None,
        size: int = 0,
        *,
        refused_why: str | None = None,
        error: str | None = None,
    ) -> None:
        if len(grant.attempts) >= _MAX_RECORDED:
            grant.attempts_dropped += 1  # a tool looping on refusals must not grow the log forever
            return
        scheme, host, port, path = where.parts() if isinstance(where, Target) else loose_parts(where)
        redact = grant.redactor.redact
        attempt = EgressAttempt(
            method=redact(method[:16]),
            scheme=scheme,
            host=redact(host),
            port=port,
            path=redact(path),
            address=str(address) if address is not None else None,
            status=status,
            bytes=size,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            refused_why=redact(refused_why) if refused_why else None,
            error=redact(error) if error else None,
        )
        grant.attempts.append(attempt)
