"""Error text from tool code: host paths hidden, URLs kept (the LLM needs the host to fix a call)."""

from __future__ import annotations

import pytest

from mcpbox.sandbox.worker.policy.reporting import clean_text


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [
        ("No such file: /work/main/mcpbox/x.py", "/work/main"),
        ("open('/etc/passwd') failed", "/etc/passwd"),
        ("at /root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", "/root/.pyenv"),
    ],
)
def test_host_paths_are_hidden(raw: str, hidden: str) -> None:
    cleaned = clean_text(raw)
    assert hidden not in cleaned
    assert "<path>" in cleaned


def test_urls_keep_their_host_and_path() -> None:
    message = "403 Forbidden for url https://api.open-meteo.com/v1/forecast?x=1"
    assert clean_text(message) == message
