"""What a management tool handler may use: the caller and the services below this layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mcpbox.activity.events import ActivityEvent
from mcpbox.approvals.hooks import Hooks
from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring
from mcpbox.db.engine import Database
from mcpbox.management.catalog import Caller
from mcpbox.sandbox.pool import SandboxPool
from mcpbox.tools.execution import ToolRunner
from mcpbox.tools.packages import PackageInstaller
from mcpbox.tools.snapshot import CatalogCache


@dataclass(frozen=True, slots=True)
class ManagementContext:
    caller: Caller
    config: Config
    database: Database
    keyring: Keyring
    catalog: CatalogCache
    catalog_changed: Callable[[], None]  # call after any write that may change the tool list
    record: Callable[[ActivityEvent], None]
    pool: SandboxPool
    runner: ToolRunner
    hooks: Hooks  # record + exposure_changed + allowlists_changed, for tools/approvals services
    installer: PackageInstaller

    def page_size(self, requested: int | None, default: int = 20) -> int:
        """Every list caps its page size at ``page_size_max`` (a finding in the old system)."""
        size = requested if requested is not None else default
        return max(1, min(size, self.config.page_size_max))


def page_fields(page: int, size: int, total: int) -> dict[str, int | None]:
    """The paging fields every list tool returns, so a model pages every list the same way."""
    return {
        "page": page,
        "page_size": size,
        "total": total,
        "next_page": page + 1 if page * size < total else None,
    }
