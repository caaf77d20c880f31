"""Version content and its hash: same content, same hash; any field changed, another hash."""

from __future__ import annotations

import dataclasses

import pytest

from mcpbox.errors import InvalidInput
from mcpbox.tools.versions import build_content, content_hash
from tests.tools.harness import CODE


def test_same_content_gives_the_same_hash() -> None:
    first = build_content(CODE, modules=["zlib", "zlib"], hosts=["API.example.org", "a.example.org"])
    second = build_content(CODE, modules=["zlib"], hosts=["a.example.org", "api.example.org."])
    assert first == second
    assert content_hash(first) == content_hash(second)
    assert len(content_hash(first)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"code": CODE + "\nLIMIT = 3\n"},
        {"description": "Something else."},
        {"input_schema": {"type": "object", "properties": {}, "additionalProperties": False}},
        {"modules": ("zlib",)},
        {"hosts": ("api.example.org",)},
    ],
)
def test_any_field_change_gives_a_new_hash(change: dict[str, object]) -> None:
    base = build_content(CODE)
    assert content_hash(dataclasses.replace(base, **change)) != content_hash(base)  # type: ignore[arg-type]


def test_schema_and_description_come_from_main() -> None:
    content = build_content(CODE)
    assert content.description == "Daily forecast for a city."
    assert content.input_schema["required"] == ["city"]
    assert content.input_schema["properties"]["days"]["default"] == 3


def test_imports_outside_the_defaults_are_declared_for_the_reviewer() -> None:
    content = build_content("import zlib\n" + CODE)
    assert content.modules == ("zlib",)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def helper():\n    pass\n", "must define a top-level function `main`"),
        ("def main(:\n", "syntax error"),
        ("import os\n" + CODE, "can never be allowed"),
    ],
)
def test_code_that_breaks_the_contract_is_refused_with_the_reason(code: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_content(code)


def test_hosts_must_be_hosts() -> None:
    with pytest.raises(InvalidInput, match="invalid host"):
        build_content(CODE, hosts=["https://example.org/path"])


def test_oversized_code_is_refused() -> None:
    with pytest.raises(InvalidInput, match="larger than"):
        build_content(CODE, max_code_bytes=10)
