"""An in-memory snapshot of the catalog: servers and the published (exposed) tools.

Read-only management calls and call-time exposure checks are on the hot path of every MCP
request; answering them from memory instead of a database round trip is what keeps a call in
the tens of microseconds. The snapshot is rebuilt lazily after ``invalidate``, which in-process
writers call at once and the catalog watcher calls when another process changed the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from mcpbox.db import server_store
from mcpbox.db.engine import Database
from mcpbox.db.models import Server
from mcpbox.tools.exposure import ExposedTool, list_exposed_tools

MAX_SERVERS = 10_000  # a homelab has dozens; the bound keeps a runaway table from eating memory
MAX_EXPOSED_TOOLS = 10_000


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    servers: tuple[Server, ...]  # ordered by name
    exposed: dict[str, ExposedTool]  # by exposed name, in listing order

    def find_server(self, name: str) -> Server | None:
        for server in self.servers:
            if server.name == name:
                return server
        return None


class CatalogCache:
    """Holds the current snapshot; loads it at most once per invalidation, even under load."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._snapshot: CatalogSnapshot | None = None
        self._generation = 0
        self._lock = anyio.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    def invalidate(self) -> None:
        self._generation += 1
        self._snapshot = None

    async def get(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        async with self._lock:
            if self._snapshot is not None:
                return self._snapshot
            generation = self._generation
            servers, _ = await server_store.list_servers(self._database, offset=0, limit=MAX_SERVERS)
            exposed, _ = await list_exposed_tools(self._database, offset=0, limit=MAX_EXPOSED_TOOLS)
            snapshot = CatalogSnapshot(
                servers=tuple(servers), exposed={tool.exposed_name: tool for tool in exposed}
            )
            if generation == self._generation:  # not invalidated while loading
                self._snapshot = snapshot
            return snapshot
