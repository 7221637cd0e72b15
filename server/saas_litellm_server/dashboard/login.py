"""Signing in and out. With an admin key, the sign-in page takes it or an operator's key in a
form (never in a URL) and answers a session cookie (the operator's session has its role); wrong
keys count towards the address's lockout like the admin API's, and a locked-out address is
refused even the right key (a guess must not tell). Signing out ends the session on every
process. In local-dev mode there is nothing to sign in to: the pages are open."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import RateLimited
from ..routes._http import client_address, runtime
from ..services import lockout, operators
from ..services.auth import is_admin_key
from ._context import Ctx, Dashboard
from ._cookies import delete_cookie, set_cookie
from ._forms import Form, read_form
from ._http import PREFIX, same_origin

__all__ = ["login", "login_form", "logout"]

_WRONG = "That is not the admin key of this server, nor an operator's key."


async def login_form(dashboard: Dashboard, request: Request) -> Response:
    if dashboard.settings.dev_mode:
        return RedirectResponse(PREFIX, 303)
    return dashboard.render(None, "login.html", error="")


async def login(dashboard: Dashboard, request: Request) -> Response:
    settings = dashboard.settings
    if settings.dev_mode:
        return RedirectResponse(PREFIX, 303)
    form = await read_form(request)
    key = form.get("admin_key") if form is not None else ""
    if form is None or not same_origin(request, settings):
        return dashboard.render(None, "login.html", 401, error=_WRONG)
    rt, address = runtime(request), client_address(request)
    try:
        await lockout.check(rt, address)  # the right key too: a guess must not tell
    except RateLimited as exc:
        refused = dashboard.render(None, "login.html", 429, error=exc.message)
        refused.headers.update(exc.headers)
        return refused
    operator_id = None
    if not is_admin_key(settings, key):
        operator = await operators.operator_for_key(rt.db, key)
        if operator is None:
            await lockout.failed(rt, address)
            return dashboard.render(None, "login.html", 401, error=_WRONG)
        operator_id = operator["operator_id"]
    _, cookie = await dashboard.sessions.issue(rt.db, rt.clock(), operator_id)
    response = RedirectResponse(PREFIX, 303)
    set_cookie(request, response, cookie, settings)
    return response


async def logout(ctx: Ctx, form: Form) -> Response:
    await ctx.dashboard.sessions.end(ctx.runtime.db, ctx.session, ctx.runtime.clock())
    response = RedirectResponse(f"{PREFIX}/login", 303)
    delete_cookie(ctx.request, response)
    return response
