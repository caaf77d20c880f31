"""A server's allowlists, read from approved requests: the only thing that grants either.

* Modules: the sandbox's default modules plus every approved module request of the server.
* Egress: every approved host rule of the server. A rule that is an IP literal (``127.0.0.1``,
  ``[fd00::5]:8443``) is also returned as an approved *address*: the broker refuses non-public
  addresses unless the owner approved that exact address, and approving the literal host is that
  approval. A hostname that resolves to a private address is not covered; that needs an approved
  address of its own.
"""

from __future__ import annotations

import re

from mcpbox.db import request_store
from mcpbox.db.engine import Database
from mcpbox.db.request_store import RequestKind
from mcpbox.errors import InvalidInput
from mcpbox.sandbox.addresses import AddressError, parse_host, parse_host_rule
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES, is_never_allowed

_MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}")
HOST_RULE_MAX = 300


def check_module_name(module: str) -> str:
    """A dotted import name that may ever be allowed; ``InvalidInput`` says why not."""
    if not _MODULE_RE.fullmatch(module) or any(part.startswith("_") for part in module.split(".")):
        raise InvalidInput(
            f"invalid module name {module!r}: give the import name, e.g. 'yaml' or 'dateutil.parser' "
            "(no leading underscores)"
        )
    if is_never_allowed(module):
        raise InvalidInput(
            f"module {module!r} can never be allowed: it reaches the host or the interpreter; "
            "use the injected `http` client, `secrets` and the default modules instead"
        )
    return module


def canonical_host(entry: str) -> str:
    """The canonical form of a host rule (``name``, ``name:port``, ``[v6]:port``); ``InvalidInput``."""
    if not entry or len(entry) > HOST_RULE_MAX or "/" in entry:
        raise InvalidInput(
            f"invalid host {entry!r}: give a host name or IP address, optionally with ':port', "
            "without scheme or path (e.g. 'api.example.org' or '192.168.1.10:8080')"
        )
    try:
        name, port = parse_host_rule(entry)
    except AddressError as exc:
        raise InvalidInput(f"invalid host {entry!r}: {exc}") from exc
    shown = f"[{name}]" if ":" in name else name
    return shown if port is None else f"{shown}:{port}"


async def module_allowlist_for_server(db: Database, server: str) -> frozenset[str]:
    """Modules tool code of ``server`` may import."""
    approved = await request_store.approved_subjects(db, RequestKind.MODULE, server)
    return DEFAULT_MODULES | approved


async def egress_rules_for_server(db: Database, server: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(approved_hosts, approved_addresses)`` for the server's ``EgressGrant``."""
    hosts = await request_store.approved_subjects(db, RequestKind.HOST, server)
    addresses: set[str] = set()
    for rule in hosts:
        name, _port = parse_host_rule(rule)
        ip = parse_host(name).ip
        if ip is not None:
            addresses.add(str(ip))
    return frozenset(hosts), frozenset(addresses)
