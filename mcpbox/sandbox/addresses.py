"""Host parsing and address classification for the egress broker.

Tool code is written by an LLM that may have been steered by hostile input, so every host it names
is treated as an attempt at server-side request forgery. Two jobs live here:

* ``parse_host`` turns the host part of a URL into one canonical form: an IP address, or a
  lowercase ASCII (IDNA A-label) hostname without a trailing dot. Numeric hosts are read the way
  glibc's ``inet_aton`` reads them (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``), because
  that is how the system resolver would have read them; a host that only *looks* numeric but is
  not a valid number is refused rather than handed to DNS.
* ``refusal_reason`` says why an address must not be contacted (loopback, private, link-local,
  metadata, reserved, ...) unless the owner approved that exact address or network. IPv6 forms
  that carry an IPv4 address inside (mapped, compatible, SIIT, NAT64, 6to4, Teredo) are judged by
  the IPv4 address they lead to as well.

The tables are our own rather than ``ipaddress.is_private``/``is_global``, whose answers changed
between Python patch releases; ``is_global`` is still consulted as a second opinion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import idna

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class AddressError(ValueError):
    """A host or address could not be understood; the message is safe to show to tool code."""


@dataclass(frozen=True, slots=True)
class ParsedHost:
    """A host in canonical form: ``name`` is what approvals match; ``ip`` is set for IP literals."""

    name: str
    ip: IPAddress | None


# Most specific first: the first matching row names the reason.
_IPV4_REFUSED: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("255.255.255.255/32", "broadcast"),
        ("0.0.0.0/32", "unspecified"),
        ("169.254.169.254/32", "cloud metadata (link-local)"),
        ("0.0.0.0/8", "reserved ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT (shared)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_REFUSED: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "reserved (local-use NAT64)"),
        ("100::/64", "reserved (discard-only)"),
        ("2001:2::/48", "benchmarking"),
        ("2001:10::/28", "reserved (ORCHID)"),
        ("2001:20::/28", "reserved (ORCHIDv2)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved (SRv6)"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)

_GLOBAL_UNICAST = IPv6Network("2000::/3")
_MAPPED = IPv6Network("::ffff:0:0/96")
_COMPATIBLE = IPv6Network("::/96")
_SIIT = IPv6Network("::ffff:0:0:0/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")

_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_HOSTNAME_ASCII = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def parse_ipv4_loose(text: str) -> IPv4Address | None:
    """Read ``text`` as glibc ``inet_aton`` does, or return None when it is not such a number.

    One to four parts, each decimal, octal (leading ``0``) or hex (``0x``); the last part fills
    all remaining bytes, so ``127.1`` is 127.0.0.1 and ``2130706433`` is one 32-bit number.
    """
    parts = text.lower().split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not _NUMERIC_LABEL.fullmatch(part):
            return None
        try:
            if part.startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *head, last = values
    if any(value > 0xFF for value in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return IPv4Address(number)


def _looks_numeric(name: str) -> bool:
    # Browsers (WHATWG URL) treat a host whose last label is numeric as IPv4; so do we, and a
    # number we cannot read is refused instead of being sent to a resolver that might read it.
    last = name.rstrip(".").rsplit(".", 1)[-1]
    return bool(last) and bool(_NUMERIC_LABEL.fullmatch(last))


def parse_host(host: str) -> ParsedHost:
    """Canonicalise the host part of a URL (brackets around IPv6 allowed); raise AddressError."""
    text = host.strip()
    if not text or text != host or len(text) > 253 + 2:
        raise AddressError(f"invalid host {host!r}")
    if text.startswith("[") or ":" in text:
        inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        # A zone id (fe80::1%eth0, URL-encoded as %25eth0) names an interface, never a remote host.
        inner = inner.split("%", 1)[0]
        try:
            address = IPv6Address(inner)
        except ValueError as exc:
            raise AddressError(f"invalid IPv6 address {host!r}") from exc
        return ParsedHost(name=str(address), ip=address)
    if "%" in text or "\\" in text or "@" in text:
        raise AddressError(f"invalid host {host!r}")
    lowered = text.lower()
    if lowered.isascii():
        name = lowered[:-1] if lowered.endswith(".") else lowered
    else:
        try:
            name = idna.encode(text, uts46=True).decode("ascii").rstrip(".")
        except idna.IDNAError as exc:
            raise AddressError(f"invalid hostname {host!r}") from exc
    if _looks_numeric(name):
        ipv4 = parse_ipv4_loose(name)
        if ipv4 is None:
            raise AddressError(f"invalid IPv4 address {host!r}")
        return ParsedHost(name=str(ipv4), ip=ipv4)
    if not _HOSTNAME_ASCII.fullmatch(name) or any(len(label) > 63 for label in name.split(".")):
        raise AddressError(f"invalid hostname {host!r}")
    return ParsedHost(name=name, ip=None)


def embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address leads to through a translation or tunnel mechanism."""
    packed = address.packed
    if address in _MAPPED or address in _SIIT or address in _NAT64:
        return [IPv4Address(packed[12:])]
    if address in _COMPATIBLE and int(address) > 1:
        return [IPv4Address(packed[12:])]
    if address in _SIX_TO_FOUR:
        return [IPv4Address(packed[2:6])]
    if address in _TEREDO:
        server = IPv4Address(packed[4:8])
        client = IPv4Address(bytes(byte ^ 0xFF for byte in packed[12:16]))
        return [server, client]
    return []


def _ipv4_reason(address: IPv4Address) -> str | None:
    for network, why in _IPV4_REFUSED:
        if address in network:
            return why
    return None if address.is_global else "reserved"


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address, or None when it is one."""
    if isinstance(address, IPv4Address):
        return _ipv4_reason(address)
    for network, why in _IPV6_REFUSED:
        if address in network:
            return why
    inner = embedded_ipv4(address)
    for ipv4 in inner:
        inner_why = _ipv4_reason(ipv4)
        if inner_why is not None:
            return f"{inner_why} (IPv4 {ipv4} inside IPv6)"
    if inner:
        return None
    return None if address in _GLOBAL_UNICAST else "reserved"


def is_approved(address: IPAddress, approved: Iterable[IPNetwork]) -> bool:
    """True when the owner approved this address (or the IPv4 address an IPv4-mapped one wraps)."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in approved
    )


def check_address(address: IPAddress, approved: Iterable[IPNetwork]) -> str | None:
    """The reason to refuse ``address`` for a server with these approved networks, or None."""
    why = refusal_reason(address)
    if why is None or is_approved(address, approved):
        return None
    return why


def parse_networks(items: Iterable[str | IPAddress | IPNetwork]) -> frozenset[IPNetwork]:
    """Read approved addresses/networks (``127.0.0.1``, ``192.168.1.0/24``, ``fd00::/8``)."""
    networks: set[IPNetwork] = set()
    for item in items:
        if isinstance(item, IPv4Network | IPv6Network):
            networks.add(item)
            continue
        try:
            networks.add(ip_network(item if isinstance(item, str) else str(item), strict=True))
        except ValueError as exc:
            raise AddressError(f"invalid approved address or network {item!r}") from exc
    return frozenset(networks)


def parse_resolved(text: str) -> IPAddress:
    """Read an address as a resolver returns it (may carry an IPv6 zone id)."""
    return ip_address(text.split("%", 1)[0])


_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True, slots=True)
class Target:
    """A URL split by our own strict parser: what is checked is exactly what is contacted."""

    scheme: str
    host: ParsedHost
    port: int
    path_query: str  # starts with "/"; the fragment is dropped

    @property
    def default_port(self) -> int:
        return _DEFAULT_PORTS[self.scheme]

    @property
    def authority(self) -> str:
        """``host:port`` as the Host header and approvals write it (port only when not default)."""
        host = f"[{self.host.name}]" if ":" in self.host.name else self.host.name
        return host if self.port == self.default_port else f"{host}:{self.port}"

    @property
    def display_url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path_query}"

    @property
    def path(self) -> str:
        """The path without the query string, which often carries keys and so is never recorded."""
        return self.path_query.split("?", 1)[0]

    def pinned_url(self, address: IPAddress) -> str:
        """The same URL aimed at ``address`` itself, so that nothing resolves the name again."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path_query}"

    def parts(self) -> tuple[str, str, int, str]:
        return self.scheme, self.host.name, self.port, self.path


def split_url(url: str) -> Target:
    """Split an absolute http(s) URL; ValueError (an AddressError) says what is wrong, for the LLM.

    Deliberately stricter than browsers and urllib: any whitespace, control character or
    backslash is refused instead of being interpreted, so no two parsers can disagree about the
    host, and credentials in the URL are refused (they would be logged and are easy to leak).
    """
    if any(ord(char) <= 0x20 or ord(char) == 0x7F or char == "\\" for char in url):
        raise AddressError("the URL contains whitespace, control characters or backslashes")
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in _DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else url[:40]
        raise AddressError(f"only http:// and https:// URLs are allowed, not {shown!r}")
    rest = url[len(scheme) + 1 :]
    if not rest.startswith("//"):
        raise AddressError("the URL must be absolute, like https://host/path")
    rest = rest[2:].split("#", 1)[0]
    cut = min((index for index in (rest.find("/"), rest.find("?")) if index >= 0), default=len(rest))
    authority, path_query = rest[:cut], rest[cut:]
    if "@" in authority:
        raise AddressError("user names and passwords in URLs are not allowed; send them in a header")
    host_text, port_text = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        host_text, after = authority[: end + 1], authority[end + 1 :]
        if end < 0 or (after and not after.startswith(":")):
            raise AddressError(f"invalid host {authority!r}")
        port_text = after[1:] if after else ""
        has_port = bool(after)
    else:
        has_port = ":" in authority
        host_text, _, port_text = authority.partition(":")
    if has_port and not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise AddressError(f"invalid port {port_text!r}")
    port = int(port_text) if has_port else _DEFAULT_PORTS[scheme]
    if not path_query.startswith("/"):
        path_query = "/" + path_query
    return Target(scheme=scheme, host=parse_host(host_text), port=port, path_query=path_query)


def parse_host_rule(entry: str) -> tuple[str, int | None]:
    """Read an approved-host entry: ``host``, ``host:port``, ``[v6]:port`` (port None: default)."""
    text = entry.strip()
    port_text: str | None = None
    if text.startswith("[") and "]:" in text:
        text, _, port_text = text.rpartition(":")
    elif text.count(":") == 1:
        text, _, port_text = text.partition(":")
    if port_text is None:
        return parse_host(text).name, None
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise AddressError(f"invalid port in {entry!r}")
    return parse_host(text).name, int(port_text)
