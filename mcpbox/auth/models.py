"""Table classes (SQLModel) for admin accounts, their sessions and login throttling.

``migrations/versions/0003_admin.py`` creates the same tables. Like ``mcpbox.db.models``,
timestamps are aware UTC datetimes stored naive, and constraints carry explicit names for SQLite
batch migrations. Nothing here stores a secret in a replayable form: passwords are argon2id
hashes, session tokens are SHA-256 digests (the token itself lives only in the browser cookie).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from mcpbox.db.models import UTCDateTime

ADMIN_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"


class Admin(SQLModel, table=True):
    """An owner account of the admin UI."""

    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("name", name="uq_admins_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    password_changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AdminSession(SQLModel, table=True):
    """One logged-in browser. Deleting the row is what revokes it."""

    __tablename__ = "admin_sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_admin_sessions_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    admin_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("admins.id", ondelete="CASCADE", name="fk_admin_sessions_admin_id_admins"),
            nullable=False,
            index=True,
        )
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    client_address: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    user_agent: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))


class LoginAttempt(SQLModel, table=True):
    """Failed-login bookkeeping for one throttle key (``account:<name>`` or ``address:<net>``)."""

    __tablename__ = "login_attempts"

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    failures: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_failure_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
