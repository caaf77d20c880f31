"""CSRF: every unsafe route in both route tables refuses a missing or wrong token, and a
foreign Origin, before the handler runs. New routes are covered because the tables are walked."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Route

from mcpbox.auth.csrf import UNSAFE_METHODS, csrf_matches, csrf_token
from mcpbox.db import secret_store, server_store, tool_store
from mcpbox.db.models import ToolStatus
from mcpbox.tools import lifecycle
from mcpbox.tools.policy import load_policy
from mcpbox.web.routes import ADMIN_ROUTES, API_ROUTES, RouteSpec, admin_routes, api_routes
from tests.web.admin_harness import PATH_VALUES, Admin, log_in

pytestmark = pytest.mark.anyio
CODE = 'def main() -> str:\n    """Say ok."""\n    return "ok"\n'
UNSAFE = [
    pytest.param(spec, method, id=f"{method} {spec.path}")
    for spec in (*ADMIN_ROUTES, *API_ROUTES)
    for method in spec.methods
    if method in UNSAFE_METHODS
]


def test_every_mounted_unsafe_route_is_under_test() -> None:
    mounted = {
        (route.path, method)
        for route in (*admin_routes(), *api_routes())
        if isinstance(route, Route)
        for method in route.methods or ()
        if method in UNSAFE_METHODS
    }
    assert mounted == {(p.values[0].path, p.values[1]) for p in UNSAFE}  # type: ignore[union-attr]
    assert len(mounted) >= 8


async def _prepare(admin: Admin) -> None:
    db = admin.state.database
    await server_store.create_server(db, name="home", created_by="test")
    await secret_store.create_secret_placeholder(db, "home", "API_KEY", created_by="test")
    tool, _ = await lifecycle.create_tool(
        db, server="home", name="weather", code=CODE, created_by="llm", hooks=admin.state.hooks
    )
    assert f"tool:{tool.id}" == PATH_VALUES["ref"]
    await lifecycle.request_publish(
        db, server="home", name="weather", requested_by="llm", hooks=admin.state.hooks
    )


async def _send(
    admin: Admin, spec: RouteSpec, method: str, token: str | None, **headers: str
) -> httpx.Response:
    url = spec.path.format(**PATH_VALUES)
    if spec.path.startswith("/api/"):
        if token is not None:
            headers["X-CSRF-Token"] = token
        body = {"value": "auto_approve", "arguments": {}, "to_version": 1}
        return await admin.client.request(method, url, json=body, headers=headers)
    form = {
        "value": "auto_approve",
        "key": "OTHER_KEY",
        "confirm": "yes",
        "name": "x",
        "password": "y",
        "decision": "approve",
        "to_version": "1",
        "arguments": "{}",
    }
    if token is not None:
        form["csrf_token"] = token
    return await admin.client.request(method, url, data=form, headers=headers)


async def _secret_untouched(admin: Admin) -> None:
    """Nothing any unsafe route could change has changed: secret, tool, server, policy."""
    db = admin.state.database
    (secret,) = await secret_store.list_secrets(db, "home")
    assert secret.key == "API_KEY"
    assert not secret.has_value
    tool = await tool_store.get_tool(db, "home", "weather")
    assert (tool.status, tool.current_version) == (ToolStatus.PENDING_REVIEW, 1)
    assert (await server_store.get_server(db, "home")).status == "running"
    assert (await load_policy(db)).tool_approval_mode == "require_approval"


@pytest.mark.parametrize(("spec", "method"), UNSAFE)
async def test_a_missing_csrf_token_is_403(admin: Admin, spec: RouteSpec, method: str) -> None:
    await _prepare(admin)
    response = await _send(admin, spec, method, None)
    assert response.status_code == 403, response.text
    if spec.path.startswith("/api/"):
        assert response.json()["error"]["code"] == "csrf_failed"
    await _secret_untouched(admin)


@pytest.mark.parametrize(("spec", "method"), UNSAFE)
async def test_a_wrong_csrf_token_is_403(admin: Admin, spec: RouteSpec, method: str) -> None:
    await _prepare(admin)
    response = await _send(admin, spec, method, csrf_token("some other session"))
    assert response.status_code == 403, response.text
    await _secret_untouched(admin)


@pytest.mark.parametrize(("spec", "method"), UNSAFE)
async def test_a_foreign_origin_is_403_even_with_the_right_token(
    admin: Admin, spec: RouteSpec, method: str
) -> None:
    await _prepare(admin)
    response = await _send(admin, spec, method, await admin.csrf(), Origin="https://evil.example")
    assert response.status_code == 403, response.text
    response = await _send(admin, spec, method, await admin.csrf(), **{"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403, response.text
    await _secret_untouched(admin)


@pytest.mark.parametrize(("spec", "method"), UNSAFE)
async def test_the_right_token_gets_past_the_guard(admin: Admin, spec: RouteSpec, method: str) -> None:
    await _prepare(admin)
    response = await _send(admin, spec, method, await admin.csrf(), Origin="http://127.0.0.1:8000")
    assert response.status_code != 403, response.text


async def test_a_token_from_a_previous_session_is_refused(admin: Admin) -> None:
    await _prepare(admin)
    old = await admin.csrf()
    await admin.client.post("/admin/logout", data={"csrf_token": old})
    await log_in(admin.client)
    response = await admin.client.post(
        "/admin/servers/home/secrets/API_KEY", data={"csrf_token": old, "value": "v"}
    )
    assert response.status_code == 403
    await _secret_untouched(admin)


def test_tokens_are_bound_to_their_cookie() -> None:
    assert csrf_matches("cookie-a", csrf_token("cookie-a"))
    assert not csrf_matches("cookie-b", csrf_token("cookie-a"))
    assert not csrf_matches(None, csrf_token("cookie-a"))
    assert not csrf_matches("cookie-a", "")


async def test_an_opaque_origin_needs_the_browsers_same_origin_word(admin: Admin) -> None:
    await _prepare(admin)
    spec = next(s for s in ADMIN_ROUTES if s.path == "/admin/servers/{name}/secrets/{key}")
    token = await admin.csrf()
    refused = await _send(admin, spec, "POST", token, Origin="null", **{"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    await _secret_untouched(admin)
    no_word = await _send(admin, spec, "POST", token, Origin="null")
    assert no_word.status_code == 403
    await _secret_untouched(admin)
    accepted = await _send(admin, spec, "POST", token, Origin="null", **{"Sec-Fetch-Site": "same-origin"})
    assert accepted.status_code == 303
