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
    Boolean,
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


# --- Tool forge (migration 0002) -------------------------------------------------------------

TOOL_NAME_PATTERN = r"[a-z](?:[a-z0-9]|_(?!_)){0,63}"  # no "__": it separates <server>__<tool>


class ToolStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"  # was approved; the owner withdrew it


class Tool(SQLModel, table=True):
    """A user tool of a server: its review state and which immutable version is current.

    ``current_hash`` is copied from the current version so every transition can be one
    conditional UPDATE on (status, hash) without a join. ``approved_version`` is the number of the
    version an owner (or the policy) last approved; exposure also requires it to be current.
    """

    __tablename__ = "tools"
    __table_args__ = (
        UniqueConstraint("server_id", "name", name="uq_tools_server_id_name"),
        CheckConstraint(
            "status IN ('draft', 'pending_review', 'approved', 'rejected')", name="ck_tools_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("servers.id", ondelete="CASCADE", name="fk_tools_server_id_servers"),
            nullable=False,
            index=True,
        )
    )
    name: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(default=ToolStatus.DRAFT.value, sa_column=Column(String(16), nullable=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean(), nullable=False, server_default="1"))
    current_version: int = Field(sa_column=Column(Integer, nullable=False))
    current_hash: str = Field(sa_column=Column(String(64), nullable=False))
    approved_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    review_requested_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    review_requested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ToolVersion(SQLModel, table=True):
    """One immutable version of a tool. Content columns are never updated after insert.

    ``approved_by``/``approved_at`` are review metadata, written once when this exact content is
    approved; a rollback to content with an approved hash may then skip review.
    """

    __tablename__ = "tool_versions"
    __table_args__ = (
        UniqueConstraint("tool_id", "number", name="uq_tool_versions_tool_id_number"),
        CheckConstraint(
            "change_source IN ('create', 'update', 'rollback', 'import')",
            name="ck_tool_versions_change_source",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tool_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("tools.id", ondelete="CASCADE", name="fk_tool_versions_tool_id_tools"),
            nullable=False,
            index=True,
        )
    )
    number: int = Field(sa_column=Column(Integer, nullable=False))
    code: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    input_schema: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    modules: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of module names
    hosts: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of host rules
    content_hash: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    change_source: str = Field(sa_column=Column(String(16), nullable=False))
    rolled_back_from: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    approved_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ModuleRequest(SQLModel, table=True):
    """A request to let a server's tools import ``module`` (from PyPI ``package==version`` if set)."""

    __tablename__ = "module_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'revoked')", name="ck_module_requests_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("servers.id", ondelete="CASCADE", name="fk_module_requests_server_id_servers"),
            nullable=False,
            index=True,
        )
    )
    module: str = Field(sa_column=Column(String(100), nullable=False))
    package: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    version: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    justification: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default=RequestStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class HostRequest(SQLModel, table=True):
    """A request to let a server's tools reach ``host`` (``name``, ``name:port`` or an IP literal)."""

    __tablename__ = "host_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'revoked')", name="ck_host_requests_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    server_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("servers.id", ondelete="CASCADE", name="fk_host_requests_server_id_servers"),
            nullable=False,
            index=True,
        )
    )
    host: str = Field(sa_column=Column(String(300), nullable=False))
    justification: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default=RequestStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ExecutionLogRow(SQLModel, table=True):
    """One published call or test run. No foreign keys: logs outlive the tools they describe."""

    __tablename__ = "execution_logs"
    __table_args__ = (CheckConstraint("kind IN ('call', 'test')", name="ck_execution_logs_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    server: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    tool: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    content_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    arguments: str = Field(sa_column=Column(Text, nullable=False))  # JSON, secrets already redacted
    result_summary: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    stdout: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    duration_ms: float = Field(sa_column=Column(Float, nullable=False))
    egress: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of attempts
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
