"""Secret redaction for everything a call produces that a human or an LLM will read.

A server's secrets are handed to its tools, and tool output (stdout, results, errors), log lines
and the broker's recorded HTTP attempts all flow back to an MCP client or the activity log. The
Redactor replaces each secret with ``[REDACTED:KEY]`` before that happens.

Secrets rarely leak verbatim only: an API key ends up URL-encoded in a query string or base64'd
inside an ``Authorization: Basic`` header. So each secret is also searched for in its
percent-encoded forms and in its base64 forms *at every byte alignment*: base64 of a secret that
sits after 1 or 2 other bytes (``user:`` in Basic auth) does not contain the secret's own base64,
but it does contain a stable middle part that we can compute. Values shorter than four characters
are ignored; redacting ``"a"`` everywhere would destroy output without protecting anything.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

MIN_SECRET_LENGTH = 4
# Shortest base64 fragment worth matching: shorter ones would match unrelated text too often.
_MIN_B64_FRAGMENT = 6


def _base64_forms(secret: bytes) -> set[str]:
    """Base64 text that appears whenever ``secret`` is base64-encoded inside a larger blob."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(secret).decode("ascii")
        forms.add(whole)
        forms.add(whole.rstrip("="))
        for offset in range(3):
            encoded = encode(b"\0" * offset + secret).decode("ascii")
            # Characters fully determined by the secret's bits, whatever bytes surround it.
            start = -(-8 * offset // 6)
            stop = (8 * (offset + len(secret))) // 6
            fragment = encoded[start:stop]
            if len(fragment) >= _MIN_B64_FRAGMENT:
                forms.add(fragment)
    return forms


def _encoded_forms(value: str) -> set[str]:
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value, safe="/:")}
    forms |= {form.lower() for form in forms if "%" in form}  # some encoders use lowercase hex
    forms |= _base64_forms(value.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces every known secret (and its encodings) in text with ``[REDACTED:KEY]``.

    Built once per call from the server's secrets; ``redact`` is safe to call on any text, and a
    Redactor without secrets returns text unchanged.
    """

    __slots__ = ("_keys", "_pattern")

    def __init__(self, secret_values: Mapping[str, str]) -> None:
        keys: dict[str, str] = {}
        # Longest secret first so that a secret containing another is credited to itself.
        for key, value in sorted(secret_values.items(), key=lambda item: -len(item[1])):
            if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
                continue
            for form in _encoded_forms(value):
                keys.setdefault(form, key)
        self._keys = keys
        forms = sorted(keys, key=len, reverse=True)  # the regex tries alternatives in order
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        """``text`` with every secret occurrence replaced."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: f"[REDACTED:{self._keys[match.group(0)]}]", text)

    def redact_bytes(self, data: bytes) -> bytes:
        """Like ``redact`` for bytes; undecodable bytes are kept as they are."""
        if self._pattern is None or not data:
            return data
        return self.redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
