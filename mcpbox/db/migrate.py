"""Schema migrations, run programmatically with Alembic (``mcpbox serve`` upgrades to head).

There is no top-level ``alembic.ini``: the Alembic ``Config`` is built here and points at the
``migrations/`` directory, so the CLI (``mcpbox db upgrade|downgrade|current``), startup and tests
all run exactly the same code with the same connection setup.

Where the scripts live: in a checkout (editable install) ``migrations/`` sits next to the
``mcpbox`` package; a wheel carries them inside the package as ``mcpbox/_migrations`` (see the
hatch ``force-include`` in ``pyproject.toml``). ``migrations_dir()`` looks in both.

Migrations run with SQLite foreign keys OFF, because batch mode rebuilds a table by copying it
and dropping the original, which would otherwise cascade-delete child rows; afterwards
``PRAGMA foreign_key_check`` must come back empty or the migration fails. Each migration runs in
one transaction (SQLite and PostgreSQL both have transactional DDL), so a failure leaves the
schema as it was. Every failure surfaces as ``MigrationError``.

Each operation comes blocking (``upgrade``: for the CLI, and for startup through
``anyio.to_thread.run_sync``) and as a coroutine (``upgrade_async``: for async callers and tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import alembic.command
import alembic.config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from mcpbox.config import Config
from mcpbox.db.engine import WRITE_OPTION, Database, open_database
from mcpbox.db.schema_version import migrations_dir
from mcpbox.errors import MigrationError, StorageError

T = TypeVar("T")


def alembic_config() -> alembic.config.Config:
    """An Alembic configuration built in code (no ini file, no logging reconfiguration)."""
    cfg = alembic.config.Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head() -> str:
    """The newest revision id shipped with this version of mcpbox."""
    try:
        revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    except CommandError as exc:
        raise MigrationError(f"cannot read migration scripts: {exc}") from exc
    if revision is None:
        raise MigrationError("no migration scripts found")
    return revision


def revisions() -> list[str]:
    """Every revision id, oldest first (for the CLI and the up/down test)."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


# Blocking entry points, for the CLI and for startup (through ``anyio.to_thread.run_sync``):
# Alembic itself is synchronous, and each call runs its own short-lived event loop.


def current(config: Config) -> str | None:
    """The revision the database is at, or None when it has never been migrated. Blocking."""
    return _blocking(current_async(config))


def upgrade(config: Config, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default: the newest). Blocking."""
    _blocking(upgrade_async(config, revision))


def downgrade(config: Config, revision: str) -> None:
    """Downgrade the schema to ``revision`` (``"base"`` removes every table). Blocking."""
    _blocking(downgrade_async(config, revision))


def upgrade_if_needed(config: Config) -> str | None:
    """Startup: upgrade to head unless already there; returns the revision found. Blocking."""
    return _blocking(upgrade_if_needed_async(config))


async def current_async(config: Config, *, database: Database | None = None) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await _run(config, database, read, writes=False)


async def upgrade_async(config: Config, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        alembic.command.upgrade(cfg, revision)

    await _run(config, None, run, writes=True)


async def downgrade_async(config: Config, revision: str) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        alembic.command.downgrade(cfg, revision)

    await _run(config, None, run, writes=True)


async def upgrade_if_needed_async(config: Config) -> str | None:
    """Upgrade to head; refuse a database migrated by a newer mcpbox (never guess downwards)."""
    found = await current_async(config)
    newest = head()
    if found == newest:
        return found
    if found is not None and found not in revisions():
        raise MigrationError(
            f"the database is at schema revision {found!r}, which this mcpbox does not know (its "
            f"newest is {newest!r}); run the newer mcpbox, or restore a backup taken before it"
        )
    await upgrade_async(config, "head")
    return found


def _blocking(work: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    work.close()
    raise RuntimeError(
        "mcpbox.db.migrate blocking call made on an event loop; use the *_async variant or "
        "anyio.to_thread.run_sync"
    )


async def _run(
    config: Config, database: Database | None, work: Callable[[Connection], T], *, writes: bool
) -> T:
    """Run ``work`` on one connection; writes always use a migration-only engine (foreign keys off)."""
    own = database is None
    try:
        db = database if database is not None else await open_database(config, foreign_keys=False)
    except StorageError as exc:
        raise MigrationError(f"cannot open the database to migrate it: {exc}") from exc
    try:
        async with db.engine.connect() as connection:
            if writes:
                # BEGIN IMMEDIATE: another process migrating at the same time waits, not races.
                await connection.execution_options(**{WRITE_OPTION: True})
            result = await connection.run_sync(work)
            if writes and db.is_sqlite:
                violations = (await connection.execute(text("PRAGMA foreign_key_check"))).all()
                if violations:
                    await connection.rollback()
                    raise MigrationError(f"migration left {len(violations)} foreign key violation(s)")
            await connection.commit()
            return result
    except (CommandError, SQLAlchemyError, StorageError, KeyError, ValueError) as exc:
        if isinstance(exc, MigrationError):
            raise
        raise MigrationError(f"migration failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if own:
            await db.close()
