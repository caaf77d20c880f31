"""Tells connected clients when the tool list changed, whoever changed it.

In-process writers call ``local_change()``: snapshots are invalidated at once (the writer's next
read sees its own write) and the watcher is woken to compare fingerprints. Changes made by
another process (the CLI writes the same database) are noticed by polling every
``poll_seconds``. A change to exposure publishes one ``list_changed``; a change to call contexts
(secrets, approvals of modules and hosts, policy) only invalidates what was cached from them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import anyio

from mcpbox.activity.bus import Change, ChangeBus
from mcpbox.db.catalog_fingerprint import Fingerprint, context_fingerprint, exposure_fingerprint
from mcpbox.db.engine import Database
from mcpbox.errors import StorageError

logger = logging.getLogger(__name__)
DEFAULT_POLL_SECONDS = 1.0


class CatalogWatcher:
    def __init__(
        self,
        database: Database,
        bus: ChangeBus,
        *,
        invalidate: Sequence[Callable[[], None]],
        on_context_change: Callable[[], None] = lambda: None,
        on_exposure_change: Callable[[], None] = lambda: None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._database = database
        self._bus = bus
        self._invalidate = tuple(invalidate)
        self._on_context_change = on_context_change
        self._on_exposure_change = on_exposure_change
        self._poll_seconds = poll_seconds
        self._wake = anyio.Event()
        self._exposure: Fingerprint | None = None
        self._context: Fingerprint | None = None
        self._stopped = False

    def local_change(self) -> None:
        for invalidate in self._invalidate:
            invalidate()
        self._wake.set()

    async def check(self) -> bool:
        """Compare fingerprints once; returns True when the exposed tool list changed."""
        exposure = await exposure_fingerprint(self._database)
        context = await context_fingerprint(self._database)
        first = self._exposure is None
        exposure_changed = not first and exposure != self._exposure
        context_changed = not first and context != self._context
        self._exposure, self._context = exposure, context
        if exposure_changed or context_changed:
            for invalidate in self._invalidate:
                invalidate()
        if context_changed:
            self._on_context_change()
        if exposure_changed:
            self._on_exposure_change()
            self._bus.publish(Change.TOOLS)
        return exposure_changed

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
