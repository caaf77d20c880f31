"""Tool forge: tools, immutable tool_versions, module_requests, host_requests, execution_logs.

Only new tables, so no batch rebuild of an existing table is needed; downgrade drops them in
reverse dependency order. Timestamps are naive-UTC DATETIME (mcpbox.db.models.UTCDateTime).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REQUEST_STATUS = "status IN ('pending', 'approved', 'rejected')"


def _server_fk(table: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "server_id",
        sa.Integer(),
        sa.ForeignKey("servers.id", ondelete="CASCADE", name=f"fk_{table}_server_id_servers"),
        nullable=False,
    )


def _decision_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "tools",
        sa.Column("id", sa.Integer(), primary_key=True),
        _server_fk("tools"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("current_hash", sa.String(64), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("review_requested_by", sa.String(200), nullable=True),
        sa.Column("review_requested_at", sa.DateTime(), nullable=True),
        *_decision_columns(),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("server_id", "name", name="uq_tools_server_id_name"),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_review', 'approved', 'rejected')", name="ck_tools_status"
        ),
    )
    op.create_index("ix_tools_server_id", "tools", ["server_id"])
    op.create_table(
        "tool_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "tool_id",
            sa.Integer(),
            sa.ForeignKey("tools.id", ondelete="CASCADE", name="fk_tool_versions_tool_id_tools"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("input_schema", sa.Text(), nullable=False),
        sa.Column("modules", sa.Text(), nullable=False),
        sa.Column("hosts", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("change_source", sa.String(16), nullable=False),
        sa.Column("rolled_back_from", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("tool_id", "number", name="uq_tool_versions_tool_id_number"),
        sa.CheckConstraint(
            "change_source IN ('create', 'update', 'rollback', 'import')",
            name="ck_tool_versions_change_source",
        ),
    )
    op.create_index("ix_tool_versions_tool_id", "tool_versions", ["tool_id"])
    op.create_index("ix_tool_versions_content_hash", "tool_versions", ["content_hash"])
    op.create_table(
        "module_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        _server_fk("module_requests"),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("package", sa.String(100), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("justification", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        *_decision_columns(),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(_REQUEST_STATUS, name="ck_module_requests_status"),
    )
    op.create_index("ix_module_requests_server_id", "module_requests", ["server_id"])
    op.create_table(
        "host_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        _server_fk("host_requests"),
        sa.Column("host", sa.String(300), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        *_decision_columns(),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(_REQUEST_STATUS, name="ck_host_requests_status"),
    )
    op.create_index("ix_host_requests_server_id", "host_requests", ["server_id"])
    op.create_table(
        "execution_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("server", sa.String(32), nullable=False),
        sa.Column("tool", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("result_summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("stdout", sa.Text(), nullable=False, server_default=""),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("egress", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.CheckConstraint("kind IN ('call', 'test')", name="ck_execution_logs_kind"),
    )
    op.create_index("ix_execution_logs_at", "execution_logs", ["at"])
    op.create_index("ix_execution_logs_server", "execution_logs", ["server"])


def downgrade() -> None:
    op.drop_index("ix_execution_logs_server", table_name="execution_logs")
    op.drop_index("ix_execution_logs_at", table_name="execution_logs")
    op.drop_table("execution_logs")
    op.drop_index("ix_host_requests_server_id", table_name="host_requests")
    op.drop_table("host_requests")
    op.drop_index("ix_module_requests_server_id", table_name="module_requests")
    op.drop_table("module_requests")
    op.drop_index("ix_tool_versions_content_hash", table_name="tool_versions")
    op.drop_index("ix_tool_versions_tool_id", table_name="tool_versions")
    op.drop_table("tool_versions")
    op.drop_index("ix_tools_server_id", table_name="tools")
    op.drop_table("tools")
