"""server_secrets: placeholders, encrypted values bound to their row, metadata-only listing."""

from __future__ import annotations

import base64

import pytest

from mcpbox.crypto.keyring import Keyring
from mcpbox.db import secret_store, server_store
from mcpbox.db.engine import Database
from mcpbox.errors import Conflict, CryptoError, InvalidInput, NotFound
from tests.db.sql import run_sql

VALUE = "s3cr3t-value-\u00e9"


async def _server_with_secret(db: Database, keyring: Keyring, server: str = "home") -> None:
    await server_store.create_server(db, name=server, created_by="local")
    await secret_store.create_secret_placeholder(
        db, server, "API_KEY", created_by="llm", description="the key"
    )
    await secret_store.set_secret_value(db, server, "API_KEY", VALUE, keyring)


@pytest.mark.anyio
async def test_placeholder_has_no_value_until_the_owner_sets_one(
    database: Database, keyring: Keyring
) -> None:
    await server_store.create_server(database, name="home", created_by="local")
    info = await secret_store.create_secret_placeholder(database, "home", "API_KEY", created_by="llm")
    assert not info.has_value
    assert await secret_store.load_secret_values(database, "home", keyring) == {}
    await secret_store.set_secret_value(database, "home", "API_KEY", VALUE, keyring)
    assert await secret_store.load_secret_values(database, "home", keyring) == {"API_KEY": VALUE}


@pytest.mark.anyio
async def test_list_returns_metadata_and_never_the_value(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring)
    [info] = await secret_store.list_secrets(database, "home")
    assert (info.key, info.description, info.has_value, info.created_by) == (
        "API_KEY",
        "the key",
        True,
        "llm",
    )
    assert not hasattr(info, "ciphertext")
    assert VALUE not in repr(info)


@pytest.mark.anyio
async def test_the_value_is_encrypted_at_rest(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring)
    [(key_id, ciphertext)] = await run_sql(database, "SELECT key_id, ciphertext FROM server_secrets")
    assert key_id == keyring.active_key_id
    assert VALUE not in ciphertext


@pytest.mark.anyio
async def test_duplicate_key_is_a_conflict_and_bad_keys_are_refused(database: Database) -> None:
    await server_store.create_server(database, name="home", created_by="local")
    await secret_store.create_secret_placeholder(database, "home", "API_KEY", created_by="llm")
    with pytest.raises(Conflict):
        await secret_store.create_secret_placeholder(database, "home", "API_KEY", created_by="llm")
    for bad in ["api_key", "1KEY", "", "A-B"]:
        with pytest.raises(InvalidInput):
            await secret_store.create_secret_placeholder(database, "home", bad, created_by="llm")
    with pytest.raises(NotFound):
        await secret_store.create_secret_placeholder(database, "nope", "API_KEY", created_by="llm")


@pytest.mark.anyio
async def test_a_ciphertext_moved_to_another_row_fails_closed(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring, "home")
    await server_store.create_server(database, name="other", created_by="local")
    await secret_store.create_secret_placeholder(database, "other", "API_KEY", created_by="llm")
    copy = (
        "UPDATE server_secrets SET (ciphertext, key_id) = (SELECT ciphertext, key_id FROM "
        "server_secrets WHERE ciphertext IS NOT NULL) WHERE ciphertext IS NULL"
    )
    await run_sql(database, copy, write=True)
    with pytest.raises(CryptoError, match="failed authentication"):
        await secret_store.load_secret_values(database, "other", keyring)


@pytest.mark.anyio
async def test_a_tampered_ciphertext_fails_closed(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring)
    [(blob,)] = await run_sql(database, "SELECT ciphertext FROM server_secrets")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1  # one flipped bit of the GCM tag
    tampered = base64.b64encode(bytes(raw)).decode()
    await run_sql(database, "UPDATE server_secrets SET ciphertext = :c", {"c": tampered}, write=True)
    with pytest.raises(CryptoError):
        await secret_store.load_secret_values(database, "home", keyring)


@pytest.mark.anyio
async def test_a_different_keyring_cannot_read_the_values(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring)
    with pytest.raises(CryptoError, match="failed authentication"):
        await secret_store.load_secret_values(database, "home", Keyring.generate())


@pytest.mark.anyio
async def test_delete_secret_and_cascade_on_server_delete(database: Database, keyring: Keyring) -> None:
    await _server_with_secret(database, keyring)
    await secret_store.create_secret_placeholder(database, "home", "OTHER", created_by="llm")
    await secret_store.delete_secret(database, "home", "OTHER")
    with pytest.raises(NotFound):
        await secret_store.delete_secret(database, "home", "OTHER")
    await server_store.delete_server(database, "home")
    assert await run_sql(database, "SELECT count(*) FROM server_secrets") == [(0,)]
