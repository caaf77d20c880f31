"""Login throttling: per account and per network, exponential lockout, forgetting, clearing."""

from __future__ import annotations

import pytest

from mcpbox.auth import throttle
from mcpbox.auth.errors import LoginThrottled
from mcpbox.auth.policy import AuthPolicy
from mcpbox.db.engine import Database
from tests.web.admin_harness import FakeClock

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("not an address", "not an address"),
        ("", "unknown"),
    ],
)
def test_addresses_count_per_host_or_ipv6_slash_64(address: str, network: str) -> None:
    assert throttle.network_of(address) == network


def test_account_keys_ignore_case_and_surrounding_space() -> None:
    assert throttle.throttle_keys(" Owner ", "192.0.2.1")[0] == throttle.throttle_keys("owner", "x")[0]


def test_lockout_doubles_and_is_capped() -> None:
    policy = AuthPolicy(throttle_threshold=3, lockout_base_seconds=10, lockout_max_seconds=100)
    assert [throttle.lockout_seconds(n, policy) for n in range(1, 9)] == [0, 0, 10, 20, 40, 80, 100, 100]


async def test_a_key_locks_at_the_threshold(database: Database, policy: AuthPolicy, clock: FakeClock) -> None:
    keys = throttle.throttle_keys("owner", "192.0.2.1")
    for _ in range(policy.throttle_threshold - 1):
        await throttle.record_failure(database, keys, policy)
        await throttle.check_allowed(database, keys, policy)
    await throttle.record_failure(database, keys, policy)
    with pytest.raises(LoginThrottled) as caught:
        await throttle.check_allowed(database, keys, policy)
    assert caught.value.retry_after == policy.lockout_base_seconds
    clock.advance(policy.lockout_base_seconds)
    await throttle.check_allowed(database, keys, policy)


async def test_another_account_from_a_locked_address_is_refused(
    database: Database, policy: AuthPolicy
) -> None:
    for attempt in range(policy.throttle_threshold):
        await throttle.record_failure(database, throttle.throttle_keys(f"user{attempt}", "192.0.2.9"), policy)
    with pytest.raises(LoginThrottled):
        await throttle.check_allowed(database, throttle.throttle_keys("owner", "192.0.2.9"), policy)
    await throttle.check_allowed(database, throttle.throttle_keys("owner", "192.0.2.10"), policy)


async def test_old_failures_are_forgotten(database: Database, policy: AuthPolicy, clock: FakeClock) -> None:
    keys = throttle.throttle_keys("owner", "192.0.2.1")
    for _ in range(policy.throttle_threshold - 1):
        await throttle.record_failure(database, keys, policy)
    clock.advance(policy.throttle_window_seconds + 1)
    assert await throttle.record_failure(database, keys, policy) == 1
    await throttle.check_allowed(database, keys, policy)
    assert await throttle.delete_stale_attempts(database, policy) == 0
    clock.advance(policy.throttle_window_seconds + 1)
    assert await throttle.delete_stale_attempts(database, policy) == 2


async def test_clear_resets_the_keys(database: Database, policy: AuthPolicy) -> None:
    keys = throttle.throttle_keys("owner", "192.0.2.1")
    for _ in range(policy.throttle_threshold):
        await throttle.record_failure(database, keys, policy)
    await throttle.clear(database, keys)
    await throttle.check_allowed(database, keys, policy)
