"""CSRF synchronizer tokens, bound to the cookie they protect.

A signed-in page carries ``csrf_token(session_token)``: an HMAC keyed with the session token,
so it is tied to exactly one session, changes at every login, dies with the session, and cannot
be computed from the database (which holds only a digest of the session token). Before sign-in
(the login and setup forms) the same construction is keyed with a random pre-session cookie;
that defeats login CSRF, where a foreign site signs the victim into the attacker's account.

The web edge checks the token on every POST/PUT/PATCH/DELETE, in a form field or the
``X-CSRF-Token`` header, and checks ``Origin`` as a second, independent line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from mcpbox.crypto.hashing import constant_time_equals

_PURPOSE = b"mcpbox admin csrf v1"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(cookie_value: str) -> str:
    """The token forms must echo back while ``cookie_value`` is the browser's cookie."""
    mac = hmac.new(cookie_value.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_matches(cookie_value: str | None, supplied: str | None) -> bool:
    """Whether ``supplied`` is the token for ``cookie_value``; False if either is missing."""
    if not cookie_value or not supplied or len(supplied) > 100:
        return False
    return constant_time_equals(csrf_token(cookie_value), supplied)
