"""Host parsing and address classification: every notation an SSRF payload might use."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from mcpbox.sandbox.addresses import (
    AddressError,
    check_address,
    embedded_ipv4,
    parse_host,
    parse_host_rule,
    parse_ipv4_loose,
    parse_networks,
    refusal_reason,
    split_url,
)

LOOPBACK_NOTATIONS = [
    "127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "0x7f.0x0.0x0.0x1",
    "0X7F.0.0.1",
    "0x7f000001",
    "0x7F000001",
    "017700000001",
    "127.1",
    "127.0.1",
    "0x7f.1",
    "127.0x0.1",
    "127.000.000.001",
    "127.0.0.1.",
    "１２７．０．０．１",
]


@pytest.mark.parametrize("host", LOOPBACK_NOTATIONS)
def test_inet_aton_notations_read_as_loopback(host: str) -> None:
    parsed = parse_host(host)
    assert parsed.ip == IPv4Address("127.0.0.1")
    assert parsed.name == "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[::FFFF:7F00:1]", "::ffff:7f00:1"),
        ("[::127.0.0.1]", "::7f00:1"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("2002:7f00:1::", "2002:7f00:1::"),
    ],
)
def test_ipv6_literals_are_canonicalised(host: str, expected: str) -> None:
    assert parse_host(host).name == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("API.Example.ORG", "api.example.org"),
        ("api.example.org.", "api.example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example.", "xn--bcher-kva.example"),
        ("my_host.lan", "my_host.lan"),
        ("1e100.net", "1e100.net"),
    ],
)
def test_hostnames_are_canonicalised(host: str, expected: str) -> None:
    parsed = parse_host(host)
    assert parsed.name == expected
    assert parsed.ip is None


@pytest.mark.parametrize(
    "host",
    [
        "",
        " example.org",
        "%31%32%37.0.0.1",
        "127.0.0.08",
        "256.0.0.1",
        "1.2.3.4.5",
        "4294967296",
        "0x100000000",
        "example.123",
        "a..b",
        "exa mple.org",
        "[::1",
        "[zz::1]",
        "user@example.org",
        "evil.com\\@good.com",
    ],
)
def test_malformed_or_ambiguous_hosts_are_refused(host: str) -> None:
    with pytest.raises(AddressError):
        parse_host(host)


def test_parse_ipv4_loose_rejects_non_numbers() -> None:
    assert parse_ipv4_loose("example") is None
    assert parse_ipv4_loose("1.2.3.4.5") is None
    assert parse_ipv4_loose("0x") == IPv4Address("0.0.0.0")
    assert parse_ipv4_loose("10.1") == IPv4Address("10.0.0.1")
    assert parse_ipv4_loose("192.168.257") == IPv4Address("192.168.1.1")


FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:10.0.0.1", "private"),
    ("::127.0.0.1", "loopback"),
    ("::ffff:0:7f00:1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::", "loopback"),
    ("2002:c0a8:101::1", "private"),
    ("2001:0:7f00:1::", "loopback"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("100::1", "discard"),
    ("4000::1", "reserved"),
]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN)
def test_non_public_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    why = refusal_reason(ip_address(address))
    assert why is not None
    assert reason in why


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None


def test_teredo_exposes_server_and_client() -> None:
    inner = embedded_ipv4(IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
    assert inner == [IPv4Address("65.54.227.120"), IPv4Address("192.0.2.45")]


def test_approval_is_exact_to_the_address_or_network() -> None:
    approved = parse_networks(["127.0.0.1", "192.168.1.0/24"])
    assert check_address(ip_address("127.0.0.1"), approved) is None
    assert check_address(ip_address("::ffff:127.0.0.1"), approved) is None
    assert check_address(ip_address("192.168.1.77"), approved) is None
    assert check_address(ip_address("127.0.0.2"), approved) == "loopback"
    assert check_address(ip_address("192.168.2.1"), approved) == "private"
    assert check_address(ip_address("::1"), approved) == "loopback"


def test_parse_networks_refuses_garbage_and_host_bits() -> None:
    assert parse_networks([ip_network("fd00::/8")]) == frozenset({ip_network("fd00::/8")})
    with pytest.raises(AddressError):
        parse_networks(["192.168.1.1/24"])
    with pytest.raises(AddressError):
        parse_networks(["localhost"])


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "path_query"),
    [
        ("https://API.example.org/v1?q=1#frag", "https", "api.example.org", 443, "/v1?q=1"),
        ("http://example.org", "http", "example.org", 80, "/"),
        ("http://example.org?x=1", "http", "example.org", 80, "/?x=1"),
        ("HTTP://example.org:8080/a", "http", "example.org", 8080, "/a"),
        ("http://[::1]:8080/", "http", "::1", 8080, "/"),
        ("http://0x7f.1/", "http", "127.0.0.1", 80, "/"),
    ],
)
def test_split_url(url: str, scheme: str, host: str, port: int, path_query: str) -> None:
    target = split_url(url)
    assert (target.scheme, target.host.name, target.port, target.path_query) == (
        scheme,
        host,
        port,
        path_query,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http"),
        ("ftp://example.org/", "only http"),
        ("dict://127.0.0.1:11211/", "only http"),
        ("javascript:alert(1)", "only http"),
        ("//example.org/", "only http"),
        ("http:example.org", "absolute"),
        ("http://user:pass@example.org/", "user names"),
        ("http://example.org@127.0.0.1/", "user names"),
        ("http://evil.com\\@good.com/", "backslash"),
        ("http://example.org /", "whitespace"),
        ("http://exa\tmple.org/", "whitespace"),
        ("http://example.org:0/", "invalid port"),
        ("http://example.org:65536/", "invalid port"),
        ("http://example.org:80a/", "invalid port"),
        ("http://example.org:/", "invalid port"),
        ("http://[::1]x/", "invalid host"),
        ("http:///path", "invalid host"),
    ],
)
def test_split_url_refuses(url: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        split_url(url)


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("api.example.org", ("api.example.org", None)),
        ("API.example.org.:8443", ("api.example.org", 8443)),
        ("192.168.1.10:8123", ("192.168.1.10", 8123)),
        ("[fd00::1]:8080", ("fd00::1", 8080)),
        ("fd00::1", ("fd00::1", None)),
    ],
)
def test_host_rules(entry: str, rule: tuple[str, int | None]) -> None:
    assert parse_host_rule(entry) == rule


def test_host_rule_with_bad_port_is_refused() -> None:
    with pytest.raises(AddressError):
        parse_host_rule("example.org:http")
