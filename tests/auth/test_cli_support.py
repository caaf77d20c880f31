"""``mcpbox admin create`` / ``reset-password`` support: accounts, session revocation, events."""

from __future__ import annotations

import pytest

from mcpbox.auth import admin_store, sessions
from mcpbox.auth.cli_support import create_admin_account, reset_admin_password
from mcpbox.auth.passwords import verify_password
from mcpbox.auth.policy import AuthPolicy
from mcpbox.config import Config
from mcpbox.db.activity_store import ActivityFilter, list_activity
from mcpbox.db.engine import open_database
from mcpbox.errors import Conflict, InvalidInput, NotFound
from tests.web.admin_harness import PASSWORD

pytestmark = pytest.mark.anyio


async def test_create_then_reset_revokes_every_session(config: Config, policy: AuthPolicy) -> None:
    assert await create_admin_account(config, "owner", PASSWORD, policy=policy) == "owner"
    db = await open_database(config)
    try:
        admin = await admin_store.get_admin(db, "owner")
        assert admin.id is not None
        token = await sessions.create_session(db, admin.id, policy)
    finally:
        await db.close()

    result = await reset_admin_password(config, "owner", "a brand new password", policy=policy)
    assert result.sessions_revoked == 1

    db = await open_database(config)
    try:
        assert await sessions.load_session(db, token, policy) is None
        stored = await admin_store.get_admin(db, "owner")
        assert verify_password(stored.password_hash, "a brand new password", policy).ok
        assert not verify_password(stored.password_hash, PASSWORD, policy).ok
        events, _ = await list_activity(db, ActivityFilter(name_prefix="admin."))
    finally:
        await db.close()
    assert [(e.name, e.actor, (e.detail or {}).get("admin")) for e in events] == [
        ("admin.password_reset", "cli", "owner"),
        ("admin.created", "cli", "owner"),
    ]
    assert all(PASSWORD not in str(e.detail) for e in events)


async def test_create_refuses_duplicates_bad_names_and_weak_passwords(
    config: Config, policy: AuthPolicy
) -> None:
    await create_admin_account(config, "owner", PASSWORD, policy=policy)
    with pytest.raises(Conflict):
        await create_admin_account(config, "owner", PASSWORD, policy=policy)
    with pytest.raises(InvalidInput):
        await create_admin_account(config, "no spaces", PASSWORD, policy=policy)
    with pytest.raises(InvalidInput):
        await create_admin_account(config, "other", "short", policy=policy)


async def test_reset_of_an_unknown_admin_is_not_found(config: Config, policy: AuthPolicy) -> None:
    with pytest.raises(NotFound):
        await reset_admin_password(config, "ghost", PASSWORD, policy=policy)


async def test_reset_lifts_an_account_lockout(config: Config, policy: AuthPolicy) -> None:
    from mcpbox.auth import throttle
    from mcpbox.auth.errors import LoginThrottled

    await create_admin_account(config, "owner", PASSWORD, policy=policy)
    keys = throttle.throttle_keys("owner", "192.0.2.1")
    db = await open_database(config)
    try:
        for _ in range(policy.throttle_threshold):
            await throttle.record_failure(db, keys, policy)
        with pytest.raises(LoginThrottled):
            await throttle.check_allowed(db, keys[:1], policy)
    finally:
        await db.close()
    await reset_admin_password(config, "owner", "a brand new password", policy=policy)
    db = await open_database(config)
    try:
        await throttle.check_allowed(db, keys[:1], policy)
    finally:
        await db.close()
