"""The gate every admin page and API endpoint passes: session cookie, CSRF, Origin, errors.

Routes do not check anything themselves: ``admin_endpoint`` wraps each handler, so a route added
to the table is covered without anyone remembering to (the CSRF tests walk the route table to
prove it). For every request it loads the session from the cookie; for POST/PUT/PATCH/DELETE it
checks ``Origin`` (defence in depth) and the synchronizer token (form field or
``X-CSRF-Token``), before the handler runs. Errors become responses through ``web/errors.py``.

Cookies: HttpOnly, SameSite=Strict, Path=/; ``Secure`` and the ``__Host-`` prefix when the
request came over HTTPS or ``public_url`` is https. Only the name matching the current scheme
is read, so a cookie planted without ``Secure`` cannot stand in for a secure one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mcpbox.auth import admin_store, csrf, sessions
from mcpbox.auth.errors import CsrfRejected, NotAuthenticated
from mcpbox.auth.policy import AuthPolicy
from mcpbox.auth.sessions import SessionView
from mcpbox.crypto.hashing import new_token
from mcpbox.errors import MCPBoxError
from mcpbox.state import AppState, get_state
from mcpbox.web.errors import api_error_response, error_headers, http_error, public_message
from mcpbox.web.forms import read_form
from mcpbox.web.templating import render_template

logger = logging.getLogger(__name__)

SESSION_COOKIE = "mcpbox_session"
PRESESSION_COOKIE = "mcpbox_presession"
SECURE_PREFIX = "__Host-"
LOGIN_PATH = "/admin/login"
SETUP_PATH = "/admin/setup"
HOME_PATH = "/admin/"


class Access(StrEnum):
    PUBLIC = "public"  # login, setup: CSRF against a pre-session cookie
    SIGNED_IN = "signed_in"


class Surface(StrEnum):
    HTML = "html"
    API = "api"


@dataclass(frozen=True)
class AdminSite:
    """What the admin edge needs besides the app state; built once in ``routes``."""

    policy: AuthPolicy
    templates: Environment
    stream_seconds: float = 300.0
    stream_poll_seconds: float = 1.0


@dataclass
class AdminRequest:
    """One request as a handler sees it: already authenticated and CSRF-checked."""

    request: Request
    state: AppState
    site: AdminSite
    session: SessionView | None
    csrf_token: str
    form: Mapping[str, str] = field(default_factory=dict)
    session_token: str | None = None

    @property
    def admin_name(self) -> str:
        if self.session is None:
            raise NotAuthenticated()
        return self.session.admin_name

    @property
    def client_address(self) -> str:
        return self.request.client.host if self.request.client is not None else ""

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        page = render_template(
            self.site.templates,
            template,
            {
                "admin": self.session.admin_name if self.session is not None else None,
                "csrf_token": self.csrf_token,
                "path": self.request.url.path,
                **context,
            },
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


Handler = Callable[[AdminRequest], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def is_secure(request: Request, state: AppState) -> bool:
    return request.url.scheme == "https" or state.config.public_url.lower().startswith("https://")


def cookie_name(base: str, secure: bool) -> str:
    return SECURE_PREFIX + base if secure else base


def set_cookie(response: Response, request: Request, state: AppState, base: str, value: str) -> None:
    secure = is_secure(request, state)
    response.set_cookie(
        cookie_name(base, secure), value, path="/", httponly=True, samesite="strict", secure=secure
    )


def clear_cookie(response: Response, request: Request, state: AppState, base: str) -> None:
    secure = is_secure(request, state)
    response.delete_cookie(
        cookie_name(base, secure), path="/", httponly=True, samesite="strict", secure=secure
    )


def safe_next(target: str | None) -> str:
    """Only same-site admin paths may be a post-login destination (no open redirect)."""
    if not target or not target.startswith("/admin/") or target.startswith("//") or "\\" in target:
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return HOME_PATH
    return target


def origin_allowed(request: Request, state: AppState) -> bool:
    """Defence in depth beside the token: a browser's cross-site write says so in its headers."""
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin is None:
        return (fetch_site or "same-origin") in ("same-origin", "none")
    if origin == "null":
        # An opaque origin (privacy settings, a sandboxed frame): only the browser's own
        # Sec-Fetch-Site, which page script cannot set, can vouch that it is our page.
        return fetch_site == "same-origin"
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    allowed = {own}
    if state.config.public_url:
        parts = urlsplit(state.config.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin.lower() in allowed


def admin_endpoint(handler: Handler, site: AdminSite, *, access: Access, surface: Surface) -> Endpoint:
    """Wrap ``handler`` in the session, CSRF and error handling every admin route shares."""

    async def endpoint(request: Request) -> Response:
        state = get_state(request)
        new_presession: str | None = None
        try:
            secure = is_secure(request, state)
            token = request.cookies.get(cookie_name(SESSION_COOKIE, secure))
            session = await sessions.load_session(state.database, token, site.policy) if token else None
            if session is None and access is Access.SIGNED_IN:
                if surface is Surface.API:
                    raise NotAuthenticated()
                return await _to_sign_in(request, state)
            if session is not None:
                assert token is not None
                csrf_key: str | None = token
            else:
                csrf_key = request.cookies.get(cookie_name(PRESESSION_COOKIE, secure))
                if csrf_key is None and request.method not in csrf.UNSAFE_METHODS:
                    csrf_key = new_presession = new_token()
            form: Mapping[str, str] = {}
            if request.method in csrf.UNSAFE_METHODS:
                if surface is Surface.HTML:
                    form = await read_form(request)
                supplied = request.headers.get(csrf.HEADER) or form.get(csrf.FORM_FIELD)
                if not origin_allowed(request, state):
                    raise CsrfRejected("cross-origin request refused")
                if not csrf.csrf_matches(csrf_key, supplied):
                    raise CsrfRejected()
            context = AdminRequest(
                request=request,
                state=state,
                site=site,
                session=session,
                csrf_token=csrf.csrf_token(csrf_key) if csrf_key else "",
                form=form,
                session_token=token if session is not None else None,
            )
            response = await handler(context)
        except MCPBoxError as exc:
            response = _error(request, state, site, exc, surface)
        if new_presession is not None:
            set_cookie(response, request, state, PRESESSION_COOKIE, new_presession)
        return response

    endpoint.__name__ = getattr(handler, "__name__", "admin_endpoint")
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _to_sign_in(request: Request, state: AppState) -> Response:
    if not await admin_store.admin_exists(state.database):
        return RedirectResponse(SETUP_PATH, status_code=303)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(safe_next(target), safe='/')}", status_code=303)


def _error(
    request: Request, state: AppState, site: AdminSite, exc: MCPBoxError, surface: Surface
) -> Response:
    if surface is Surface.API:
        return api_error_response(exc)
    error = http_error(exc)
    page = render_template(
        site.templates,
        "error.html",
        {
            "admin": None,
            "csrf_token": "",
            "path": request.url.path,
            "status": error.status,
            "code": error.code,
            "message": public_message(exc, error),
        },
    )
    headers = {"Cache-Control": "no-store", **error_headers(exc)}
    return HTMLResponse(page, status_code=error.status, headers=headers)
