"""Server-side admin sessions: the browser holds a random token, the database holds its digest.

A session ends three ways: idle expiry (no request for ``session_idle_seconds``), absolute expiry
(``session_absolute_seconds`` after login, however busy), or revocation (logout, password reset),
which deletes the row, so a stolen cookie stops working at once. Storing only SHA-256 of the
token means a copy of the database cannot be replayed as a cookie. Each login makes a new token
(no session fixation: a token that existed before login is never promoted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from mcpbox.auth.models import Admin, AdminSession
from mcpbox.auth.policy import AuthPolicy
from mcpbox.crypto.hashing import new_token, token_hash
from mcpbox.db.engine import Database

TOKEN_MAX_LENGTH = 200  # anything longer in a cookie is not ours; skip hashing it


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live session as request handlers see it."""

    id: int
    admin_id: int
    admin_name: str
    created_at: datetime
    expires_at: datetime


async def create_session(
    db: Database, admin_id: int, policy: AuthPolicy, *, client_address: str = "", user_agent: str = ""
) -> str:
    """Start a session and return its token (the cookie value; never stored)."""
    token = new_token()
    now = policy.now()
    async with db.write() as session:
        session.add(
            AdminSession(
                token_hash=token_hash(token),
                admin_id=admin_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(seconds=policy.session_absolute_seconds),
                client_address=client_address[:64],
                user_agent=user_agent[:200],
            )
        )
    return token


async def load_session(db: Database, token: str, policy: AuthPolicy) -> SessionView | None:
    """The live session for ``token``, or None. Expired sessions are deleted on sight."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    digest = token_hash(token)
    now = policy.now()
    async with db.session() as session:
        found = (
            await session.exec(
                select(AdminSession, Admin.name)
                .join(Admin, col(Admin.id) == col(AdminSession.admin_id))
                .where(col(AdminSession.token_hash) == digest)
            )
        ).first()
    if found is None:
        return None
    row, admin_name = found
    assert row.id is not None  # read back from the table
    idle_limit = row.last_seen_at + timedelta(seconds=policy.session_idle_seconds)
    if now >= row.expires_at or now >= idle_limit:
        await _delete(db, row.id)
        return None
    if now - row.last_seen_at >= timedelta(seconds=policy.session_touch_seconds):
        async with db.write() as session:
            fresh = await session.get(AdminSession, row.id)
            if fresh is not None:
                fresh.last_seen_at = now
                session.add(fresh)
    return SessionView(
        id=row.id,
        admin_id=row.admin_id,
        admin_name=admin_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def revoke_session(db: Database, token: str) -> bool:
    """Delete the session of ``token``; whether there was one."""
    async with db.write() as session:
        result = await session.exec(
            delete(AdminSession).where(col(AdminSession.token_hash) == token_hash(token))
        )
        return bool(result.rowcount)


async def revoke_admin_sessions(db: Database, admin_id: int) -> int:
    """Log an admin out everywhere (password reset); returns how many sessions ended."""
    async with db.write() as session:
        result = await session.exec(delete(AdminSession).where(col(AdminSession.admin_id) == admin_id))
        return int(result.rowcount)


async def delete_expired_sessions(db: Database, policy: AuthPolicy) -> int:
    """Housekeeping for sessions nobody came back to; returns how many were deleted."""
    now = policy.now()
    idle_cutoff = now - timedelta(seconds=policy.session_idle_seconds)
    async with db.write() as session:
        result = await session.exec(
            delete(AdminSession).where(
                (col(AdminSession.expires_at) <= now) | (col(AdminSession.last_seen_at) <= idle_cutoff)
            )
        )
        return int(result.rowcount)


async def _delete(db: Database, session_id: int) -> None:
    async with db.write() as session:
        await session.exec(delete(AdminSession).where(col(AdminSession.id) == session_id))
