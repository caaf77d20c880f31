"""Sign-in and first-run setup flows below the web edge."""

from __future__ import annotations

import anyio
import pytest

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.auth import admin_store, sessions
from mcpbox.auth.errors import BadCredentials, LoginThrottled
from mcpbox.auth.login import Client, complete_setup, sign_in
from mcpbox.auth.passwords import hash_password
from mcpbox.auth.policy import AuthPolicy, PasswordParameters
from mcpbox.db import setup_token_store
from mcpbox.db.engine import Database
from mcpbox.errors import Conflict, InvalidInput, PermissionDenied
from tests.web.admin_harness import PASSWORD, FakeClock, cheap_policy

pytestmark = pytest.mark.anyio
CLIENT = Client(address="192.0.2.1", user_agent="pytest")


async def _setup(database: Database, policy: AuthPolicy, events: list[ActivityEvent]) -> str:
    token = await setup_token_store.issue_setup_token(database, ttl_seconds=60)
    signed_in = await complete_setup(
        database,
        policy,
        events.append,
        setup_token=token,
        name="owner",
        password=PASSWORD,
        password_again=PASSWORD,
        client=CLIENT,
    )
    return signed_in.session_token


async def test_setup_creates_the_admin_and_a_session(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent]
) -> None:
    token = await _setup(database, policy, events)
    view = await sessions.load_session(database, token, policy)
    assert view is not None
    assert view.admin_name == "owner"
    assert [(e.name, e.actor) for e in events] == [("admin.created", "owner"), ("admin.login", "owner")]


async def test_a_setup_token_works_once(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent]
) -> None:
    token = await setup_token_store.issue_setup_token(database, ttl_seconds=60)
    kwargs = {"password": PASSWORD, "password_again": PASSWORD, "client": CLIENT}
    await complete_setup(database, policy, events.append, setup_token=token, name="owner", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        await complete_setup(database, policy, events.append, setup_token=token, name="other", **kwargs)  # type: ignore[arg-type]


async def test_an_expired_setup_token_is_refused(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent]
) -> None:
    token = await setup_token_store.issue_setup_token(database, ttl_seconds=0.001)
    await anyio.sleep(0.01)
    with pytest.raises(PermissionDenied):
        await complete_setup(
            database,
            policy,
            events.append,
            setup_token=token,
            name="owner",
            password=PASSWORD,
            password_again=PASSWORD,
            client=CLIENT,
        )
    assert not await admin_store.admin_exists(database)
    assert events[-1].name == "admin.setup_failed"
    assert events[-1].outcome is Outcome.DENIED


async def test_bad_input_does_not_spend_the_setup_token(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent]
) -> None:
    token = await setup_token_store.issue_setup_token(database, ttl_seconds=60)
    with pytest.raises(InvalidInput):
        await complete_setup(
            database,
            policy,
            events.append,
            setup_token=token,
            name="owner",
            password=PASSWORD,
            password_again=PASSWORD + "x",
            client=CLIENT,
        )
    assert await setup_token_store.has_live_setup_token(database)


async def test_sign_in_succeeds_and_fails_with_one_message(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent]
) -> None:
    await _setup(database, policy, events)
    with pytest.raises(BadCredentials) as wrong_password:
        await sign_in(database, policy, events.append, name="owner", password="nope", client=CLIENT)
    with pytest.raises(BadCredentials) as wrong_name:
        await sign_in(database, policy, events.append, name="nobody", password=PASSWORD, client=CLIENT)
    assert wrong_password.value.public_message == wrong_name.value.public_message
    signed_in = await sign_in(database, policy, events.append, name="owner", password=PASSWORD, client=CLIENT)
    assert signed_in.admin_name == "owner"
    names = [(e.name, e.actor, e.outcome) for e in events[2:]]
    assert names == [
        ("admin.login_failed", "owner", Outcome.DENIED),
        ("admin.login_failed", None, Outcome.DENIED),
        ("admin.login", "owner", Outcome.OK),
    ]
    assert all("password" not in str(e.detail) for e in events)


async def test_a_locked_account_is_refused_even_with_the_right_password(
    database: Database, policy: AuthPolicy, events: list[ActivityEvent], clock: FakeClock
) -> None:
    await _setup(database, policy, events)
    for _ in range(policy.throttle_threshold):
        with pytest.raises(BadCredentials):
            await sign_in(database, policy, events.append, name="owner", password="wrong!", client=CLIENT)
    with pytest.raises(LoginThrottled):
        await sign_in(database, policy, events.append, name="owner", password=PASSWORD, client=CLIENT)
    assert events[-1].name == "admin.login_throttled"
    clock.advance(policy.lockout_base_seconds)
    await sign_in(database, policy, events.append, name="owner", password=PASSWORD, client=CLIENT)


async def test_sign_in_rehashes_a_password_stored_with_old_parameters(
    database: Database, clock: FakeClock, events: list[ActivityEvent]
) -> None:
    old = cheap_policy(clock)
    admin = await admin_store.create_admin(database, "owner", hash_password(PASSWORD, old), now=clock())
    stronger = cheap_policy(clock, password=PasswordParameters(time_cost=2, memory_kib=2048, parallelism=1))
    await sign_in(database, stronger, events.append, name="owner", password=PASSWORD, client=CLIENT)
    stored = await admin_store.get_admin(database, "owner")
    assert "m=2048,t=2,p=1" in stored.password_hash
    assert stored.password_changed_at == admin.password_changed_at
