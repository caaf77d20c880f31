"""Shared fixtures for the tool forge tests: a migrated database, a server, recording hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mcpbox.activity.events import ActivityEvent
from mcpbox.approvals.hooks import Hooks
from mcpbox.config import Config
from mcpbox.db import migrate, server_store
from mcpbox.db.engine import Database, open_database
from mcpbox.db.tool_store import ToolInfo, VersionInfo
from mcpbox.tools import lifecycle

CODE = '''
async def main(city: str, days: int = 3) -> dict:
    """Daily forecast for a city.

    Args:
        city: City name, e.g. "Lisbon".
        days: Number of days, 1-7.
    """
    return {"city": city, "days": days}
'''


@dataclass
class Recorded:
    """Hooks that remember what a service emitted and signalled."""

    events: list[ActivityEvent] = field(default_factory=list)
    exposure_changes: int = 0
    allowlist_changes: list[str] = field(default_factory=list)

    @property
    def hooks(self) -> Hooks:
        def exposure() -> None:
            self.exposure_changes += 1

        return Hooks(
            record=self.events.append,
            exposure_changed=exposure,
            allowlists_changed=self.allowlist_changes.append,
        )

    def names(self) -> list[str]:
        return [e.name for e in self.events]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})


@pytest.fixture
async def database(config: Config) -> AsyncIterator[Database]:
    # "heads": correct whether or not other migrations branch from 0001 meanwhile.
    await migrate.upgrade_async(config, "heads")
    db = await open_database(config)
    try:
        await server_store.create_server(db, name="home", created_by="local")
        yield db
    finally:
        await db.close()


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


async def new_tool(
    db: Database, recorded: Recorded, name: str = "weather", code: str = CODE
) -> tuple[ToolInfo, VersionInfo]:
    return await lifecycle.create_tool(
        db, server="home", name=name, code=code, created_by="token:ci", hooks=recorded.hooks
    )


async def publish(db: Database, recorded: Recorded, name: str = "weather") -> ToolInfo:
    """Create-or-reuse, request publish and approve as the owner."""
    from mcpbox.approvals import service

    tool = await lifecycle.request_publish(
        db, server="home", name=name, requested_by="token:ci", hooks=recorded.hooks
    )
    return await service.approve_tool(
        db, tool.id, content_hash=tool.current_hash, decided_by="admin:owner", hooks=recorded.hooks
    )
