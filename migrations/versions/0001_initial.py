"""Initial schema: servers, server_secrets, settings, activity, setup_tokens.

Timestamps are naive-UTC DATETIME (mcpbox.db.models.UTCDateTime); activity.at is Unix seconds.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_servers_name"),
        sa.CheckConstraint("status IN ('running', 'stopped')", name="ck_servers_status"),
    )
    op.create_table(
        "server_secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="CASCADE", name="fk_server_secrets_server_id_servers"),
            nullable=False,
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("ciphertext", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("server_id", "key", name="uq_server_secrets_server_id_key"),
    )
    op.create_index("ix_server_secrets_server_id", "server_secrets", ["server_id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("session_id", sa.String(100), nullable=True),
        sa.Column("client_name", sa.String(200), nullable=True),
        sa.Column("method", sa.String(100), nullable=True),
        sa.Column("server", sa.String(32), nullable=True),
        sa.Column("tool", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_activity_at", "activity", ["at"])
    op.create_index("ix_activity_name", "activity", ["name"])
    op.create_table(
        "setup_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_setup_tokens_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("setup_tokens")
    op.drop_index("ix_activity_name", table_name="activity")
    op.drop_index("ix_activity_at", table_name="activity")
    op.drop_table("activity")
    op.drop_table("settings")
    op.drop_index("ix_server_secrets_server_id", table_name="server_secrets")
    op.drop_table("server_secrets")
    op.drop_table("servers")
