"""Password hashing with argon2id (argon2-cffi), including rehash when the parameters change.

The encoded hash carries its own parameters (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), so
raising the cost later only needs a check at the next successful login: ``verify_password``
then returns a fresh hash for the caller to store. argon2's exceptions are translated here and
go no further.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mcpbox.auth.policy import AuthPolicy, PasswordParameters
from mcpbox.errors import InvalidInput

# A valid hash to verify against when the account does not exist, so a wrong name costs the
# same time as a wrong password and response timing does not reveal which names exist.
_DUMMY_PASSWORD = "mcpbox-no-such-account"  # noqa: S105 (not a credential)


def hasher(parameters: PasswordParameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_kib,
        parallelism=parameters.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def check_password_strength(password: str, policy: AuthPolicy) -> str:
    """Refuse passwords that are too short or absurdly long (argon2 would hash megabytes)."""
    if len(password) < policy.password_min_length:
        raise InvalidInput(f"the password must be at least {policy.password_min_length} characters")
    if len(password) > policy.password_max_length:
        raise InvalidInput(f"the password must be at most {policy.password_max_length} characters")
    if not password.strip():
        raise InvalidInput("the password must not be only whitespace")
    return password


def hash_password(password: str, policy: AuthPolicy) -> str:
    return hasher(policy.password).hash(password)


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when ok and the stored hash used other parameters


def verify_password(stored_hash: str, password: str, policy: AuthPolicy) -> Verification:
    """Check ``password`` against ``stored_hash``; never raises for a wrong or corrupt hash."""
    ph = hasher(policy.password)
    try:
        ph.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verification(ok=False)
    if ph.check_needs_rehash(stored_hash):
        return Verification(ok=True, new_hash=ph.hash(password))
    return Verification(ok=True)


def burn_verification(policy: AuthPolicy) -> None:
    """Spend one verification's worth of time for a login naming no account."""
    # Hashing costs the same as verifying under the same parameters.
    hasher(policy.password).hash(_DUMMY_PASSWORD)
