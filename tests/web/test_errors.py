"""The one error table: every mcpbox error has a status and a stable code; internals stay out."""

from __future__ import annotations

import pytest

from mcpbox import errors
from mcpbox.auth.errors import BadCredentials, CsrfRejected, LoginThrottled, NotAuthenticated
from mcpbox.web.errors import ERROR_TABLE, GENERIC_SERVER_MESSAGE, api_error_response, http_error


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.NotFound("x"), 404, "not_found"),
        (errors.Conflict("x"), 409, "conflict"),
        (errors.InvalidInput("x"), 400, "invalid_input"),
        (errors.PermissionDenied("x"), 403, "permission_denied"),
        (errors.Busy(), 503, "busy"),
        (errors.StorageError("SELECT secret FROM x"), 500, "storage_error"),
        (errors.MigrationError("x"), 500, "storage_error"),
        (errors.CryptoError("key file /root/keys.json"), 500, "crypto_error"),
        (errors.PolicyViolation("x"), 502, "sandbox_error"),
        (NotAuthenticated(), 401, "unauthenticated"),
        (BadCredentials(), 401, "bad_credentials"),
        (CsrfRejected(), 403, "csrf_failed"),
        (LoginThrottled(retry_after=30), 429, "too_many_attempts"),
        (errors.ConfigError("x"), 500, "internal_error"),
    ],
)
def test_each_error_maps_to_a_status_and_code(exc: errors.MCPBoxError, status: int, code: str) -> None:
    assert (http_error(exc).status, http_error(exc).code) == (status, code)


def test_codes_are_unique_per_row() -> None:
    codes = [row.code for row in ERROR_TABLE.values()]
    assert len(codes) == len(set(codes))


def test_server_side_details_never_reach_the_client() -> None:
    storage = api_error_response(errors.StorageError("SELECT ciphertext FROM server_secrets"))
    assert b"SELECT" not in storage.body
    crypto = api_error_response(errors.CryptoError("key file /root/keys.json is unreadable"))
    assert b"/root" not in crypto.body
    assert GENERIC_SERVER_MESSAGE.encode() in crypto.body


def test_throttling_says_when_to_retry() -> None:
    response = api_error_response(LoginThrottled(retry_after=90))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "90"
