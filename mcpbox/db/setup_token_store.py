"""Repository functions for ``setup_tokens``: the one-time token in the first-run setup URL.

Only the SHA-256 of a token is stored, so the database (or a backup of it) cannot be used to
claim the admin account. Consuming is a conditional ``UPDATE ... WHERE used_at IS NULL AND
expires_at > now``: two browsers racing with the same token cannot both succeed. Candidates are
compared with ``hmac.compare_digest`` over every live token rather than by an indexed lookup, so
response time does not depend on how close a guess was (there are only ever a handful of rows).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select

from mcpbox.crypto.hashing import constant_time_equals, new_token, token_hash
from mcpbox.db.engine import Database
from mcpbox.db.models import SetupToken, utcnow
from mcpbox.errors import InvalidInput, PermissionDenied

INVALID_TOKEN_MESSAGE = "the setup token is invalid, expired or already used"  # noqa: S105


async def issue_setup_token(db: Database, ttl_seconds: float) -> str:
    """Create a token valid for ``ttl_seconds`` and return its plaintext (shown once, never stored)."""
    if ttl_seconds <= 0:
        raise InvalidInput("ttl_seconds must be positive")
    token = new_token()
    now = utcnow()
    async with db.write() as session:
        session.add(
            SetupToken(
                token_hash=token_hash(token), created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)
            )
        )
    return token


async def consume_setup_token(db: Database, plaintext: str) -> None:
    """Spend a token exactly once. ``PermissionDenied`` if it is unknown, expired or used.

    The same message covers every failure, so a caller cannot tell a used token from a wrong one.
    """
    digest = token_hash(plaintext)
    now = utcnow()
    async with db.write() as session:
        live = await session.exec(
            select(SetupToken).where(col(SetupToken.used_at).is_(None), col(SetupToken.expires_at) > now)
        )
        match: int | None = None
        for row in live.all():
            if constant_time_equals(row.token_hash, digest) and match is None:
                match = row.id
        if match is None:
            raise PermissionDenied(INVALID_TOKEN_MESSAGE)
        result = await session.exec(
            update(SetupToken)
            .where(col(SetupToken.id) == match, col(SetupToken.used_at).is_(None))
            .values(used_at=now)
        )
        if result.rowcount != 1:
            raise PermissionDenied(INVALID_TOKEN_MESSAGE)


async def has_live_setup_token(db: Database) -> bool:
    """Whether an unused, unexpired token exists (first-run setup is still pending)."""
    async with db.session() as session:
        found = await session.exec(
            select(SetupToken.id)
            .where(col(SetupToken.used_at).is_(None), col(SetupToken.expires_at) > utcnow())
            .limit(1)
        )
        return found.first() is not None


async def delete_expired_setup_tokens(db: Database, *, now: datetime | None = None) -> int:
    """Housekeeping: drop tokens that expired or were used; returns how many."""
    cutoff = utcnow() if now is None else now
    async with db.write() as session:
        result = await session.exec(
            delete(SetupToken).where(
                (col(SetupToken.expires_at) <= cutoff) | col(SetupToken.used_at).is_not(None)
            )
        )
        return int(result.rowcount)
