"""Protocol versions the gateway speaks, and the one negotiation rule of the handshake era.

Versions are an enumerated set, never compared as strings: a future identifier need not be
date-shaped, and an unknown value must not sort as "newer" by accident.
"""

from __future__ import annotations

from typing import Final

HANDSHAKE_VERSIONS: Final[tuple[str, ...]] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
"""Reached through ``initialize``; the session remembers the negotiated one."""

MODERN_VERSIONS: Final[tuple[str, ...]] = ("2026-07-28",)
"""Served statelessly: every request names its version in ``params._meta``."""

ALL_VERSIONS: Final[tuple[str, ...]] = HANDSHAKE_VERSIONS + MODERN_VERSIONS

LATEST_HANDSHAKE: Final = "2025-11-25"

BATCH_VERSIONS: Final[frozenset[str]] = frozenset({"2025-03-26"})
"""JSON-RPC batches existed only in 2025-03-26 (added there, removed in 2025-06-18)."""

_HANDSHAKE_SET: Final = frozenset(HANDSHAKE_VERSIONS)
_MODERN_SET: Final = frozenset(MODERN_VERSIONS)


def negotiate(requested: object) -> str:
    """The version to answer ``initialize`` with.

    The spec says: echo the client's version when we support it, otherwise offer our latest and
    let the client decide whether to disconnect. The server never errors on a mismatch.
    """
    if isinstance(requested, str) and requested in _HANDSHAKE_SET:
        return requested
    return LATEST_HANDSHAKE


def is_handshake(version: str) -> bool:
    return version in _HANDSHAKE_SET


def is_modern(version: object) -> bool:
    return isinstance(version, str) and version in _MODERN_SET
