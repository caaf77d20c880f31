"""docs/api.md documents every /api route of the route table, and nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from mcpbox.web.errors import ERROR_TABLE
from mcpbox.web.routes import API_ROUTES

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HEADING = re.compile(r"^### `(GET|POST|PUT|PATCH|DELETE) (/api/\S+)`$", re.MULTILINE)


def _documented() -> set[tuple[str, str]]:
    return {(method, path) for method, path in HEADING.findall(API_DOC.read_text(encoding="utf-8"))}


def _routes() -> set[tuple[str, str]]:
    return {(method, spec.path) for spec in API_ROUTES for method in spec.methods}


def test_every_api_route_is_documented() -> None:
    missing = _routes() - _documented()
    assert not missing, f"add these to docs/api.md: {sorted(missing)}"


def test_every_documented_route_exists() -> None:
    stale = _documented() - _routes()
    assert not stale, f"docs/api.md documents routes that do not exist: {sorted(stale)}"


def test_every_error_code_is_documented() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    for error in ERROR_TABLE.values():
        assert f"`{error.code}`" in text, error.code
