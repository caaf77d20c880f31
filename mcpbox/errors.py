"""The mcpbox exception tree. Every error mcpbox raises on purpose derives from MCPBoxError.

Each edge maps these once: ``gateway/errors.py`` to JSON-RPC errors, ``web/errors.py`` to HTTP
responses, ``cli.py`` to exit codes. ``public_message`` is what may reach a client: it never holds
paths, SQL or stack frames. Third-party exceptions are translated where they enter, with
``raise ... from exc``.

    MCPBoxError
    ├── ConfigError              bad setting, unreadable config file        (startup: exit 3)
    ├── StartupError             port taken, data dir unusable, ...        (startup: exit 3)
    ├── StorageError             database failure                          (HTTP 500, internal)
    │   └── MigrationError
    ├── CryptoError              key file missing/wrong, ciphertext forged  (fails closed)
    ├── NotFound                 get_* found nothing                       (404 / -32602)
    │   └── NotCallable          a known tool that cannot be called now; the message says why
    ├── Conflict                 lost race, duplicate name, wrong state     (409)
    ├── InvalidInput             validation failed at the edge             (400 / -32602)
    ├── PermissionDenied         caller may not do this                     (403)
    ├── Busy                     pool or queue saturated                    (503)
    └── SandboxError             the sandbox could not run a call           (tool error)
        ├── PolicyViolation      the code broke a policy rule
        ├── LimitExceeded        time, memory, output or request limits
        └── IsolationUnavailable a required OS isolation layer is missing
"""

from __future__ import annotations


class MCPBoxError(Exception):
    """Base of every deliberate mcpbox error.

    ``public_message`` is safe to show to an MCP client or a browser; ``str(exc)`` may carry more
    detail for the server log only.
    """

    default_message = "internal error"

    def __init__(self, message: str | None = None, *, public_message: str | None = None) -> None:
        text = message if message is not None else self.default_message
        super().__init__(text)
        self.public_message = public_message if public_message is not None else text


class ConfigError(MCPBoxError):
    default_message = "invalid configuration"


class StartupError(MCPBoxError):
    default_message = "mcpbox could not start"


class StorageError(MCPBoxError):
    default_message = "storage error"

    def __init__(self, message: str | None = None) -> None:
        # Storage details (SQL, paths) never reach a client.
        super().__init__(message, public_message="internal storage error")


class MigrationError(StorageError):
    default_message = "database migration failed"


class CryptoError(MCPBoxError):
    default_message = "encryption key unavailable or ciphertext invalid"


class NotFound(MCPBoxError):
    default_message = "not found"


class NotCallable(NotFound):
    """A tool that exists but is not callable now (pending review, disabled, server stopped).

    Its message is written for the model and always safe to show: the gateway adds it to the
    "Unknown tool" error so the model learns what to do next.
    """

    default_message = "the tool cannot be called now"


class Conflict(MCPBoxError):
    default_message = "conflict"


class InvalidInput(MCPBoxError):
    default_message = "invalid input"


class PermissionDenied(MCPBoxError):
    default_message = "permission denied"


class Busy(MCPBoxError):
    default_message = "mcpbox is busy; try again shortly"


class SandboxError(MCPBoxError):
    default_message = "the sandbox could not run this call"


class PolicyViolation(SandboxError):
    default_message = "the code broke a sandbox policy rule"


class LimitExceeded(SandboxError):
    default_message = "the call exceeded a resource limit"


class IsolationUnavailable(SandboxError):
    default_message = "a required sandbox isolation layer is unavailable"
