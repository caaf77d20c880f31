"""Fixtures for the auth tests: a migrated database, a fake clock and a cheap argon2 policy."""

from __future__ import annotations

import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.auth.policy import AuthPolicy
from tests.web.admin_harness import FakeClock, cheap_policy


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> AuthPolicy:
    return cheap_policy(clock)


@pytest.fixture
def events() -> list[ActivityEvent]:
    return []
