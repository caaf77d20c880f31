"""Login throttling by account and by client address, persisted so a restart does not reset it.

Each failed login counts against two keys: the account name tried and the client's network
(the address itself for IPv4, its /64 for IPv6, since one host usually owns a whole /64). Once
a key has ``throttle_threshold`` failures, every further failure locks it for an exponentially
growing time (``lockout_base * 2**n``, capped). While a key is locked, login is refused before
the password is even checked, so a locked account cannot be probed at all. A success clears the
keys of that login. Failures older than ``throttle_window_seconds`` are forgotten.

Counting per account stops a slow guesser rotating addresses; counting per address stops one
client spraying many account names. Both are rows in ``login_attempts``.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from mcpbox.auth.errors import LoginThrottled
from mcpbox.auth.models import LoginAttempt
from mcpbox.auth.policy import AuthPolicy
from mcpbox.db.engine import Database

IPV6_PREFIX = 64


def throttle_keys(account: str, address: str) -> tuple[str, str]:
    """The two keys one login attempt counts against."""
    return f"account:{account.strip().lower()[:64]}", f"address:{network_of(address)}"


def network_of(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


async def check_allowed(db: Database, keys: Sequence[str], policy: AuthPolicy) -> None:
    """``LoginThrottled`` (with seconds to wait) if any key is locked now."""
    now = policy.now()
    async with db.session() as session:
        rows = (await session.exec(select(LoginAttempt).where(col(LoginAttempt.key).in_(list(keys))))).all()
    waits = [
        row.locked_until - now for row in rows if row.locked_until is not None and row.locked_until > now
    ]
    if waits:
        raise LoginThrottled(retry_after=math.ceil(max(waits).total_seconds()))


async def record_failure(db: Database, keys: Sequence[str], policy: AuthPolicy) -> int:
    """Count one failure against each key; returns the highest failure count among them."""
    now = policy.now()
    window = timedelta(seconds=policy.throttle_window_seconds)
    highest = 0
    async with db.write() as session:
        for key in keys:
            row = await session.get(LoginAttempt, key)
            if row is None or now - row.last_failure_at > window:
                row = row or LoginAttempt(key=key, last_failure_at=now)
                row.failures, row.locked_until = 0, None
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= policy.throttle_threshold:
                row.locked_until = now + timedelta(seconds=lockout_seconds(row.failures, policy))
            session.add(row)
            highest = max(highest, row.failures)
    return highest


def lockout_seconds(failures: int, policy: AuthPolicy) -> int:
    """How long the ``failures``-th failure locks its key: doubling from the threshold on."""
    if failures < policy.throttle_threshold:
        return 0
    exponent = min(failures - policy.throttle_threshold, 30)
    return int(min(policy.lockout_max_seconds, policy.lockout_base_seconds * 2**exponent))


async def clear(db: Database, keys: Sequence[str]) -> None:
    async with db.write() as session:
        await session.exec(delete(LoginAttempt).where(col(LoginAttempt.key).in_(list(keys))))


async def delete_stale_attempts(db: Database, policy: AuthPolicy) -> int:
    """Housekeeping: forget keys with no failure inside the window and no running lock."""
    now = policy.now()
    cutoff = now - timedelta(seconds=policy.throttle_window_seconds)
    async with db.write() as session:
        result = await session.exec(
            delete(LoginAttempt).where(
                col(LoginAttempt.last_failure_at) < cutoff,
                col(LoginAttempt.locked_until).is_(None) | (col(LoginAttempt.locked_until) <= now),
            )
        )
        return int(result.rowcount)
