"""CSP holds by construction: no inline script, style or event handler in any template, and
the CSP header on every HTML response (pages, redirects' targets, error pages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcpbox.web.routes import ADMIN_ROUTES
from mcpbox.web.templating import STATIC_DIR, TEMPLATES_DIR
from tests.web.admin_harness import PATH_VALUES, Admin

TEMPLATES = sorted(TEMPLATES_DIR.glob("*.html"))
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
FORBIDDEN = {
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "foreign resource": re.compile(r"(src|href)\s*=\s*\"(https?:)?//", re.IGNORECASE),
}


def test_there_are_templates_to_check() -> None:
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_inline_script_style_or_handlers(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    for attributes in SCRIPT_TAG.findall(text):
        assert "src=" in attributes, f"{template.name}: inline <script>"
    for what, pattern in FORBIDDEN.items():
        assert not pattern.search(text), f"{template.name}: {what}"


def test_static_assets_are_local_and_few() -> None:
    assert sorted(p.name for p in STATIC_DIR.iterdir()) == ["mcpbox.css", "mcpbox.js"]
    script = (STATIC_DIR / "mcpbox.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script
    assert "eval(" not in script


def _assert_csp(response_headers: dict[str, str], where: str) -> None:
    csp = response_headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert "frame-ancestors 'none'" in csp, where


@pytest.mark.anyio
async def test_every_html_response_carries_the_csp(admin: Admin) -> None:
    from mcpbox.db import secret_store, server_store

    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    await secret_store.create_secret_placeholder(admin.state.database, "home", "API_KEY", created_by="llm")
    paths = [
        spec.path.format(**PATH_VALUES)
        for spec in ADMIN_ROUTES
        if "GET" in spec.methods and not spec.path.endswith("/stream")
    ]
    paths += ["/admin/servers/nowhere", "/admin/activity?outcome=bogus", "/admin/static/mcpbox.css"]
    seen_html = 0
    for path in paths:
        response = await admin.client.get(path, follow_redirects=True)
        _assert_csp(dict(response.headers), path)
        if response.headers.get("content-type", "").startswith("text/html"):
            seen_html += 1
            assert "<script>" not in response.text
    assert seen_html >= 8
    admin.client.cookies.clear()
    for path in ("/admin/login", "/admin/setup"):
        response = await admin.client.get(path, follow_redirects=True)
        _assert_csp(dict(response.headers), path)
