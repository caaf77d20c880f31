"""Secrets set from the UI and API: stored, recorded with the admin's name, never shown again."""

from __future__ import annotations

import re

import pytest

from mcpbox.db import secret_store, server_store
from mcpbox.web.routes import ADMIN_ROUTES, API_ROUTES
from tests.web.admin_harness import OWNER, PATH_VALUES, Admin, wait_for_event

pytestmark = pytest.mark.anyio
UI_VALUE = "ui-secret-Zq8v1x-do-not-show"
API_VALUE = "api-secret-P3k9wq-do-not-show"


async def _server(admin: Admin) -> None:
    await server_store.create_server(admin.state.database, name="home", created_by="llm")
    await secret_store.create_secret_placeholder(admin.state.database, "home", "API_KEY", created_by="llm")


async def _get_everything(admin: Admin) -> list[tuple[str, str]]:
    """Every GET route of both tables, with every query-less variant a browser would load."""
    bodies = []
    for spec in (*ADMIN_ROUTES, *API_ROUTES):
        if "GET" in spec.methods:
            path = spec.path.format(**PATH_VALUES)
            response = await admin.client.get(path)
            bodies.append((path, response.text + str(response.headers)))
    for extra in (
        "/admin/activity?event=secret.",
        "/api/activity?event=secret.",
        "/admin/servers/home?notice=secret-set&key=API_KEY",
    ):
        response = await admin.client.get(extra)
        bodies.append((extra, response.text))
    return bodies


async def test_a_secret_set_in_the_ui_is_stored_and_never_rendered(admin: Admin) -> None:
    await _server(admin)
    response = await admin.client.post(
        "/admin/servers/home/secrets/API_KEY", data={"csrf_token": await admin.csrf(), "value": UI_VALUE}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/servers/home?notice=secret-set&key=API_KEY"
    values = await secret_store.load_secret_values(admin.state.database, "home", admin.state.keyring)
    assert values == {"API_KEY": UI_VALUE}
    event = await wait_for_event(admin.state, "secret.set")
    assert event.actor == OWNER
    assert event.server == "home"
    for path, body in await _get_everything(admin):
        assert UI_VALUE not in body, path


async def test_a_secret_put_over_the_api_is_declared_if_needed_and_never_returned(admin: Admin) -> None:
    await _server(admin)
    csrf = (await admin.client.get("/api/session")).json()["csrf_token"]
    response = await admin.client.put(
        "/api/servers/home/secrets/NEW_TOKEN", json={"value": API_VALUE}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert response.json()["has_value"] is True
    assert API_VALUE not in response.text
    detail = (await admin.client.get("/api/servers/home")).json()
    assert {s["key"]: s["has_value"] for s in detail["secrets"]} == {"API_KEY": False, "NEW_TOKEN": True}
    await wait_for_event(admin.state, "secret.set")
    for path, body in await _get_everything(admin):
        assert API_VALUE not in body, path


async def test_adding_a_secret_from_the_server_page(admin: Admin) -> None:
    await _server(admin)
    response = await admin.client.post(
        "/admin/servers/home/secrets",
        data={"csrf_token": await admin.csrf(), "key": "WEATHER_KEY", "value": UI_VALUE},
    )
    assert response.status_code == 303
    page = await admin.client.get("/admin/servers/home")
    assert "WEATHER_KEY" in page.text
    assert "Secret WEATHER_KEY saved" not in page.text  # the notice needs the redirect's query
    assert UI_VALUE not in page.text


async def test_a_bad_key_is_reported_on_the_page(admin: Admin) -> None:
    await _server(admin)
    response = await admin.client.post(
        "/admin/servers/home/secrets", data={"csrf_token": await admin.csrf(), "key": "lower", "value": "v"}
    )
    assert response.status_code == 400
    assert "invalid secret key" in response.text


async def test_deleting_needs_the_confirmation_box(admin: Admin) -> None:
    await _server(admin)
    confirm = await admin.client.get("/admin/servers/home/secrets/API_KEY/delete")
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.text
    csrf = await admin.csrf()
    unconfirmed = await admin.client.post(
        "/admin/servers/home/secrets/API_KEY/delete", data={"csrf_token": csrf}
    )
    assert unconfirmed.status_code == 400
    assert len(await secret_store.list_secrets(admin.state.database, "home")) == 1
    done = await admin.client.post(
        "/admin/servers/home/secrets/API_KEY/delete", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert done.status_code == 303
    assert await secret_store.list_secrets(admin.state.database, "home") == []
    assert (await wait_for_event(admin.state, "secret.deleted")).actor == OWNER


async def test_api_delete_and_not_found(admin: Admin) -> None:
    await _server(admin)
    headers = {"X-CSRF-Token": await admin.csrf()}
    assert (
        await admin.client.delete("/api/servers/home/secrets/API_KEY", headers=headers)
    ).status_code == 204
    missing = await admin.client.delete("/api/servers/home/secrets/API_KEY", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert re.search(r"API_KEY", missing.json()["error"]["message"])
