"""Alembic environment for mcpbox; driven only through ``mcpbox.db.migrate`` (no alembic.ini).

``mcpbox.db.migrate`` opens the connection (async engine, pragmas set, foreign keys off while
tables are rebuilt) and hands it over in ``config.attributes["connection"]``. Offline SQL
generation is not supported: migrations always run against a live database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import mcpbox.auth.models
import mcpbox.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through mcpbox.db.migrate (mcpbox db upgrade), not the alembic CLI")
if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite can only add columns in place; batch mode copies the table for anything else.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
