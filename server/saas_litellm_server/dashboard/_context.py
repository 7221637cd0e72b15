"""How a page becomes an endpoint. A page (``GET``) or an action (a form's ``POST``) is an
async function of a :class:`Ctx`; :class:`Dashboard` wraps it: no session, the sign-in page;
a session whose role is less than the page's or action's (``role=``), the 403 error page; an
action's form must pass the Origin and CSRF checks, and with a question to confirm it is
first answered by a page that asks; an :class:`APIError` or a validation error becomes the
dashboard's error page. Templates get ``can(role)``: whether this session may do what needs
``role`` (they show only the forms it may use). One :class:`Dashboard` per app holds its
sessions and templates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from saas_litellm_models import OperatorRole, role_allows

from .._runtime import Runtime
from .._settings import Settings
from ..errors import APIError
from ..routes._http import runtime
from ..services.audit import Operator
from ..store import Database, DatabaseUnavailable
from ._cookies import set_cookie
from ._forms import Form, problems, read_form
from ._http import PREFIX, same_origin
from ._templates import DONE, environment
from .session import COOKIE, Session, Sessions

__all__ = ["LIST_LIMIT", "Action", "Ctx", "Dashboard", "Endpoint", "Page", "not_found"]

LIST_LIMIT = 500
"""The most rows a page lists at once where it does not page (a select of groups, say)."""


@dataclass(frozen=True)
class Ctx:
    """One dashboard request: its runtime, its session and the app's :class:`Dashboard`; ``db``
    is where it reads: a page the replica (``runtime.read_db``, may lag a little), an action
    and the page it redirects to (``done=``) the primary, so the operator sees their change."""

    request: Request
    runtime: Runtime
    session: Session
    dashboard: Dashboard
    db: Database

    @property
    def settings(self) -> Settings:
        return self.dashboard.settings

    @property
    def operator(self) -> Operator:
        return Operator(self.session.actor, self.runtime.clock())

    def param(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return self.dashboard.render(self, template, status, **values)

    def can(self, role: OperatorRole) -> bool:
        """Whether this session may do what needs ``role``."""
        return role_allows(self.session.role, role)

    def error(self, message: str, status: int) -> HTMLResponse:
        return self.dashboard.error(self, message, status)


Page = Callable[[Ctx], Awaitable[Response]]
Action = Callable[[Ctx, Form], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Dashboard:
    """The dashboard's templates and sessions, for one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions(settings)
        self.env = environment()

    async def _session(self, request: Request) -> tuple[Session | None, str | None]:
        """The request's session, read from the primary (a sign-out must not lag); in local-dev
        mode one is made (and its cookie to set)."""
        rt = runtime(request)
        now = rt.clock()
        session = await self.sessions.read(rt.db, request.cookies.get(COOKIE), now)
        if session is None and self.settings.dev_mode:
            session, cookie = await self.sessions.issue(rt.db, now)
            return session, cookie
        return session, None

    def render(
        self, ctx: Ctx | None, template: str, status: int = 200, **values: Any
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            csrf=ctx.session.csrf if ctx else "",
            signed_in=ctx is not None and not self.settings.dev_mode,
            dev_mode=self.settings.dev_mode,
            path=ctx.request.url.path if ctx else "",
            done=DONE.get(ctx.param("done"), "") if ctx else "",
            can=ctx.can if ctx else (lambda role: False),
            role=ctx.session.role if ctx else "",
            **values,
        )
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def _login_redirect(self) -> Response:
        return RedirectResponse(f"{PREFIX}/login", 303, headers={"Cache-Control": "no-store"})

    def _refused(self, ctx: Ctx, role: OperatorRole) -> HTMLResponse:
        return self.error(
            ctx,
            f"This needs the {role!r} role (or higher); you are signed in as "
            f"{ctx.session.role!r}. Nothing was changed.",
            403,
        )

    def page(self, handler: Page, *, role: OperatorRole = "viewer") -> Endpoint:
        """A page for sessions of ``role`` or higher (every role may read, but the operators'
        page is an owner's)."""

        async def endpoint(request: Request) -> Response:
            session, cookie = await self._session(request)
            if session is None:
                return self._login_redirect()
            rt = runtime(request)
            # the page an action redirects to (``done=``) shows that change: the primary
            db = rt.db if request.query_params.get("done") else rt.reads()
            ctx = Ctx(request, rt, session, self, db)
            if not ctx.can(role):
                return self._refused(ctx, role)
            try:
                try:
                    response = await handler(ctx)
                except DatabaseUnavailable:
                    if not rt.replica_failed(db):
                        raise
                    # the replica is away: the same page from the primary
                    response = await handler(Ctx(request, rt, session, self, rt.db))
            except APIError as exc:
                response = self.error(ctx, exc.message, exc.status_code)
            except ValidationError as exc:
                response = self.error(ctx, problems(exc), 400)
            if cookie is not None:
                set_cookie(request, response, cookie, self.settings)
            return response

        return endpoint

    def action(
        self, handler: Action, *, role: OperatorRole, confirm: str | None = None
    ) -> Endpoint:
        """A form's change, for sessions of ``role`` or higher (others get the 403 page and
        nothing changes). With ``confirm`` (a question), the change happens only once it was
        confirmed: with JavaScript the button asks and the form says ``confirmed=yes``;
        without, the first post answers a page that asks, whose button posts the same form
        again, confirmed."""

        async def endpoint(request: Request) -> Response:
            session, _ = await self._session(request)
            if session is None:
                return self._login_redirect()
            rt = runtime(request)
            ctx = Ctx(request, rt, session, self, rt.db)
            form = await read_form(request)
            if (
                form is None
                or not same_origin(request, self.settings)
                or not self.sessions.check_csrf(session, form.get("csrf") or None)
            ):
                return self.error(
                    ctx,
                    "This form is out of date or did not come from this dashboard (CSRF check "
                    "failed); nothing was changed. Reload the page and try again.",
                    403,
                )
            if not ctx.can(role):
                return self._refused(ctx, role)
            if confirm is not None and form.get("confirmed") != "yes":
                fields = [
                    (name, value)
                    for name, values in form.fields.items()
                    if name not in ("csrf", "confirmed")
                    for value in values
                ]
                return self.render(
                    ctx,
                    "confirm.html",
                    question=confirm,
                    action=request.url.path,
                    fields=fields,
                    back=self._back_to(ctx),
                )
            try:
                response = await handler(ctx, form)
            except APIError as exc:
                return self.error(ctx, exc.message, exc.status_code)
            except ValidationError as exc:
                return self.error(ctx, problems(exc), 400)
            ctx.runtime.forget_catalog()  # this process sees the change at once
            return response

        return endpoint

    def _back_to(self, ctx: Ctx) -> str:
        """The dashboard page the request came from (the overview if none)."""
        back = ctx.request.headers.get("referer", "")
        return back if back.startswith(str(ctx.request.base_url).rstrip("/") + PREFIX) else PREFIX

    def error(self, ctx: Ctx, message: str, status: int) -> HTMLResponse:
        return self.render(ctx, "error.html", status, message=message, back=self._back_to(ctx))


async def not_found(ctx: Ctx) -> Response:
    """Any other ``/admin/…`` address: the dashboard's own 404 page."""
    return ctx.error(f"There is no dashboard page at {ctx.request.url.path[:200]}.", 404)
