"""Is the database at the schema this mcpbox ships? Answered without importing Alembic.

Alembic (and its templating) costs ~10 MiB of resident memory and tens of milliseconds at every
start, to learn what is almost always "nothing to do". So start-up reads the revision stored in
``alembic_version`` and compares it with the newest revision of the shipped scripts, read from
their source; only a mismatch loads ``mcpbox.db.migrate`` (Alembic) to upgrade. A test keeps
``shipped_head()`` equal to Alembic's own answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import mcpbox
from mcpbox.config import Config
from mcpbox.db.engine import Database, open_database
from mcpbox.errors import MigrationError, StorageError

_REVISION = re.compile(r'^revision(?:\s*:\s*str)?\s*=\s*["\'](?P<id>[\w-]+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?:\s*:[^=]+)?\s*=\s*(?:["\'](?P<id>[\w-]+)["\']|None)', re.MULTILINE)


def migrations_dir() -> Path:
    """The Alembic script directory: inside the package (wheel) or beside it (checkout)."""
    package_dir = Path(mcpbox.__file__).resolve().parent
    for candidate in (package_dir / "_migrations", package_dir.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise MigrationError(
        f"migration scripts not found (looked in {package_dir / '_migrations'} and "
        f"{package_dir.parent / 'migrations'}); the installation is incomplete"
    )


def shipped_head() -> str:
    """The newest revision of the shipped scripts: the one no other script names as its parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((migrations_dir() / "versions").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            raise MigrationError(f"migration script {script.name} has no revision or down_revision")
        revisions.add(revision.group("id"))
        if down.group("id"):
            parents.add(down.group("id"))
    heads = revisions - parents
    if len(heads) != 1:
        raise MigrationError(f"the migration scripts have {len(heads)} heads, expected one")
    return heads.pop()


async def stored_revision(config: Config, database: Database | None = None) -> str | None:
    """The revision recorded in the database; None for a database never migrated."""
    owned = database is None
    database = database or await open_database(config)
    try:
        async with database.engine.connect() as connection:
            try:
                row = (await connection.execute(text("SELECT version_num FROM alembic_version"))).first()
            except SQLAlchemyError:
                return None  # no alembic_version table yet
        return None if row is None else str(row[0])
    except StorageError:
        return None
    finally:
        if owned:
            await database.close()


async def ensure_current(config: Config) -> None:
    """Upgrade the schema when (and only when) it is not at the shipped head."""
    if await stored_revision(config) == shipped_head():
        return
    from mcpbox.db import migrate  # Alembic: only when there is work to do

    await migrate.upgrade_if_needed_async(config)
