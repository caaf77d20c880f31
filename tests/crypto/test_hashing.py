"""Token hashing and constant-time comparison."""

from __future__ import annotations

import hashlib

from mcpbox.crypto.hashing import constant_time_equals, new_token, token_hash


def test_token_hash_is_sha256_hex() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(token_hash(new_token())) == 64


def test_new_tokens_are_long_and_distinct() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)


def test_constant_time_equals_accepts_str_and_bytes() -> None:
    assert constant_time_equals("same", "same")
    assert constant_time_equals(b"same", "same")
    assert not constant_time_equals("same", "samf")
    assert not constant_time_equals("same", "same-but-longer")
