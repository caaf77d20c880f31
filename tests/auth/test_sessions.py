"""Server-side sessions: hashed at rest, idle and absolute expiry, revocation."""

from __future__ import annotations

import pytest

from mcpbox.auth import admin_store, sessions
from mcpbox.auth.policy import AuthPolicy
from mcpbox.db.engine import Database
from tests.db.sql import run_sql
from tests.web.admin_harness import FakeClock

pytestmark = pytest.mark.anyio


async def _admin(db: Database, clock: FakeClock, name: str = "owner") -> int:
    admin = await admin_store.create_admin(db, name, "$argon2id$placeholder", now=clock())
    assert admin.id is not None
    return admin.id


async def test_a_session_loads_by_token_and_only_its_digest_is_stored(
    database: Database, policy: AuthPolicy, clock: FakeClock
) -> None:
    admin_id = await _admin(database, clock)
    token = await sessions.create_session(database, admin_id, policy, client_address="127.0.0.1")
    view = await sessions.load_session(database, token, policy)
    assert view is not None
    assert view.admin_name == "owner"
    stored = await run_sql(database, "SELECT token_hash FROM admin_sessions")
    assert token not in str(stored)
    assert await sessions.load_session(database, token + "x", policy) is None


async def test_idle_sessions_expire(database: Database, policy: AuthPolicy, clock: FakeClock) -> None:
    token = await sessions.create_session(database, await _admin(database, clock), policy)
    clock.advance(policy.session_idle_seconds - 1)
    assert await sessions.load_session(database, token, policy) is not None  # use slides the window
    clock.advance(policy.session_idle_seconds - 1)
    assert await sessions.load_session(database, token, policy) is not None
    clock.advance(policy.session_idle_seconds + 1)
    assert await sessions.load_session(database, token, policy) is None
    assert await run_sql(database, "SELECT count(*) FROM admin_sessions") == [(0,)]


async def test_absolute_expiry_ends_even_a_busy_session(
    database: Database, policy: AuthPolicy, clock: FakeClock
) -> None:
    token = await sessions.create_session(database, await _admin(database, clock), policy)
    step = policy.session_idle_seconds // 2
    elapsed = 0
    while elapsed + step < policy.session_absolute_seconds:
        clock.advance(step)
        elapsed += step
        assert await sessions.load_session(database, token, policy) is not None
    clock.advance(step)
    assert await sessions.load_session(database, token, policy) is None


async def test_revoked_sessions_stop_working(
    database: Database, policy: AuthPolicy, clock: FakeClock
) -> None:
    admin_id = await _admin(database, clock)
    one = await sessions.create_session(database, admin_id, policy)
    two = await sessions.create_session(database, admin_id, policy)
    assert await sessions.revoke_session(database, one)
    assert await sessions.load_session(database, one, policy) is None
    assert await sessions.load_session(database, two, policy) is not None
    assert await sessions.revoke_admin_sessions(database, admin_id) == 1
    assert await sessions.load_session(database, two, policy) is None


async def test_housekeeping_deletes_expired_sessions(
    database: Database, policy: AuthPolicy, clock: FakeClock
) -> None:
    admin_id = await _admin(database, clock)
    await sessions.create_session(database, admin_id, policy)
    clock.advance(policy.session_idle_seconds + 1)
    live = await sessions.create_session(database, admin_id, policy)
    assert await sessions.delete_expired_sessions(database, policy) == 1
    assert await sessions.load_session(database, live, policy) is not None


async def test_each_session_token_is_new(database: Database, policy: AuthPolicy, clock: FakeClock) -> None:
    admin_id = await _admin(database, clock)
    tokens = {await sessions.create_session(database, admin_id, policy) for _ in range(5)}
    assert len(tokens) == 5


async def test_purge_removes_expired_sessions_and_stale_attempts(
    database: Database, policy: AuthPolicy, clock: FakeClock
) -> None:
    from mcpbox.auth import throttle
    from mcpbox.auth.login import purge_expired_auth_state

    await sessions.create_session(database, await _admin(database, clock), policy)
    await throttle.record_failure(database, throttle.throttle_keys("x", "192.0.2.1"), policy)
    clock.advance(policy.throttle_window_seconds + 1)
    assert await purge_expired_auth_state(database, policy) == 3
