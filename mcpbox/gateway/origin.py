"""Origin and Host checks: the DNS-rebinding defence of a server that listens on loopback.

Any web page can make a browser send requests to ``127.0.0.1:8000``. A browser always sends
``Origin`` on such cross-site requests, so a present-but-foreign Origin is refused (403, as
the 2025-11-25 transport text requires). A rebinding attack also arrives with a foreign
``Host`` (the attacker's name now resolving to 127.0.0.1), so while bound to loopback the
Host must name loopback or the configured public URL (421, "misdirected"). CLI clients send
no Origin at all, which is allowed; a missing Host (HTTP/1.0) cannot come from a browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from mcpbox.config import Config

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str


def _split_host_port(authority: str) -> str:
    """The host part of ``host[:port]`` (IPv6 literals keep their brackets), lower-cased."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        end = authority.find("]")
        return authority[: end + 1] if end != -1 else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` in canonical (lower-case, no path) form."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = 80 if parts.scheme == "http" else 443
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"


class OriginPolicy:
    """Decides, from the two headers alone, whether a request may reach the gateway."""

    def __init__(self, config: Config) -> None:
        allowed = {_origin_of(item) for item in config.allowed_origins}
        public_host: str | None = None
        if config.public_url:
            allowed.add(_origin_of(config.public_url))
            public_host = urlsplit(config.public_url).hostname
        allowed.discard(None)
        self._allowed_origins: frozenset[str | None] = frozenset(allowed)
        hosts = set(LOOPBACK_HOSTS)
        if public_host:
            hosts.add(public_host.lower() if ":" not in public_host else f"[{public_host.lower()}]")
        self._allowed_hosts = frozenset(hosts)
        self._check_host = config.is_loopback_bind

    def origin_allowed(self, origin: str) -> bool:
        canonical = _origin_of(origin)
        if canonical is None:
            return False
        if canonical in self._allowed_origins:
            return True
        host = _split_host_port(canonical.split("://", 1)[1])
        return host in LOOPBACK_HOSTS

    def host_allowed(self, host: str) -> bool:
        return _split_host_port(host) in self._allowed_hosts

    def check(self, origin: str | None, host: str | None) -> Refusal | None:
        """None when the request may proceed, else the refusal to send."""
        if self._check_host and host is not None and not self.host_allowed(host):
            return Refusal(421, "Invalid Host header")
        if origin is not None and not self.origin_allowed(origin):
            return Refusal(403, "Invalid Origin header")
        return None
