"""Admin accounts, admin sessions and persisted login throttling.

Tables: admins, admin_sessions (token stored as SHA-256 only), login_attempts. Timestamps are
naive-UTC DATETIME (mcpbox.db.models.UTCDateTime). Models: mcpbox/auth/models.py.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("name", name="uq_admins_name"),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "admin_id",
            sa.Integer(),
            sa.ForeignKey("admins.id", ondelete="CASCADE", name="fk_admin_sessions_admin_id_admins"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("token_hash", name="uq_admin_sessions_token_hash"),
    )
    with op.batch_alter_table("admin_sessions") as batch:
        batch.create_index("ix_admin_sessions_admin_id", ["admin_id"])
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_attempts")
    with op.batch_alter_table("admin_sessions") as batch:
        batch.drop_index("ix_admin_sessions_admin_id")
    op.drop_table("admin_sessions")
    op.drop_table("admins")
