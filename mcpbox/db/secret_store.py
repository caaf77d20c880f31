"""Repository functions for ``server_secrets``: placeholders, encrypted values, rotation.

An LLM may declare that a server needs a secret (``mcpbox_create_server_secret``) but only the
owner sets its value, so a secret starts as a placeholder with NULL ciphertext. Values are
encrypted with the keyring; the associated data binds (server name, secret key) and the key id,
so a ciphertext copied onto another row fails to decrypt. Listing returns metadata only: no
function here returns a value except ``load_secret_values``, which exists for the sandbox call
that needs them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mcpbox.crypto.keyring import Keyring, associated_data
from mcpbox.db.engine import Database
from mcpbox.db.models import SECRET_KEY_PATTERN, Server, ServerSecret, utcnow
from mcpbox.errors import Conflict, InvalidInput, NotFound

_KEY_RE = re.compile(SECRET_KEY_PATTERN)
VALUE_MAX_BYTES = 64 * 1024
DESCRIPTION_MAX = 1000


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown about a secret: never its value."""

    key: str
    description: str
    has_value: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


def secret_aad(server: str, key: str) -> bytes:
    """Associated data binding a ciphertext to its row's identity."""
    return associated_data("server_secret", server, key)


def check_secret_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise InvalidInput(
            f"invalid secret key {key!r}: use uppercase letters, digits and '_', starting with a "
            "letter (at most 64)"
        )
    return key


async def create_secret_placeholder(
    db: Database, server: str, key: str, *, created_by: str, description: str = ""
) -> SecretInfo:
    """Declare a secret without a value; ``Conflict`` if the server already has this key."""
    check_secret_key(key)
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"description is longer than {DESCRIPTION_MAX} characters")
    now = utcnow()
    async with db.write() as session:
        server_id = await _server_id(session, server)
        row = ServerSecret(
            server_id=server_id,
            key=key,
            description=description,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"server {server!r} already has a secret {key!r}") from exc
    return _info(row)


async def set_secret_value(db: Database, server: str, key: str, plaintext: str, keyring: Keyring) -> None:
    """Encrypt and store the value of an existing secret (placeholder or not)."""
    if len(plaintext.encode("utf-8")) > VALUE_MAX_BYTES:
        raise InvalidInput(f"secret value is larger than {VALUE_MAX_BYTES} bytes")
    key_id, blob = keyring.encrypt(plaintext, secret_aad(server, key))
    async with db.write() as session:
        row = await _secret_row(session, server, key)
        row.ciphertext, row.key_id, row.updated_at = blob, key_id, utcnow()
        session.add(row)


async def list_secrets(db: Database, server: str) -> list[SecretInfo]:
    """Metadata of every secret of ``server``, ordered by key; ``NotFound`` if no such server."""
    async with db.session() as session:
        server_id = await _server_id(session, server)
        rows = await session.exec(
            select(ServerSecret)
            .where(col(ServerSecret.server_id) == server_id)
            .order_by(col(ServerSecret.key))
        )
        return [_info(row) for row in rows.all()]


async def delete_secret(db: Database, server: str, key: str) -> None:
    """Remove a secret; ``NotFound`` if the server or the key does not exist."""
    async with db.write() as session:
        server_id = await _server_id(session, server)
        result = await session.exec(
            delete(ServerSecret).where(col(ServerSecret.server_id) == server_id, col(ServerSecret.key) == key)
        )
        if result.rowcount == 0:
            raise NotFound(f"server {server!r} has no secret {key!r}")


async def load_secret_values(db: Database, server: str, keyring: Keyring) -> dict[str, str]:
    """Decrypt every secret of ``server`` that has a value, for one sandbox call.

    Placeholders are left out. Any ciphertext that fails to decrypt raises ``CryptoError``: a
    call never runs with some of its secrets silently missing.
    """
    async with db.session() as session:
        server_id = await _server_id(session, server)
        rows = await session.exec(
            select(ServerSecret).where(
                col(ServerSecret.server_id) == server_id, col(ServerSecret.ciphertext).is_not(None)
            )
        )
        found = list(rows.all())
    return {row.key: _decrypt(keyring, server, row) for row in found}


async def reencrypt_all(db: Database, keyring: Keyring) -> int:
    """Re-encrypt every secret not yet under the active key, all in ONE transaction.

    Returns how many were re-encrypted. If any row fails (unknown key id, forged ciphertext)
    the whole transaction rolls back and every secret stays exactly as it was.
    """
    active = keyring.active_key_id
    async with db.write() as session:
        rows = await session.exec(
            select(ServerSecret, Server.name)
            .join(Server, col(Server.id) == col(ServerSecret.server_id))
            .where(col(ServerSecret.ciphertext).is_not(None), col(ServerSecret.key_id) != active)
        )
        pending: Sequence[tuple[ServerSecret, str]] = rows.all()
        now = utcnow()
        for row, server_name in pending:
            plaintext = _decrypt(keyring, server_name, row)
            row.key_id, row.ciphertext = keyring.encrypt(plaintext, secret_aad(server_name, row.key))
            row.updated_at = now
            session.add(row)
        await session.flush()
    return len(pending)


async def key_ids_in_use(db: Database) -> set[str]:
    """Every key id some stored ciphertext still needs (rotation drops only the others)."""
    async with db.session() as session:
        rows = await session.exec(
            select(ServerSecret.key_id).where(col(ServerSecret.ciphertext).is_not(None)).distinct()
        )
        return {key_id for key_id in rows.all() if key_id is not None}


def _decrypt(keyring: Keyring, server: str, row: ServerSecret) -> str:
    if row.ciphertext is None or row.key_id is None:
        raise NotFound(f"secret {row.key!r} of server {server!r} has no value")
    return keyring.decrypt(row.key_id, row.ciphertext, secret_aad(server, row.key))


async def _server_id(session: AsyncSession, server: str) -> int:
    found = (await session.exec(select(Server.id).where(col(Server.name) == server))).first()
    if found is None:
        raise NotFound(f"no server named {server!r}")
    return found


async def _secret_row(session: AsyncSession, server: str, key: str) -> ServerSecret:
    server_id = await _server_id(session, server)
    row = (
        await session.exec(
            select(ServerSecret).where(col(ServerSecret.server_id) == server_id, col(ServerSecret.key) == key)
        )
    ).first()
    if row is None:
        raise NotFound(f"server {server!r} has no secret {key!r}")
    return row


def _info(row: ServerSecret) -> SecretInfo:
    return SecretInfo(
        key=row.key,
        description=row.description,
        has_value=row.ciphertext is not None,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
