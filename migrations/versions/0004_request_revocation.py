"""Module and host requests can be revoked: an approved entry leaves its server's allowlist.

Adds 'revoked' to the status CHECK constraint of module_requests and host_requests (SQLite batch
mode rebuilds both tables). Downgrade turns revoked rows into rejected ones (still off every
allowlist) and restores the old constraint.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("module_requests", "host_requests")
_WITH_REVOKED = "status IN ('pending', 'approved', 'rejected', 'revoked')"
_WITHOUT_REVOKED = "status IN ('pending', 'approved', 'rejected')"


def _replace_status_check(table: str, condition: str) -> None:
    with op.batch_alter_table(table, recreate="always") as batch:
        batch.drop_constraint(f"ck_{table}_status", type_="check")
        batch.create_check_constraint(f"ck_{table}_status", condition)


def upgrade() -> None:
    for table in _TABLES:
        _replace_status_check(table, _WITH_REVOKED)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"UPDATE {table} SET status = 'rejected' WHERE status = 'revoked'")  # noqa: S608 - constant names
        _replace_status_check(table, _WITHOUT_REVOKED)
