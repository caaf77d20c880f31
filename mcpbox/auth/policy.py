"""``AuthPolicy``: the knobs of admin authentication, in one frozen value passed down.

These are not ``Config`` settings (yet): the defaults suit one owner on a homelab box, and tests
pass a policy with cheap argon2 parameters, short expiries and a controllable clock instead of
sleeping. The clock is part of the policy so that sessions, throttling and setup all agree on
what "now" is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mcpbox.db.models import utcnow


@dataclass(frozen=True)
class PasswordParameters:
    """argon2id cost parameters; RFC 9106's second recommendation (64 MiB, t=3, p=4) by default."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True)
class AuthPolicy:
    # Sessions: idle expiry slides with use; absolute expiry never moves.
    session_idle_seconds: int = 2 * 3600
    session_absolute_seconds: int = 12 * 3600
    # last_seen_at is written at most this often, so browsing is not a stream of writes.
    session_touch_seconds: int = 60
    # Throttling: after this many failures per key, each further one locks the key for
    # lockout_base * 2**(failures - threshold) seconds, capped; failures older than the window
    # are forgotten.
    throttle_threshold: int = 5
    lockout_base_seconds: int = 30
    lockout_max_seconds: int = 3600
    throttle_window_seconds: int = 24 * 3600
    password_min_length: int = 10
    password_max_length: int = 1024
    password: PasswordParameters = field(default_factory=PasswordParameters)
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()
