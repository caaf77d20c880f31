"""Fixtures for the activity tests: a migrated database in a per-test data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.db import migrate
from mcpbox.db.engine import Database, open_database


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
