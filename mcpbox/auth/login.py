"""Sign-in and first-run setup: the flows the login page, the setup page and the CLI share.

Order matters for security: the throttle is consulted before any password is checked (a locked
account cannot be probed), a login naming no account spends the same argon2 time as a wrong
password, and the session token is minted only after success (a new token at every login, so a
token planted before login is worthless). argon2 runs in a worker thread: at 64 MiB it takes
tens of milliseconds that must not stall the event loop serving MCP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio

from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.auth import admin_store, sessions, throttle
from mcpbox.auth.errors import BadCredentials, LoginThrottled
from mcpbox.auth.passwords import (
    burn_verification,
    check_password_strength,
    hash_password,
    verify_password,
)
from mcpbox.auth.policy import AuthPolicy
from mcpbox.db import setup_token_store
from mcpbox.db.engine import Database
from mcpbox.errors import Conflict, InvalidInput, PermissionDenied

Record = Callable[[ActivityEvent], None]


@dataclass(frozen=True, slots=True)
class Client:
    """Who is knocking: the address counts for throttling; both are kept on the session."""

    address: str
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class SignedIn:
    admin_name: str
    session_token: str  # goes into the cookie, nowhere else


async def sign_in(
    db: Database, policy: AuthPolicy, record: Record, *, name: str, password: str, client: Client
) -> SignedIn:
    """Check the credentials and open a session; ``BadCredentials`` or ``LoginThrottled``."""
    keys = throttle.throttle_keys(name, client.address)
    detail = {"address": client.address}
    try:
        await throttle.check_allowed(db, keys, policy)
    except LoginThrottled as exc:
        record(ActivityEvent(name="admin.login_throttled", outcome=Outcome.DENIED, detail=detail))
        raise exc
    admin = await admin_store.find_admin(db, name) if len(name) <= 64 else None
    if admin is None or len(password) > policy.password_max_length:
        await anyio.to_thread.run_sync(burn_verification, policy)
        await throttle.record_failure(db, keys, policy)
        record(ActivityEvent(name="admin.login_failed", outcome=Outcome.DENIED, detail=detail))
        raise BadCredentials()
    verification = await anyio.to_thread.run_sync(verify_password, admin.password_hash, password, policy)
    assert admin.id is not None  # read back from the table
    if not verification.ok:
        failures = await throttle.record_failure(db, keys, policy)
        record(
            ActivityEvent(
                name="admin.login_failed",
                outcome=Outcome.DENIED,
                actor=admin.name,
                detail={**detail, "failures": failures},
            )
        )
        raise BadCredentials()
    now = policy.now()
    if verification.new_hash is not None:
        await admin_store.set_password_hash(db, admin.id, verification.new_hash, now=now, changed=False)
    await throttle.clear(db, keys)
    await admin_store.note_login(db, admin.id, now=now)
    token = await sessions.create_session(
        db, admin.id, policy, client_address=client.address, user_agent=client.user_agent
    )
    record(ActivityEvent(name="admin.login", actor=admin.name, detail=detail))
    return SignedIn(admin_name=admin.name, session_token=token)


async def complete_setup(
    db: Database,
    policy: AuthPolicy,
    record: Record,
    *,
    setup_token: str,
    name: str,
    password: str,
    password_again: str,
    client: Client,
) -> SignedIn:
    """Create the first admin with the one-time setup token, then sign them in.

    Input is validated before the token is spent, so a typo does not burn the token; the
    token is spent before the account is created, so one token makes at most one account.
    """
    admin_store.check_admin_name(name)
    check_password_strength(password, policy)
    if password != password_again:
        raise InvalidInput("the two passwords differ")
    if await admin_store.admin_exists(db):
        raise Conflict("an admin account already exists; sign in instead")
    try:
        await setup_token_store.consume_setup_token(db, setup_token)
    except PermissionDenied:
        record(
            ActivityEvent(
                name="admin.setup_failed", outcome=Outcome.DENIED, detail={"address": client.address}
            )
        )
        raise
    password_hash = await anyio.to_thread.run_sync(hash_password, password, policy)
    admin = await admin_store.create_admin(db, name, password_hash, now=policy.now(), first=True)
    assert admin.id is not None
    record(
        ActivityEvent(
            name="admin.created", actor=admin.name, detail={"via": "setup", "address": client.address}
        )
    )
    token = await sessions.create_session(
        db, admin.id, policy, client_address=client.address, user_agent=client.user_agent
    )
    record(ActivityEvent(name="admin.login", actor=admin.name, detail={"address": client.address}))
    return SignedIn(admin_name=admin.name, session_token=token)


async def sign_out(db: Database, record: Record, *, session_token: str, admin_name: str) -> None:
    await sessions.revoke_session(db, session_token)
    record(ActivityEvent(name="admin.logout", actor=admin_name))


async def purge_expired_auth_state(db: Database, policy: AuthPolicy) -> int:
    """Housekeeping for a periodic task: expired sessions, stale throttle rows, spent setup
    tokens. Correctness never depends on it (expiry is checked on every use); it keeps tables
    small. Returns how many rows went."""
    removed = await sessions.delete_expired_sessions(db, policy)
    removed += await throttle.delete_stale_attempts(db, policy)
    removed += await setup_token_store.delete_expired_setup_tokens(db, now=policy.now())
    return removed
