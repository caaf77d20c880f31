"""The one table that turns mcpbox errors into HTTP responses for the admin UI and JSON API.

Lookup walks the exception's MRO, so the most specific row wins (``LoginThrottled`` before
``PermissionDenied`` before ``MCPBoxError``) and a new subclass inherits its parent's mapping.
Only ``public_message`` reaches the client; ``str(exc)`` (which may name paths or SQL) goes to
the log for server-side errors. ``/api`` answers ``{"error": {"code", "message"}}``; ``/admin``
answers an HTML page built by the caller's renderer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from mcpbox.auth.errors import BadCredentials, CsrfRejected, LoginThrottled, NotAuthenticated
from mcpbox.errors import (
    Busy,
    Conflict,
    CryptoError,
    InvalidInput,
    MCPBoxError,
    NotFound,
    PermissionDenied,
    SandboxError,
    StorageError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpError:
    status: int
    code: str  # stable: clients and tests key on it


ERROR_TABLE: Mapping[type[MCPBoxError], HttpError] = {
    NotAuthenticated: HttpError(401, "unauthenticated"),
    BadCredentials: HttpError(401, "bad_credentials"),
    CsrfRejected: HttpError(403, "csrf_failed"),
    LoginThrottled: HttpError(429, "too_many_attempts"),
    PermissionDenied: HttpError(403, "permission_denied"),
    NotFound: HttpError(404, "not_found"),
    Conflict: HttpError(409, "conflict"),
    InvalidInput: HttpError(400, "invalid_input"),
    Busy: HttpError(503, "busy"),
    SandboxError: HttpError(502, "sandbox_error"),
    StorageError: HttpError(500, "storage_error"),
    CryptoError: HttpError(500, "crypto_error"),
    MCPBoxError: HttpError(500, "internal_error"),
}
GENERIC_SERVER_MESSAGE = "mcpbox hit an internal error; the server log has the details"


def http_error(exc: MCPBoxError) -> HttpError:
    for cls in type(exc).__mro__:
        found = ERROR_TABLE.get(cls)
        if found is not None:
            return found
    return ERROR_TABLE[MCPBoxError]


def public_message(exc: MCPBoxError, error: HttpError) -> str:
    """What the client sees; server-side failures are logged and get a generic sentence."""
    if error.status >= 500:
        logger.error("admin request failed: %s: %s", type(exc).__name__, exc)
        return exc.public_message if isinstance(exc, StorageError | Busy) else GENERIC_SERVER_MESSAGE
    return exc.public_message


def error_headers(exc: MCPBoxError) -> dict[str, str]:
    if isinstance(exc, LoginThrottled):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, NotAuthenticated):
        return {"WWW-Authenticate": 'Cookie realm="mcpbox admin"'}
    return {}


def json_error(code: str, message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def api_error_response(exc: MCPBoxError) -> Response:
    error = http_error(exc)
    return json_error(error.code, public_message(exc, error), error.status, error_headers(exc))
