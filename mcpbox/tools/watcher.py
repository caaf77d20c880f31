"""Tells connected clients when the tool list changed, whoever changed it.

In-process writers call ``local_change()``: the snapshot is invalidated at once (the writer's
next read sees its own write) and the watcher is woken to compare fingerprints. Changes made by
another process (the CLI writes the same database) are noticed by polling the fingerprint every
``poll_seconds``. Either way one ``list_changed`` goes out per real change, from one place.
"""

from __future__ import annotations

import logging

import anyio

from mcpbox.activity.bus import Change, ChangeBus
from mcpbox.db.catalog_fingerprint import Fingerprint, catalog_fingerprint
from mcpbox.db.engine import Database
from mcpbox.errors import StorageError
from mcpbox.tools.snapshot import CatalogCache

logger = logging.getLogger(__name__)
DEFAULT_POLL_SECONDS = 1.0


class CatalogWatcher:
    def __init__(
        self,
        database: Database,
        cache: CatalogCache,
        bus: ChangeBus,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._database = database
        self._cache = cache
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._wake = anyio.Event()
        self._last: Fingerprint | None = None
        self._stopped = False

    def local_change(self) -> None:
        self._cache.invalidate()
        self._wake.set()

    async def check(self) -> bool:
        """Compare fingerprints once; publish and invalidate if the catalog changed."""
        current = await catalog_fingerprint(self._database)
        if self._last is not None and current != self._last:
            self._last = current
            self._cache.invalidate()
            self._bus.publish(Change.TOOLS)
            return True
        self._last = current
        return False

    def stop(self) -> None:
        """Let ``run`` return at its next wake-up (shutdown, without cancelling a query)."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                # Shielded: cancelling mid-query would strand an aiosqlite connection at shutdown.
                with anyio.CancelScope(shield=True), anyio.move_on_after(self._poll_seconds * 10):
                    await self.check()
            except StorageError:
                logger.exception("catalog watcher could not read the database; retrying")
            with anyio.move_on_after(self._poll_seconds):
                await self._wake.wait()
            if self._stopped:
                return
            self._wake = anyio.Event()
