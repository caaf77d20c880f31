"""Hashing helpers for bearer-style secrets (setup tokens, later API tokens).

Tokens are stored only as their SHA-256 hex digest: a stolen database or backup then holds nothing
that can be replayed. Tokens are 256-bit random values, so a fast unsalted hash is enough (no
dictionary to attack); passwords use argon2 elsewhere. Comparisons go through
``hmac.compare_digest`` so the time taken does not reveal how many leading characters matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token(nbytes: int = TOKEN_BYTES) -> str:
    """A fresh URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored at rest."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def constant_time_equals(left: str | bytes, right: str | bytes) -> bool:
    """Compare two secrets without leaking, through timing, where they first differ."""
    left_bytes = left.encode("utf-8") if isinstance(left, str) else left
    right_bytes = right.encode("utf-8") if isinstance(right, str) else right
    return hmac.compare_digest(left_bytes, right_bytes)
