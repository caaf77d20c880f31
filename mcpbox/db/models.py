"""Table classes (SQLModel) for the core schema; ``migrations/versions`` creates the same tables.

Timestamps are timezone-aware UTC ``datetime`` values (``UTCDateTime``: stored as naive UTC, the
one representation SQLite's text DATETIME and PostgreSQL's ``timestamp`` compare correctly),
except ``activity.at``, which is Unix seconds as REAL like ``ActivityEvent.at``: the hot, indexed
range filter of the activity log stays a plain number comparison. JSON columns are TEXT
holding ``json.dumps`` output: portable, and nothing queries inside them. Constraints carry
explicit names because SQLite batch migrations can only drop or alter a constraint by name.
Name and key patterns are checked in the stores (SQLite has no portable regex CHECK).

A test compares this metadata with the migrated schema, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

SERVER_NAME_PATTERN = r"[a-z][a-z0-9_]{0,31}"
SECRET_KEY_PATTERN = r"[A-Z][A-Z0-9_]{0,63}"  # noqa: S105 (a name pattern, not a secret)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive UTC in the column.

    Refusing naive input catches local-time bugs at the first write instead of in a report.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use mcpbox.db.models.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ServerStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


class Server(SQLModel, table=True):
    """A group of tools that owns secrets and approved hosts."""

    __tablename__ = "servers"
    __table_args__ = (
        UniqueConstraint("name", name="uq_servers_name"),
        CheckConstraint("status IN ('running', 'stopped')", name="ck_servers_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(32), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default=ServerStatus.RUNNING.value, sa_column=Column(String(16), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ServerSecret(SQLModel, table=True):
    """A named secret of a server. ``ciphertext`` is NULL until the owner sets a value."""

    __tablename__ = "server_secrets"
    __table_args__ = (UniqueConstraint("server_id", "key", name="uq_server_secrets_server_id_key"),)

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("servers.id", ondelete="CASCADE", name="fk_server_secrets_server_id_servers"),
            nullable=False,
            index=True,
        )
    )
    key: str = Field(sa_column=Column(String(64), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    ciphertext: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    key_id: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SettingRow(SQLModel, table=True):
    """A runtime policy setting changed from the admin UI (JSON value)."""

    __tablename__ = "settings"

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ActivityRow(SQLModel, table=True):
    """One activity event (see ``mcpbox.activity.events.ActivityEvent``)."""

    __tablename__ = "activity"

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(sa_column=Column(Float, nullable=False, index=True))
    name: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    duration_ms: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    actor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    session_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    client_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    method: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    server: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    tool: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SetupToken(SQLModel, table=True):
    """A one-time admin setup token, stored only as its SHA-256 hex digest."""

    __tablename__ = "setup_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_setup_tokens_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
