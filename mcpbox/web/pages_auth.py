"""First-run setup, sign-in and sign-out pages.

Setup is reachable only while no admin exists and needs the one-time token from the URL that
``mcpbox serve`` printed; afterwards it redirects to the login page. A successful setup or login
sets a brand-new session cookie (303 to the destination, so a reload does not resubmit the
form); a failed one re-renders the form with the error and without the password.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from mcpbox.auth import admin_store
from mcpbox.auth.errors import BadCredentials, LoginThrottled
from mcpbox.auth.login import Client, complete_setup, sign_in, sign_out
from mcpbox.errors import Conflict, InvalidInput, PermissionDenied
from mcpbox.web.errors import error_headers, http_error
from mcpbox.web.guard import (
    HOME_PATH,
    LOGIN_PATH,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    AdminRequest,
    clear_cookie,
    safe_next,
    set_cookie,
)

SETUP_TOKEN_MAX = 200


def _client(ctx: AdminRequest) -> Client:
    return Client(address=ctx.client_address, user_agent=ctx.request.headers.get("user-agent", ""))


def _signed_in_redirect(ctx: AdminRequest, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, ctx.request, ctx.state, SESSION_COOKIE, token)
    clear_cookie(response, ctx.request, ctx.state, PRESESSION_COOKIE)
    return response


async def setup_form(ctx: AdminRequest) -> Response:
    """First-run: create the admin account (needs the token printed by ``mcpbox serve``)."""
    if await admin_store.admin_exists(ctx.state.database):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    token = ctx.request.query_params.get("token", "")[:SETUP_TOKEN_MAX]
    return ctx.render("setup.html", setup_token=token, name="", error=None)


async def setup_submit(ctx: AdminRequest) -> Response:
    if await admin_store.admin_exists(ctx.state.database):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    token = ctx.form.get("setup_token", "")[:SETUP_TOKEN_MAX]
    name = ctx.form.get("name", "").strip()
    try:
        signed_in = await complete_setup(
            ctx.state.database,
            ctx.site.policy,
            ctx.state.observe,
            setup_token=token,
            name=name,
            password=ctx.form.get("password", ""),
            password_again=ctx.form.get("password_again", ""),
            client=_client(ctx),
        )
    except (InvalidInput, PermissionDenied, Conflict) as exc:
        status = http_error(exc).status
        return ctx.render("setup.html", status=status, setup_token=token, name=name, error=exc.public_message)
    return _signed_in_redirect(ctx, signed_in.session_token, HOME_PATH)


async def login_form(ctx: AdminRequest) -> Response:
    """Sign in; already signed-in browsers go straight on."""
    target = safe_next(ctx.request.query_params.get("next"))
    if ctx.session is not None:
        return RedirectResponse(target, status_code=303)
    if not await admin_store.admin_exists(ctx.state.database):
        return ctx.render("setup.html", setup_token="", name="", error=None)
    return ctx.render("login.html", name="", next=target, error=None)


async def login_submit(ctx: AdminRequest) -> Response:
    name = ctx.form.get("name", "").strip()
    target = safe_next(ctx.form.get("next"))
    try:
        signed_in = await sign_in(
            ctx.state.database,
            ctx.site.policy,
            ctx.state.observe,
            name=name,
            password=ctx.form.get("password", ""),
            client=_client(ctx),
        )
    except (BadCredentials, LoginThrottled) as exc:
        response = ctx.render(
            "login.html", status=http_error(exc).status, name=name[:64], next=target, error=exc.public_message
        )
        response.headers.update(error_headers(exc))
        return response
    return _signed_in_redirect(ctx, signed_in.session_token, target)


async def logout(ctx: AdminRequest) -> Response:
    """Revoke the session server-side, then drop the cookie."""
    if ctx.session is not None and ctx.session_token is not None:
        await sign_out(
            ctx.state.database, ctx.state.observe, session_token=ctx.session_token, admin_name=ctx.admin_name
        )
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_cookie(response, ctx.request, ctx.state, SESSION_COOKIE)
    return response
