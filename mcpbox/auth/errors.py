"""Authentication errors, refined from ``mcpbox.errors.PermissionDenied``.

They stay inside the shared tree (``web/errors.py`` maps them by class, most specific first);
they exist so the web edge can give each its own status and stable code: 401 for "sign in",
403 for a CSRF failure, 429 with ``Retry-After`` for a throttled login.
"""

from __future__ import annotations

from mcpbox.errors import PermissionDenied


class NotAuthenticated(PermissionDenied):
    default_message = "sign in to continue"


class BadCredentials(PermissionDenied):
    # One message for a wrong name and a wrong password: it must not say which was wrong.
    default_message = "the name or password is wrong"


class CsrfRejected(PermissionDenied):
    default_message = "the form expired or did not come from this site; reload the page and try again"


class LoginThrottled(PermissionDenied):
    default_message = "too many failed sign-in attempts; try again later"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(f"too many failed sign-in attempts; try again in about {minutes} min")
        self.retry_after = retry_after
