"""Opening the keyring at startup, and key rotation (``mcpbox keys rotate``).

Rotation order is what keeps every secret readable whatever fails:

1. write the key file with a new active key added (atomic replace; old keys kept);
2. re-encrypt every secret under the new key in ONE database transaction;
3. only if asked, and only for keys no ciphertext references any more, drop retired keys.

A crash after 1 leaves secrets under old keys that are still in the file; a failure in 2 rolls
back to exactly the old ciphertexts; 3 re-checks what the database references before removing.

A running server holds its keyring in memory: after a rotation from the CLI it must reload the
key file (restart, or re-open the keyring) before it can read values written under the new key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring, load_or_create_keyring
from mcpbox.db import secret_store
from mcpbox.db.engine import Database, open_database
from mcpbox.errors import CryptoError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RotationResult:
    new_key_id: str
    reencrypted: int
    dropped_key_ids: tuple[str, ...]
    key_ids: tuple[str, ...]  # what the key file holds afterwards


async def open_keyring(config: Config, database: Database) -> Keyring:
    """Load the key file, creating it on first run only.

    A missing key file while the database holds ciphertexts is an error, never a silent new key:
    otherwise every stored secret would become unreadable without anyone being told.
    """
    if not config.key_file.exists() and not config.key_file.is_symlink():
        in_use = await secret_store.key_ids_in_use(database)
        if in_use:
            raise CryptoError(
                f"key file {config.key_file} is missing but the database holds secrets encrypted "
                f"with key id(s) {', '.join(sorted(in_use))}; restore the key file from backup"
            )
    keyring, created = load_or_create_keyring(config.key_file)
    if created:
        logger.info("created encryption key file", extra={"key_file": str(config.key_file)})
    return keyring


async def rotate_keys(
    config: Config, database: Database | None = None, *, drop_retired: bool = False
) -> RotationResult:
    """Add a new active key, re-encrypt every secret under it, optionally drop unused keys.

    Without ``database`` (the CLI), the configured database is opened and closed here.
    """
    if database is None:
        own = await open_database(config)
        try:
            return await rotate_keys(config, own, drop_retired=drop_retired)
        finally:
            await own.close()
    current = Keyring.load(config.key_file)
    rotated = current.with_new_active_key()
    rotated.save(config.key_file)
    logger.info("key rotation: new active key", extra={"key_id": rotated.active_key_id})

    count = await secret_store.reencrypt_all(database, rotated)
    dropped: tuple[str, ...] = ()
    final = rotated
    if drop_retired:
        in_use = await secret_store.key_ids_in_use(database)
        retired = {k for k in rotated.key_ids if k != rotated.active_key_id and k not in in_use}
        if retired:
            final = rotated.without_keys(retired)
            final.save(config.key_file)
            dropped = tuple(sorted(retired, key=lambda k: int(k[1:])))
    logger.info(
        "key rotation done",
        extra={"key_id": final.active_key_id, "reencrypted": count, "dropped": list(dropped)},
    )
    return RotationResult(
        new_key_id=final.active_key_id, reencrypted=count, dropped_key_ids=dropped, key_ids=final.key_ids
    )
