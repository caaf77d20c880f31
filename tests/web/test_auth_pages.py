"""Setup, login, logout and the session cookie, through the pages a browser uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbox.activity.events import Outcome
from mcpbox.auth import sessions
from tests.web.admin_harness import (
    OWNER,
    PASSWORD,
    Admin,
    FakeClock,
    admin_app,
    cheap_policy,
    csrf_from,
    log_in,
    run_setup,
    wait_for_event,
)

pytestmark = pytest.mark.anyio


async def test_before_setup_every_page_leads_to_setup(fresh: Admin) -> None:
    response = await fresh.client.get("/admin/servers")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/setup"
    page = await fresh.client.get("/admin/setup")
    assert "mcpbox serve" in page.text
    assert 'name="password"' not in page.text


async def test_the_api_answers_401_json_without_a_session(fresh: Admin) -> None:
    response = await fresh.client.get("/api/servers")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated", "message": "sign in to continue"}}


async def test_setup_creates_the_admin_signs_in_and_records_it(fresh: Admin) -> None:
    response = await run_setup(fresh.client, fresh.state)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    dashboard = await fresh.client.get("/admin/")
    assert dashboard.status_code == 200
    assert f"Signed in as <strong>{OWNER}</strong>" in dashboard.text
    created = await wait_for_event(fresh.state, "admin.created")
    assert created.actor == OWNER


async def test_a_setup_token_is_single_use(fresh: Admin) -> None:
    token = fresh.state.setup_token
    await run_setup(fresh.client, fresh.state)
    fresh.client.cookies.clear()
    again = await fresh.client.get(f"/admin/setup?token={token}")
    assert again.status_code == 303
    assert again.headers["location"] == "/admin/login"
    login_page = await fresh.client.get("/admin/login")
    replay = await fresh.client.post(
        "/admin/setup",
        data={
            "csrf_token": csrf_from(login_page.text),
            "setup_token": token or "",
            "name": "intruder",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert replay.status_code == 303
    assert replay.headers["location"] == "/admin/login"
    assert (await log_in(fresh.client, "intruder")).status_code == 401


async def test_a_wrong_setup_token_is_refused(fresh: Admin) -> None:
    page = await fresh.client.get("/admin/setup?token=guess")
    response = await fresh.client.post(
        "/admin/setup",
        data={
            "csrf_token": csrf_from(page.text),
            "setup_token": "guess",
            "name": OWNER,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert response.status_code == 403
    assert "invalid, expired or already used" in response.text
    assert (await wait_for_event(fresh.state, "admin.setup_failed")).outcome == Outcome.DENIED.value


async def test_login_failure_then_success(admin: Admin) -> None:
    admin.client.cookies.clear()
    failed = await log_in(admin.client, OWNER, "not the password")
    assert failed.status_code == 401
    assert "the name or password is wrong" in failed.text
    assert "not the password" not in failed.text
    assert "mcpbox_session" not in failed.headers.get("set-cookie", "")
    event = await wait_for_event(admin.state, "admin.login_failed")
    assert event.actor == OWNER
    assert event.outcome == "denied"

    ok = await log_in(admin.client)
    assert ok.status_code == 303
    assert ok.headers["location"] == "/admin/"
    assert (await admin.client.get("/admin/")).status_code == 200


async def test_login_returns_to_the_page_asked_for_but_never_off_site(admin: Admin) -> None:
    admin.client.cookies.clear()
    redirect = await admin.client.get("/admin/activity?outcome=error")
    assert redirect.headers["location"] == "/admin/login?next=/admin/activity%3Foutcome%3Derror"
    for target, expected in [
        ("/admin/system", "/admin/system"),
        ("//evil.example/admin/", "/admin/"),
        ("https://evil.example", "/admin/"),
    ]:
        page = await admin.client.get("/admin/login")
        response = await admin.client.post(
            "/admin/login",
            data={"csrf_token": csrf_from(page.text), "name": OWNER, "password": PASSWORD, "next": target},
        )
        assert response.headers["location"] == expected
        admin.client.cookies.clear()


async def test_login_issues_a_new_session_id_each_time(admin: Admin) -> None:
    first = admin.client.cookies["mcpbox_session"]
    admin.client.cookies.clear()
    await log_in(admin.client)
    second = admin.client.cookies["mcpbox_session"]
    assert first != second


async def test_a_presession_cookie_is_not_a_session(fresh: Admin) -> None:
    await run_setup(fresh.client, fresh.state)
    fresh.client.cookies.clear()
    await fresh.client.get("/admin/login")
    planted = fresh.client.cookies["mcpbox_presession"]
    fresh.client.cookies.set("mcpbox_session", planted)
    assert (await fresh.client.get("/admin/")).status_code == 303


async def test_logout_revokes_the_session_server_side(admin: Admin) -> None:
    token = admin.client.cookies["mcpbox_session"]
    response = await admin.client.post("/admin/logout", data={"csrf_token": await admin.csrf()})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert (await wait_for_event(admin.state, "admin.logout")).actor == OWNER
    # Replaying the old cookie (as a thief would) no longer works.
    admin.client.cookies.set("mcpbox_session", token)
    assert (await admin.client.get("/admin/")).status_code == 303
    assert (await admin.client.get("/api/servers")).status_code == 401


async def test_cookie_flags_over_http(fresh: Admin) -> None:
    response = await run_setup(fresh.client, fresh.state)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mcpbox_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict"} <= flags
    assert "secure" not in flags


async def test_cookie_flags_over_https_use_secure_and_the_host_prefix(tmp_path: Path) -> None:
    async with admin_app(tmp_path, base_url="https://127.0.0.1:8443") as (client, state):
        response = await run_setup(client, state)
        cookie = next(c for c in response.headers.get_list("set-cookie") if "mcpbox_session=" in c)
        assert cookie.startswith("__Host-mcpbox_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=strict", "secure"} <= flags
        assert not any(flag.startswith("domain") for flag in flags)
        assert (await client.get("/admin/")).status_code == 200


async def test_a_trusted_https_public_url_makes_cookies_secure(tmp_path: Path) -> None:
    # Behind a TLS-terminating proxy the app sees http, but the browser speaks https.
    async with admin_app(tmp_path, environ={"MCPBOX_PUBLIC_URL": "https://box.example.org"}) as (
        client,
        state,
    ):
        response = await client.get(f"/admin/setup?token={state.setup_token}")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-mcpbox_presession=")
        assert "secure" in cookie.lower()


async def test_idle_and_absolute_expiry_end_browser_sessions(tmp_path: Path) -> None:
    clock = FakeClock()
    policy = cheap_policy(clock)
    async with admin_app(tmp_path, policy=policy) as (client, state):
        await run_setup(client, state)
        clock.advance(policy.session_idle_seconds + 1)
        assert (await client.get("/admin/")).status_code == 303
        await log_in(client)
        for _ in range(policy.session_absolute_seconds // (policy.session_idle_seconds // 2)):
            clock.advance(policy.session_idle_seconds // 2)
            await client.get("/admin/")
        clock.advance(policy.session_idle_seconds // 2)
        assert (await client.get("/admin/")).status_code == 303
        assert (await client.get("/api/session")).status_code == 401


async def test_api_session_reports_the_admin_and_its_csrf_token(admin: Admin) -> None:
    body = (await admin.client.get("/api/session")).json()
    assert body["admin"] == OWNER
    assert body["csrf_token"] == await admin.csrf()
    token = admin.client.cookies["mcpbox_session"]
    view = await sessions.load_session(admin.state.database, token, cheap_policy())
    assert view is not None
