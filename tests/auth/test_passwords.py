"""argon2id hashing: the encoded format, verification, rehash when parameters change."""

from __future__ import annotations

import re

import pytest

from mcpbox.auth.passwords import check_password_strength, hash_password, verify_password
from mcpbox.auth.policy import AuthPolicy, PasswordParameters
from mcpbox.errors import InvalidInput
from tests.web.admin_harness import cheap_policy

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")


def test_hashes_are_argon2id_with_the_policy_parameters() -> None:
    policy = cheap_policy()
    encoded = hash_password("a long enough password", policy)
    match = ARGON2ID.match(encoded)
    assert match is not None, encoded
    assert match.groups() == ("1024", "1", "1")


def test_the_default_policy_uses_rfc9106_parameters() -> None:
    params = AuthPolicy().password
    assert (params.memory_kib, params.time_cost, params.parallelism) == (65536, 3, 4)


def test_two_hashes_of_one_password_differ_by_salt() -> None:
    policy = cheap_policy()
    assert hash_password("same password here", policy) != hash_password("same password here", policy)


def test_verify_accepts_the_password_and_rejects_others() -> None:
    policy = cheap_policy()
    encoded = hash_password("the right password", policy)
    assert verify_password(encoded, "the right password", policy).ok
    assert not verify_password(encoded, "the wrong password", policy).ok


def test_a_corrupt_hash_is_a_failed_verification_not_a_crash() -> None:
    assert not verify_password("not-a-hash", "whatever", cheap_policy()).ok


def test_a_hash_with_old_parameters_is_rehashed_on_successful_verify() -> None:
    old = cheap_policy()
    encoded = hash_password("the right password", old)
    stronger = cheap_policy(password=PasswordParameters(time_cost=2, memory_kib=2048, parallelism=1))
    result = verify_password(encoded, "the right password", stronger)
    assert result.ok
    assert result.new_hash is not None
    assert "m=2048,t=2,p=1" in result.new_hash
    assert verify_password(result.new_hash, "the right password", stronger).new_hash is None


def test_no_rehash_for_a_wrong_password() -> None:
    encoded = hash_password("the right password", cheap_policy())
    stronger = cheap_policy(password=PasswordParameters(time_cost=2, memory_kib=2048, parallelism=1))
    assert verify_password(encoded, "wrong", stronger).new_hash is None


@pytest.mark.parametrize("password", ["short", " " * 20, "x" * 2000])
def test_weak_or_absurd_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password_strength(password, cheap_policy())
