"""Fixtures for the auth tests: a migrated database, a fake clock and a cheap argon2 policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.auth.policy import AuthPolicy
from mcpbox.config import Config
from mcpbox.db import migrate
from mcpbox.db.engine import Database, open_database
from tests.web.admin_harness import FakeClock, cheap_policy


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})


@pytest.fixture
async def database(config: Config) -> AsyncIterator[Database]:
    await migrate.upgrade_async(config)
    db = await open_database(config)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> AuthPolicy:
    return cheap_policy(clock)


@pytest.fixture
def events() -> list[ActivityEvent]:
    return []
