"""setup_tokens: hashed at rest, single use, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from mcpbox.crypto.hashing import token_hash
from mcpbox.db import setup_token_store
from mcpbox.db.engine import Database
from mcpbox.errors import InvalidInput, PermissionDenied
from tests.db.sql import run_sql


def _sql_utc(moment: datetime) -> str:
    """How UTCDateTime lays a timestamp out in SQLite (naive UTC text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.anyio
async def test_only_the_sha256_is_stored(database: Database) -> None:
    token = await setup_token_store.issue_setup_token(database, 60)
    [(stored,)] = await run_sql(database, "SELECT token_hash FROM setup_tokens")
    assert stored == token_hash(token)
    assert token not in stored


@pytest.mark.anyio
async def test_a_token_works_exactly_once(database: Database) -> None:
    token = await setup_token_store.issue_setup_token(database, 60)
    assert await setup_token_store.has_live_setup_token(database)
    await setup_token_store.consume_setup_token(database, token)
    assert not await setup_token_store.has_live_setup_token(database)
    with pytest.raises(PermissionDenied):
        await setup_token_store.consume_setup_token(database, token)


@pytest.mark.anyio
async def test_concurrent_consumers_only_one_succeeds(database: Database) -> None:
    token = await setup_token_store.issue_setup_token(database, 60)
    results = await asyncio.gather(
        *(setup_token_store.consume_setup_token(database, token) for _ in range(5)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, PermissionDenied) for r in results if r is not None)


@pytest.mark.anyio
async def test_wrong_and_expired_tokens_are_refused_with_one_message(database: Database) -> None:
    token = await setup_token_store.issue_setup_token(database, 60)
    with pytest.raises(PermissionDenied) as wrong:
        await setup_token_store.consume_setup_token(database, token + "x")
    await run_sql(
        database,
        "UPDATE setup_tokens SET expires_at = :t",
        {"t": _sql_utc(datetime.now(UTC) - timedelta(seconds=1))},
        write=True,
    )
    with pytest.raises(PermissionDenied) as expired:
        await setup_token_store.consume_setup_token(database, token)
    assert str(wrong.value) == str(expired.value)
    assert await setup_token_store.delete_expired_setup_tokens(database) == 1
    with pytest.raises(InvalidInput):
        await setup_token_store.issue_setup_token(database, 0)
