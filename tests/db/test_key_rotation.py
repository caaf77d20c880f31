"""Key rotation: one transaction, old keys readable meanwhile, nothing changed on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring
from mcpbox.db import key_rotation, secret_store, server_store
from mcpbox.db.engine import Database
from mcpbox.errors import CryptoError
from tests.db.sql import run_sql

SECRETS = {"home": {"A": "alpha", "B": "beta"}, "lab": {"C": "gamma"}}


async def _fill(db: Database, keyring: Keyring) -> None:
    for server, values in SECRETS.items():
        await server_store.create_server(db, name=server, created_by="local")
        for key, value in values.items():
            await secret_store.create_secret_placeholder(db, server, key, created_by="llm")
            await secret_store.set_secret_value(db, server, key, value, keyring)
    await secret_store.create_secret_placeholder(db, "lab", "EMPTY", created_by="llm")


async def _rows(db: Database) -> list[tuple[object, ...]]:
    return await run_sql(db, "SELECT key, key_id, ciphertext FROM server_secrets ORDER BY key")


async def _values(db: Database, keyring: Keyring) -> dict[str, dict[str, str]]:
    return {server: await secret_store.load_secret_values(db, server, keyring) for server in SECRETS}


@pytest.mark.anyio
async def test_rotation_reencrypts_everything_under_the_new_key(
    config: Config, database: Database, keyring: Keyring
) -> None:
    await _fill(database, keyring)
    result = await key_rotation.rotate_keys(config, database)
    assert (result.new_key_id, result.reencrypted, result.dropped_key_ids) == ("k2", 3, ())
    rotated = Keyring.load(config.key_file)
    assert rotated.key_ids == ("k1", "k2")
    assert {key_id for _, key_id, c in await _rows(database) if c} == {"k2"}
    assert await _values(database, rotated) == SECRETS


@pytest.mark.anyio
async def test_rotation_can_drop_keys_nothing_references(
    config: Config, database: Database, keyring: Keyring
) -> None:
    await _fill(database, keyring)
    await key_rotation.rotate_keys(config, database)
    result = await key_rotation.rotate_keys(config, database, drop_retired=True)
    assert result.dropped_key_ids == ("k1", "k2")
    assert Keyring.load(config.key_file).key_ids == ("k3",)
    assert await _values(database, Keyring.load(config.key_file)) == SECRETS


@pytest.mark.anyio
async def test_a_failure_mid_rotation_changes_nothing(
    config: Config, database: Database, keyring: Keyring
) -> None:
    await _fill(database, keyring)
    # Forge the last row so decryption fails after the first rows were already re-encrypted.
    forged = "UPDATE server_secrets SET ciphertext = 'AAAA' || substr(ciphertext, 5) WHERE key = 'C'"
    await run_sql(database, forged, write=True)
    before = await _rows(database)
    with pytest.raises(CryptoError):
        await key_rotation.rotate_keys(config, database)
    assert await _rows(database) == before
    # The new key is in the file, the old one still reads every untouched secret.
    survivor = Keyring.load(config.key_file)
    assert survivor.active_key_id == "k2"
    assert await secret_store.load_secret_values(database, "home", survivor) == SECRETS["home"]


@pytest.mark.anyio
async def test_a_failing_encrypt_mid_rotation_rolls_back(
    config: Config, database: Database, keyring: Keyring
) -> None:
    await _fill(database, keyring)
    before = await _rows(database)

    class FailsOnSecondEncrypt(Keyring):
        calls = 0

        def encrypt(self, plaintext: str, aad: bytes) -> tuple[str, str]:
            type(self).calls += 1
            if type(self).calls == 2:
                raise CryptoError("simulated failure")
            return super().encrypt(plaintext, aad)

    ring = keyring.with_new_active_key()
    failing = FailsOnSecondEncrypt(ring.active_key_id, {k: ring._keys[k] for k in ring.key_ids})
    with pytest.raises(CryptoError, match="simulated"):
        await secret_store.reencrypt_all(database, failing)
    assert FailsOnSecondEncrypt.calls == 2
    assert await _rows(database) == before
    assert await _values(database, keyring) == SECRETS


@pytest.mark.anyio
async def test_open_keyring_creates_on_first_run_but_never_replaces_a_lost_file(
    config: Config, database: Database
) -> None:
    ring = await key_rotation.open_keyring(config, database)
    assert config.key_file.stat().st_mode & 0o777 == 0o600
    assert (await key_rotation.open_keyring(config, database)).key_ids == ring.key_ids
    await _fill(database, ring)
    Path(config.key_file).unlink()
    with pytest.raises(CryptoError, match="missing"):
        await key_rotation.open_keyring(config, database)
    assert not config.key_file.exists()
