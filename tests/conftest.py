"""Suite-wide fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.db import migrate
from mcpbox.db.engine import Database, open_database


@pytest.fixture
def anyio_backend() -> str:
    """anyio's own pytest plugin runs ``@pytest.mark.anyio`` tests on asyncio (what we serve on)."""
    return "asyncio"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A configuration whose data dir is this test's own temporary directory."""
    return Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})


@pytest.fixture
async def database(config: Config) -> AsyncIterator[Database]:
    """A database migrated to head in this test's data dir, closed afterwards."""
    await migrate.upgrade_async(config)
    db = await open_database(config)
    try:
        yield db
    finally:
        await db.close()
