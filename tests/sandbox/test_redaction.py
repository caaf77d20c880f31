"""Secrets never reach output, logs or attempt records, in plain or encoded form."""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import pytest

from mcpbox.sandbox.redaction import Redactor

TOKEN = "sk-live-9f8e7d6c5b4a"


def test_plain_occurrences_are_replaced_with_the_key() -> None:
    redactor = Redactor({"API_TOKEN": TOKEN})
    assert (
        redactor.redact(f"token={TOKEN}; again {TOKEN}")
        == "token=[REDACTED:API_TOKEN]; again [REDACTED:API_TOKEN]"
    )


def test_longest_secret_wins_when_one_contains_another() -> None:
    redactor = Redactor({"SHORT": "abcd1234", "LONG": "abcd1234efgh"})
    assert redactor.redact("x abcd1234efgh y abcd1234") == "x [REDACTED:LONG] y [REDACTED:SHORT]"


def test_url_encoded_forms_are_replaced() -> None:
    secret = "p@ss/word+with spaces&="
    redactor = Redactor({"PASSWORD": secret})
    assert "REDACTED:PASSWORD" in redactor.redact(urlencode({"password": secret}))
    assert redactor.redact(quote(secret, safe="")) == "[REDACTED:PASSWORD]"
    assert redactor.redact(quote(secret, safe="").lower()) == "[REDACTED:PASSWORD]"


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b"ab:", b"a:"])
def test_base64_forms_are_replaced_at_every_alignment(prefix: bytes) -> None:
    redactor = Redactor({"PASSWORD": TOKEN})
    blob = base64.b64encode(prefix + TOKEN.encode() + b"-tail").decode()
    out = redactor.redact(f"Authorization: Basic {blob}")
    assert "[REDACTED:PASSWORD]" in out
    assert out != f"Authorization: Basic {blob}"


def test_urlsafe_base64_is_replaced() -> None:
    secret = "\xff\xfe>>>???secret"
    redactor = Redactor({"KEY": secret})
    blob = base64.urlsafe_b64encode(secret.encode()).decode()
    assert redactor.redact(blob) == "[REDACTED:KEY]"


def test_short_and_empty_values_are_ignored() -> None:
    redactor = Redactor({"PIN": "123", "EMPTY": ""})
    assert not redactor
    assert redactor.redact("pin 123") == "pin 123"


def test_without_secrets_text_is_unchanged() -> None:
    redactor = Redactor({})
    assert redactor.redact("anything") == "anything"
    assert redactor.redact_bytes(b"\xff\x00") == b"\xff\x00"


def test_regex_metacharacters_in_secrets_are_literal() -> None:
    redactor = Redactor({"ODD": "a.b*c(d)"})
    assert redactor.redact("a.b*c(d) axbbc(d)") == "[REDACTED:ODD] axbbc(d)"


def test_bytes_are_redacted_and_undecodable_bytes_kept() -> None:
    redactor = Redactor({"API_TOKEN": TOKEN})
    assert redactor.redact_bytes(b"\xff" + TOKEN.encode() + b"\xfe") == b"\xff[REDACTED:API_TOKEN]\xfe"


def test_unicode_secret_in_utf8_percent_encoding() -> None:
    redactor = Redactor({"PASS": "pässwörd"})
    assert redactor.redact("q=" + quote("pässwörd")) == "q=[REDACTED:PASS]"
