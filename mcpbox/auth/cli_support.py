"""What ``mcpbox admin create`` and ``mcpbox admin reset-password`` do, minus the printing.

The CLI reads the password from a hidden prompt or stdin (never an argument: arguments end up
in shell history and ``ps``), then calls one of these coroutines. They bring the schema up to
date, open the database, and write their activity event straight to the log, since no recorder
runs outside ``mcpbox serve``. A reset also ends every session of that admin and lifts a
lockout of the account.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from mcpbox.activity.events import ActivityEvent
from mcpbox.auth import admin_store, sessions, throttle
from mcpbox.auth.passwords import check_password_strength, hash_password
from mcpbox.auth.policy import AuthPolicy
from mcpbox.config import Config
from mcpbox.db import activity_store, migrate
from mcpbox.db.engine import Database, open_database

CLI_ACTOR = "cli"


@dataclass(frozen=True, slots=True)
class PasswordReset:
    name: str
    sessions_revoked: int


async def create_admin_account(
    config: Config, name: str, password: str, *, policy: AuthPolicy | None = None
) -> str:
    """Create an admin account; ``InvalidInput`` for a bad name or weak password, ``Conflict``
    if the name is taken. Returns the name."""
    policy = policy or AuthPolicy()
    admin_store.check_admin_name(name)
    check_password_strength(password, policy)
    password_hash = await anyio.to_thread.run_sync(hash_password, password, policy)
    db = await _open(config)
    try:
        admin = await admin_store.create_admin(db, name, password_hash, now=policy.now())
        await activity_store.insert_many(
            db,
            [
                ActivityEvent(
                    name="admin.created", actor=CLI_ACTOR, detail={"admin": admin.name, "via": "cli"}
                )
            ],
        )
    finally:
        await db.close()
    return admin.name


async def reset_admin_password(
    config: Config, name: str, password: str, *, policy: AuthPolicy | None = None
) -> PasswordReset:
    """Set a new password and sign the admin out everywhere; ``NotFound`` if no such admin."""
    policy = policy or AuthPolicy()
    check_password_strength(password, policy)
    db = await _open(config)
    try:
        admin = await admin_store.get_admin(db, name)
        assert admin.id is not None  # read back from the table
        password_hash = await anyio.to_thread.run_sync(hash_password, password, policy)
        await admin_store.set_password_hash(db, admin.id, password_hash, now=policy.now(), changed=True)
        revoked = await sessions.revoke_admin_sessions(db, admin.id)
        # The owner resetting a password is also the way out of an account lockout.
        await throttle.clear(db, [throttle.throttle_keys(admin.name, "")[0]])
        await activity_store.insert_many(
            db,
            [
                ActivityEvent(
                    name="admin.password_reset",
                    actor=CLI_ACTOR,
                    detail={"admin": admin.name, "sessions_revoked": revoked},
                )
            ],
        )
    finally:
        await db.close()
    return PasswordReset(name=admin.name, sessions_revoked=revoked)


async def _open(config: Config) -> Database:
    await migrate.upgrade_if_needed_async(config)
    return await open_database(config)
