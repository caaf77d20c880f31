"""Fixtures for the db tests: a fresh data dir, migrated database and keyring per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring, load_or_create_keyring
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


@pytest.fixture
def keyring(config: Config) -> Keyring:
    ring, _created = load_or_create_keyring(config.key_file)
    return ring
