"""Login throttling is stored in the database, so restarting mcpbox does not reset it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbox.auth.policy import AuthPolicy
from tests.web.admin_harness import admin_app, cheap_policy, log_in, run_setup, wait_for_event

pytestmark = pytest.mark.anyio


async def test_a_lockout_survives_a_restart(tmp_path: Path) -> None:
    policy = cheap_policy()
    async with admin_app(tmp_path, policy=policy) as (client, state):
        await run_setup(client, state)
        client.cookies.clear()
        for _ in range(policy.throttle_threshold):
            assert (await log_in(client, password="wrong guess")).status_code == 401
        locked = await log_in(client)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0

    # A new app over the same data directory: same database, fresh process state.
    async with admin_app(tmp_path, policy=policy) as (client, state):
        still_locked = await log_in(client)
        assert still_locked.status_code == 429
        assert "too many failed sign-in attempts" in still_locked.text
        assert "mcpbox_session" not in client.cookies
        event = await wait_for_event(state, "admin.login_throttled")
        assert event.outcome == "denied"


async def test_an_address_spraying_account_names_is_locked_too(tmp_path: Path) -> None:
    policy = AuthPolicy(password=cheap_policy().password, throttle_threshold=3)
    async with admin_app(tmp_path, policy=policy) as (client, state):
        await run_setup(client, state)
        client.cookies.clear()
        for name in ("alice", "bob", "carol"):
            assert (await log_in(client, name=name)).status_code == 401
        assert (await log_in(client)).status_code == 429
