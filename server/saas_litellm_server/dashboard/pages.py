"""The dashboard's pages: each one reads or changes state through the same services as the admin
API (an :class:`Operator` named ``dashboard:<session>`` for changes, so the audit log tells them
apart), renders a Jinja2 template (autoescaped) and never runs SQL itself.

Reads are ``GET``; every change is a ``POST`` of an HTML form carrying the session's CSRF token,
answered by a redirect back (or, for a new key, by a page that shows it once).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saas_litellm_models import (
    DELIVERY_ID_PATTERN,
    WEBHOOK_ID_PATTERN,
    AuditLogQuery,
    CreditsAddRequest,
    CreditTransactionListQuery,
    Deployment,
    JobSearchQuery,
    KeyCreateRequest,
    KeyRotateRequest,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupUpdateRequest,
    ModelAliasCreateRequest,
    ModelAliasListQuery,
    ModelAliasUpdateRequest,
    OrganizationCreateRequest,
    PageQuery,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamListQuery,
    TeamUpdateRequest,
    WebhookDeliveryListQuery,
)

from .._loopback import host_name, host_port, is_loopback
from .._runtime import Runtime
from .._settings import Settings
from ..errors import APIError, InvalidRequest, NotFound, RateLimited
from ..routes._http import client_address
from ..services import audit, catalog, keys, ledger, lockout, stats, teams, webhooks
from ..services import jobs as job_service
from ..services.audit import Operator
from ..services.auth import is_admin_key
from . import charts
from .session import COOKIE, Session, Sessions

__all__ = ["SECURITY_HEADERS", "dashboard_routes"]

_HERE = Path(__file__).resolve().parent
PREFIX = "/admin"
_MAX_FORM_BYTES = 64 * 1024
_LIST_LIMIT = 500
_PAGE = 25
_LEDGER_ROWS = 10
"""The latest credit transactions a team page shows (the API lists them all)."""

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on a form
    # post, and the Origin check below would refuse every form
    "referrer-policy": "same-origin",
}

_DONE = {
    "organization": "Organization created.",
    "group": "Access group created.",
    "group-updated": "Access group updated.",
    "alias": "Model alias created.",
    "alias-updated": "Model alias updated.",
    "credits": "Credits added.",
    "limits": "Limits saved.",
    "suspended": "Team suspended: its keys get 403 on new jobs and calls.",
    "resumed": "Team resumed.",
    "revoked": "Key revoked.",
    "updated": "Team settings saved.",
    "team-removed": "Team removed; its history stays in the usage figures and the audit log.",
    "organization-removed": "Organization removed.",
    "alias-removed": "Model alias removed.",
    "group-removed": "Access group removed.",
    "redelivered": "Delivery queued: it is sent again, with the same webhook-id, in a moment.",
    "webhook-removed": "Webhook removed: nothing more is sent to it.",
}


class _SecurityHeaders:
    """Adds the dashboard's security headers to every response under ``/admin``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.headers}
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message["headers"] = [*kept, *self.headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:  # no such page or file: a plain page, not the API's JSON
            response = HTMLResponse(_PLAIN_PAGE.format(exc.status_code), exc.status_code)
            await response(scope, receive, send_with_headers)


_PLAIN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{0}</title></head>'
    '<body><p>{0}: no such page. <a href="/admin">Dashboard</a></p></body></html>'
)


class Form:
    """A submitted ``application/x-www-form-urlencoded`` form."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else ""

    def optional(self, name: str) -> str | None:
        return self.get(name) or None

    def integer(self, name: str) -> int | None:
        """A whole-number field (``None``: left empty)."""
        text = self.get(name)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise InvalidRequest(f"{name}: {text[:40]!r} is not a whole number") from None

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


@dataclass(frozen=True)
class Ctx:
    """One dashboard request: its runtime and session."""

    request: Request
    runtime: Runtime
    session: Session

    @property
    def operator(self) -> Operator:
        return Operator(f"dashboard:{self.session.short_id}", self.runtime.clock())

    def param(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()


Page = Callable[[Ctx], Awaitable[Response]]
Action = Callable[[Ctx, Form], Awaitable[Response]]


def _money(value: float) -> str:
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class Dashboard:
    """The dashboard's routes, templates and sessions, for one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions(settings)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,  # every value is escaped unless a chart hands over Markup
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            money=_money, number=_number, percent=_percent, when=_when, ident=_breakable
        )
        self.env.globals.update(bar_chart=charts.bar_chart, money=_money, number=_number)

    # -- plumbing -------------------------------------------------------------------------------

    def _runtime(self, request: Request) -> Runtime:
        rt: Runtime = request.app.state.runtime
        return rt

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https"

    def _set_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.settings.dashboard_session_hours * 3600),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )

    def _session(self, request: Request) -> tuple[Session | None, str | None]:
        """The request's session; in local-dev mode one is made (and its cookie to set)."""
        now = self._runtime(request).clock()
        session = self.sessions.read(request.cookies.get(COOKIE), now)
        if session is None and self.settings.dev_mode:
            session, cookie = self.sessions.issue(now)
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
            done=_DONE.get(ctx.param("done"), "") if ctx else "",
            **values,
        )
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def _login_redirect(self) -> Response:
        return RedirectResponse(f"{PREFIX}/login", 303, headers={"Cache-Control": "no-store"})

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session, cookie = self._session(request)
            if session is None:
                return self._login_redirect()
            ctx = Ctx(request, self._runtime(request), session)
            try:
                response = await handler(ctx)
            except APIError as exc:
                response = self._error(ctx, exc.message, exc.status_code)
            except ValidationError as exc:
                response = self._error(ctx, _problems(exc), 400)
            if cookie is not None:
                self._set_cookie(request, response, cookie)
            return response

        return endpoint

    def action(
        self, handler: Action, *, confirm: str | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        """A form's change. With ``confirm`` (a question), the change happens only once it was
        confirmed: with JavaScript the button asks and the form says ``confirmed=yes``;
        without, the first post answers a page that asks, whose button posts the same form
        again, confirmed."""

        async def endpoint(request: Request) -> Response:
            session, _ = self._session(request)
            if session is None:
                return self._login_redirect()
            ctx = Ctx(request, self._runtime(request), session)
            form = await _read_form(request)
            if (
                form is None
                or not _same_origin(request, self.settings)
                or not self.sessions.check_csrf(session, form.get("csrf") or None)
            ):
                return self._error(
                    ctx,
                    "This form is out of date or did not come from this dashboard (CSRF check "
                    "failed); nothing was changed. Reload the page and try again.",
                    403,
                )
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
                return self._error(ctx, exc.message, exc.status_code)
            except ValidationError as exc:
                return self._error(ctx, _problems(exc), 400)
            ctx.runtime.forget_catalog()  # this process sees the change at once
            return response

        return endpoint

    def _back_to(self, ctx: Ctx) -> str:
        """The dashboard page the request came from (the overview if none)."""
        back = ctx.request.headers.get("referer", "")
        return back if back.startswith(str(ctx.request.base_url).rstrip("/") + PREFIX) else PREFIX

    def _error(self, ctx: Ctx, message: str, status: int) -> HTMLResponse:
        return self.render(ctx, "error.html", status, message=message, back=self._back_to(ctx))

    async def not_found(self, ctx: Ctx) -> Response:
        """Any other ``/admin/…`` address: the dashboard's own 404 page."""
        return self._error(ctx, f"There is no dashboard page at {ctx.request.url.path[:200]}.", 404)

    # -- sign in and out ------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if self.settings.dev_mode:
            return RedirectResponse(PREFIX, 303)
        return self.render(None, "login.html", error="")

    async def login(self, request: Request) -> Response:
        if self.settings.dev_mode:
            return RedirectResponse(PREFIX, 303)
        form = await _read_form(request)
        key = form.get("admin_key") if form is not None else ""
        if form is None or not _same_origin(request, self.settings):
            return self.render(
                None, "login.html", 401, error="That is not the admin key of this server."
            )
        runtime, address = self._runtime(request), client_address(request)
        try:
            await lockout.check(runtime, address)  # the right key too: a guess must not tell
        except RateLimited as exc:
            refused = self.render(None, "login.html", 429, error=exc.message)
            refused.headers.update(exc.headers)
            return refused
        if not is_admin_key(self.settings, key):
            await lockout.failed(runtime, address)
            return self.render(
                None, "login.html", 401, error="That is not the admin key of this server."
            )
        _, cookie = self.sessions.issue(self._runtime(request).clock())
        response = RedirectResponse(PREFIX, 303)
        self._set_cookie(request, response, cookie)
        return response

    async def logout(self, ctx: Ctx, form: Form) -> Response:
        self.sessions.end(ctx.session, ctx.runtime.clock())
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(
            COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=self._secure(ctx.request)
        )
        return response

    # -- overview -------------------------------------------------------------------------------

    async def overview(self, ctx: Ctx) -> Response:
        figures = await stats.overview(ctx.runtime.db, ctx.runtime.clock())
        return self.render(
            ctx,
            "overview.html",
            o=figures,
            calls_per_day=[(d.label[5:], d.calls) for d in figures.days],  # MM-DD
            spend_per_day=[(d.label[5:], d.cost_usd) for d in figures.days],
            spend_by_model=[(m.label, m.cost_usd) for m in figures.by_model],
        )

    # -- organizations --------------------------------------------------------------------------

    async def organizations(self, ctx: Ctx) -> Response:
        listing = await catalog.list_organizations(
            ctx.runtime.db, PageQuery(limit=50, cursor=ctx.param("cursor") or None)
        )
        return self.render(ctx, "organizations.html", listing=listing)

    async def create_organization(self, ctx: Ctx, form: Form) -> Response:
        body = OrganizationCreateRequest(
            organization_id=form.get("organization_id"),
            name=form.get("name") or form.get("organization_id"),
        )
        org = await catalog.create_organization(ctx.runtime.db, body, ctx.operator)
        return _back(f"{PREFIX}/organizations/{_q(org.organization_id)}", "organization")

    async def organization(self, ctx: Ctx) -> Response:
        db = ctx.runtime.db
        org_id = ctx.request.path_params["organization_id"]
        org = await catalog.get_organization(db, org_id)
        team_list = await teams.list_teams(
            db, TeamListQuery(organization_id=org_id, limit=_LIST_LIMIT)
        )
        usage = await teams.get_organization_usage(db, org_id, since=None, until=None)
        return self.render(ctx, "organization.html", org=org, teams=team_list, usage=usage)

    # -- teams ----------------------------------------------------------------------------------

    async def team_list(self, ctx: Ctx) -> Response:
        db = ctx.runtime.db
        filters = {
            name: ctx.param(name)
            for name in ("organization_id", "status", "access_group", "cursor")
            if ctx.param(name)
        }
        query = TeamListQuery.model_validate({**filters, "limit": 50})
        listing = await teams.list_teams(db, query)
        orgs = await catalog.list_organizations(db, PageQuery(limit=_LIST_LIMIT))
        groups = await catalog.list_groups(db, PageQuery(limit=_LIST_LIMIT))
        next_url = None
        if listing.next_cursor:
            next_url = _url(f"{PREFIX}/teams", {**filters, "cursor": listing.next_cursor})
        return self.render(
            ctx,
            "teams.html",
            listing=listing,
            filters=filters,
            organizations=orgs.organizations,
            groups=groups.model_access_groups,
            next_url=next_url,
        )

    async def create_team(self, ctx: Ctx, form: Form) -> Response:
        body = TeamCreateRequest.model_validate(
            {
                "organization_id": form.get("organization_id"),
                "team_id": form.get("team_id"),
                "team_alias": form.optional("team_alias"),
                "access_groups": form.all("access_groups"),
                "credits_allocated": form.integer("credits_allocated") or 0,
                "default_model": form.optional("default_model"),
            }
        )
        created = await teams.create_team(
            ctx.runtime.db, body, ctx.operator, create_missing=self.settings.dev_mode
        )
        return self.render(
            ctx,
            "key_created.html",
            201,
            team_id=created.team_id,
            key=created.virtual_key,
            heading=f"Team {created.team_id} created",
        )

    async def team(self, ctx: Ctx) -> Response:
        """A team: balance, budget mode and auto-refill, keys, jobs, the ledger's latest
        transactions, usage."""
        db = ctx.runtime.db
        team_id = ctx.request.path_params["team_id"]
        team = await teams.get_team(db, team_id)
        filters = {
            name: ctx.param(name)
            for name in ("status", "job_type", "since", "until", "cursor")
            if ctx.param(name)
        }
        query = JobSearchQuery.model_validate(
            {
                **filters,
                **_day_range(filters.get("since"), filters.get("until")),
                "team_id": team_id,
                "limit": _PAGE,
            }
        )
        job_list = await job_service.search_jobs(db, query)
        next_url = None
        if job_list.next_cursor:
            next_url = _url(
                f"{PREFIX}/teams/{_q(team_id)}", {**filters, "cursor": job_list.next_cursor}
            )
        usage = await teams.get_usage(db, team_id, since=None, until=None)
        by_model = await stats.usage_by_model(db, since=None, team_id=team_id)
        key_list = await keys.list_keys(db, team_id)
        groups = await catalog.list_groups(db, PageQuery(limit=_LIST_LIMIT))
        transactions = await ledger.list_transactions(
            db, team_id, CreditTransactionListQuery(limit=_LEDGER_ROWS)
        )
        return self.render(
            ctx,
            "team.html",
            team=team,
            transactions=transactions.transactions,
            jobs=job_list.jobs,
            filters=filters,
            next_url=next_url,
            usage=usage.by_job_type,
            by_model=by_model,
            cost_by_type=[(u.job_type, u.cost_usd) for u in usage.by_job_type],
            cost_by_model=[(m.label, m.cost_usd) for m in by_model],
            keys=key_list.keys,
            groups=groups.model_access_groups,
            now=ctx.runtime.clock(),
        )

    def _team_id(self, ctx: Ctx) -> str:
        return str(ctx.request.path_params["team_id"])

    def _team_page(self, ctx: Ctx, done: str) -> Response:
        return _back(f"{PREFIX}/teams/{_q(self._team_id(ctx))}", done)

    async def update_team(self, ctx: Ctx, form: Form) -> Response:
        body = TeamUpdateRequest.model_validate(
            {
                "team_alias": form.optional("team_alias"),
                "access_groups": form.all("access_groups"),
                "default_model": form.optional("default_model"),
            }
        )
        await teams.update_team(ctx.runtime.db, self._team_id(ctx), body, ctx.operator)
        return self._team_page(ctx, "updated")

    async def remove_team(self, ctx: Ctx, form: Form) -> Response:
        await teams.delete_team(ctx.runtime.db, self._team_id(ctx), ctx.operator)
        return _back(f"{PREFIX}/teams", "team-removed")

    async def remove_organization(self, ctx: Ctx, form: Form) -> Response:
        org_id = str(ctx.request.path_params["organization_id"])
        await catalog.delete_organization(ctx.runtime.db, org_id, ctx.operator)
        return _back(f"{PREFIX}/organizations", "organization-removed")

    async def remove_group(self, ctx: Ctx, form: Form) -> Response:
        name = str(ctx.request.path_params["group_name"])
        await catalog.delete_group(ctx.runtime.db, name, ctx.operator)
        return _back(f"{PREFIX}/models", "group-removed")

    async def remove_alias(self, ctx: Ctx, form: Form) -> Response:
        name = str(ctx.request.path_params["model_alias"])
        await catalog.delete_alias(ctx.runtime.db, name, ctx.operator)
        return _back(f"{PREFIX}/models", "alias-removed")

    async def add_credits(self, ctx: Ctx, form: Form) -> Response:
        body = CreditsAddRequest.model_validate(
            {"credits": form.integer("credits") or 0, "reason": form.optional("reason")}
        )
        await teams.add_credits(ctx.runtime.db, self._team_id(ctx), body, ctx.operator)
        return self._team_page(ctx, "credits")

    async def set_limits(self, ctx: Ctx, form: Form) -> Response:
        body = TeamLimitsRequest.model_validate(
            {"rpm_limit": form.integer("rpm_limit"), "tpm_limit": form.integer("tpm_limit")}
        )
        await teams.set_limits(ctx.runtime.db, self._team_id(ctx), body, ctx.operator)
        return self._team_page(ctx, "limits")

    async def suspend(self, ctx: Ctx, form: Form) -> Response:
        await teams.set_status(ctx.runtime.db, self._team_id(ctx), "suspended", ctx.operator)
        return self._team_page(ctx, "suspended")

    async def resume(self, ctx: Ctx, form: Form) -> Response:
        await teams.set_status(ctx.runtime.db, self._team_id(ctx), "active", ctx.operator)
        return self._team_page(ctx, "resumed")

    async def create_key(self, ctx: Ctx, form: Form) -> Response:
        body = KeyCreateRequest.model_validate({"name": form.optional("name")})
        created = await keys.create_key(ctx.runtime.db, self._team_id(ctx), body, ctx.operator)
        return self.render(
            ctx,
            "key_created.html",
            201,
            team_id=created.team_id,
            key=created.virtual_key,
            heading=f"New key for {created.team_id}",
        )

    async def revoke_key(self, ctx: Ctx, form: Form) -> Response:
        key_id = str(ctx.request.path_params["key_id"])
        await keys.revoke_key(ctx.runtime.db, self._team_id(ctx), key_id, ctx.operator)
        return self._team_page(ctx, "revoked")

    async def rotate_keys(self, ctx: Ctx, form: Form) -> Response:
        body = KeyRotateRequest.model_validate({"grace_seconds": form.integer("grace_seconds")})
        rotation = await keys.rotate_keys(ctx.runtime.db, self._team_id(ctx), body, ctx.operator)
        return self.render(
            ctx,
            "key_created.html",
            201,
            team_id=rotation.team_id,
            key=rotation.virtual_key,
            heading=f"Keys of {rotation.team_id} rotated",
            previous_expire=rotation.previous_keys_expire_at,
        )

    # -- jobs -----------------------------------------------------------------------------------

    async def job(self, ctx: Ctx) -> Response:
        team_id = ctx.request.path_params["team_id"]
        detail = await stats.get_job(ctx.runtime.db, team_id, ctx.request.path_params["job_id"])
        return self.render(ctx, "job.html", job=detail, team_id=team_id)

    # -- model aliases and access groups --------------------------------------------------------

    async def models(self, ctx: Ctx) -> Response:
        db = ctx.runtime.db
        aliases = await catalog.list_aliases(db, ModelAliasListQuery(limit=_LIST_LIMIT))
        groups = await catalog.list_groups(db, PageQuery(limit=_LIST_LIMIT))
        return self.render(
            ctx,
            "models.html",
            aliases=aliases.model_aliases,
            groups=groups.model_access_groups,
            blank=[_BLANK_DEPLOYMENT] * 3,
        )

    async def create_group(self, ctx: Ctx, form: Form) -> Response:
        body = ModelAccessGroupCreateRequest(
            group_name=form.get("group_name"), description=form.optional("description")
        )
        await catalog.create_group(ctx.runtime.db, body, ctx.operator)
        return _back(f"{PREFIX}/models", "group")

    async def update_group(self, ctx: Ctx, form: Form) -> Response:
        body = ModelAccessGroupUpdateRequest.model_validate(
            {"description": form.optional("description")}
        )
        name = str(ctx.request.path_params["group_name"])
        await catalog.update_group(ctx.runtime.db, name, body, ctx.operator)
        return _back(f"{PREFIX}/models", "group-updated")

    async def create_alias(self, ctx: Ctx, form: Form) -> Response:
        body = ModelAliasCreateRequest.model_validate(
            {
                "model_alias": form.get("model_alias"),
                "access_groups": form.all("access_groups"),
                "deployments": _deployments(form),
            }
        )
        await catalog.create_alias(ctx.runtime.db, body, self.settings, ctx.operator)
        return _back(f"{PREFIX}/models", "alias")

    async def alias(self, ctx: Ctx) -> Response:
        db = ctx.runtime.db
        found = await catalog.get_alias(db, ctx.request.path_params["model_alias"])
        groups = await catalog.list_groups(db, PageQuery(limit=_LIST_LIMIT))
        rows = [d.model_dump() for d in found.deployments] + [_BLANK_DEPLOYMENT] * 2
        return self.render(
            ctx, "alias.html", alias=found, groups=groups.model_access_groups, rows=rows
        )

    async def update_alias(self, ctx: Ctx, form: Form) -> Response:
        name = str(ctx.request.path_params["model_alias"])
        body = ModelAliasUpdateRequest.model_validate(
            {"access_groups": form.all("access_groups"), "deployments": _deployments(form)}
        )
        await catalog.update_alias(ctx.runtime.db, name, body, self.settings, ctx.operator)
        return _back(f"{PREFIX}/models", "alias-updated")

    # -- audit log ------------------------------------------------------------------------------

    async def audit_log(self, ctx: Ctx) -> Response:
        filters = {
            name: ctx.param(name)
            for name in ("actor", "action", "target", "cursor")
            if ctx.param(name)
        }
        log = await audit.list_events(
            ctx.runtime.db, AuditLogQuery.model_validate({**filters, "limit": 50})
        )
        next_url = None
        if log.next_cursor:
            next_url = _url(f"{PREFIX}/audit", {**filters, "cursor": log.next_cursor})
        return self.render(ctx, "audit.html", events=log.events, filters=filters, next_url=next_url)

    # -- webhooks -------------------------------------------------------------------------------

    def _ids(self, ctx: Ctx, *names: str) -> list[str]:
        """Path ids that can name something (anything else, a NUL say, is a 404 here)."""
        patterns = {"webhook_id": WEBHOOK_ID_PATTERN, "delivery_id": DELIVERY_ID_PATTERN}
        values = [str(ctx.request.path_params[name]) for name in names]
        for name, value in zip(names, values, strict=True):
            if not re.fullmatch(patterns[name], value):
                raise NotFound(f"{name.removesuffix('_id')} {value[:64]!r} not found")
        return values

    async def webhook_list(self, ctx: Ctx) -> Response:
        query = PageQuery.model_validate({"limit": 100, "cursor": ctx.param("cursor") or None})
        listing = await webhooks.list_webhooks(ctx.runtime.db, query)
        return self.render(ctx, "webhooks.html", listing=listing)

    async def webhook(self, ctx: Ctx) -> Response:
        (webhook_id,) = self._ids(ctx, "webhook_id")
        filters = {name: ctx.param(name) for name in ("status", "cursor") if ctx.param(name)}
        query = WebhookDeliveryListQuery.model_validate({**filters, "limit": 50})
        hook = await webhooks.get_webhook(ctx.runtime.db, webhook_id)
        log = await webhooks.list_deliveries(ctx.runtime.db, webhook_id, query)
        next_url = None
        if log.next_cursor:
            next_url = _url(
                f"{PREFIX}/webhooks/{webhook_id}", {**filters, "cursor": log.next_cursor}
            )
        return self.render(
            ctx,
            "webhook.html",
            hook=hook,
            deliveries=log.deliveries,
            filters=filters,
            next_url=next_url,
        )

    async def retry_delivery(self, ctx: Ctx, form: Form) -> Response:
        webhook_id, delivery_id = self._ids(ctx, "webhook_id", "delivery_id")
        await webhooks.retry_delivery(ctx.runtime.db, webhook_id, delivery_id, ctx.operator)
        return _back(f"{PREFIX}/webhooks/{webhook_id}", "redelivered")

    async def remove_webhook(self, ctx: Ctx, form: Form) -> Response:
        (webhook_id,) = self._ids(ctx, "webhook_id")
        await webhooks.delete_webhook(ctx.runtime.db, webhook_id, ctx.operator)
        return _back(f"{PREFIX}/webhooks", "webhook-removed")

    # -- routing --------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        page, action = self.page, self.action
        inner: list[BaseRoute] = [
            Route("/", page(self.overview), methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", action(self.logout), methods=["POST"]),
            Route("/organizations", page(self.organizations), methods=["GET"]),
            Route("/organizations", action(self.create_organization), methods=["POST"]),
            Route("/organizations/{organization_id}", page(self.organization), methods=["GET"]),
            Route(
                "/organizations/{organization_id}/remove",
                action(self.remove_organization, confirm="Remove this organization?"),
                methods=["POST"],
            ),
            Route("/teams", page(self.team_list), methods=["GET"]),
            Route("/teams", action(self.create_team), methods=["POST"]),
            Route("/teams/{team_id}", page(self.team), methods=["GET"]),
            Route("/teams/{team_id}/settings", action(self.update_team), methods=["POST"]),
            Route(
                "/teams/{team_id}/remove",
                action(self.remove_team, confirm="Remove this team? Its keys stop working."),
                methods=["POST"],
            ),
            Route("/teams/{team_id}/credits", action(self.add_credits), methods=["POST"]),
            Route("/teams/{team_id}/limits", action(self.set_limits), methods=["POST"]),
            Route(
                "/teams/{team_id}/suspend",
                action(
                    self.suspend,
                    confirm="Suspend this team? Its keys are refused until it is resumed.",
                ),
                methods=["POST"],
            ),
            Route("/teams/{team_id}/resume", action(self.resume), methods=["POST"]),
            Route("/teams/{team_id}/keys", action(self.create_key), methods=["POST"]),
            Route(
                "/teams/{team_id}/keys/{key_id}/revoke",
                action(self.revoke_key, confirm="Revoke this key now?"),
                methods=["POST"],
            ),
            Route(
                "/teams/{team_id}/rotate",
                action(
                    self.rotate_keys,
                    confirm="Rotate the keys? One new key; the others stop after the grace.",
                ),
                methods=["POST"],
            ),
            Route("/teams/{team_id}/jobs/{job_id}", page(self.job), methods=["GET"]),
            Route("/models", page(self.models), methods=["GET"]),
            Route("/models/groups", action(self.create_group), methods=["POST"]),
            Route("/models/groups/{group_name}", action(self.update_group), methods=["POST"]),
            Route(
                "/models/groups/{group_name}/remove",
                action(self.remove_group, confirm="Remove this access group?"),
                methods=["POST"],
            ),
            Route(
                "/models/remove/{model_alias:path}",
                action(self.remove_alias, confirm="Remove this model alias?"),
                methods=["POST"],
            ),
            Route("/models/aliases", action(self.create_alias), methods=["POST"]),
            Route("/models/aliases/{model_alias:path}", page(self.alias), methods=["GET"]),
            Route(
                "/models/aliases/{model_alias:path}", action(self.update_alias), methods=["POST"]
            ),
            Route("/audit", page(self.audit_log), methods=["GET"]),
            Route("/webhooks", page(self.webhook_list), methods=["GET"]),
            Route("/webhooks/{webhook_id}", page(self.webhook), methods=["GET"]),
            Route(
                "/webhooks/{webhook_id}/remove",
                action(
                    self.remove_webhook, confirm="Remove this webhook? Nothing more is sent to it."
                ),
                methods=["POST"],
            ),
            Route(
                "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                action(self.retry_delivery),
                methods=["POST"],
            ),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="dashboard-static"),
            Route("/{path:path}", page(self.not_found), methods=["GET"]),
        ]
        return [
            Route(
                PREFIX,
                _SecurityHeaders(request_response(page(self.overview))),
                methods=["GET"],
                include_in_schema=False,
            ),
            Mount(PREFIX, app=_SecurityHeaders(_router(inner))),
        ]


def _router(routes: list[BaseRoute]) -> Router:
    """The dashboard's routes as one ASGI app (so the security headers wrap all of them)."""
    return Router(routes=routes, redirect_slashes=False)


_BLANK_DEPLOYMENT: dict[str, Any] = {
    "provider": "",
    "model": "",
    "api_base": None,
    "input_cost_per_million": "",
    "output_cost_per_million": "",
    "timeout": None,
}


def _deployments(form: Form) -> list[dict[str, Any]]:
    """The filled-in rows of a deployments table (provider, model, api_base and prices)."""
    out = []
    providers = form.fields.get("provider", [])
    for i, provider in enumerate(providers):

        def cell(name: str, i: int = i) -> str:
            values = form.fields.get(name, [])
            return values[i].strip() if i < len(values) else ""

        model = cell("model")
        if not provider.strip() and not model:
            continue
        row: dict[str, Any] = {"provider": provider.strip(), "model": model}
        if cell("api_base"):
            row["api_base"] = cell("api_base")
        for number in ("input_cost_per_million", "output_cost_per_million", "timeout"):
            if cell(number):
                try:
                    row[number] = float(cell(number))
                except ValueError:
                    shown = cell(number)[:40]
                    raise InvalidRequest(f"{number}: {shown!r} is not a number") from None
        out.append(Deployment.model_validate(row).model_dump(exclude_none=True))
    return out


def _day_range(since: str | None, until: str | None) -> dict[str, str]:
    """A job filter's dates (``YYYY-MM-DD``, both days included) as UTC times."""
    out = {}
    try:
        if since:
            out["since"] = dt.date.fromisoformat(since).isoformat() + "T00:00:00Z"
        if until:
            day = dt.date.fromisoformat(until) + dt.timedelta(days=1)
            out["until"] = day.isoformat() + "T00:00:00Z"
    except ValueError:
        raise InvalidRequest("dates are YYYY-MM-DD") from None
    return out


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _url(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def _back(path: str, done: str) -> Response:
    return RedirectResponse(f"{path}?done={done}", 303)


async def _read_form(request: Request) -> Form | None:
    """The urlencoded form of a POST (``None``: not one, or too large)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return None
    try:
        fields = urllib.parse.parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return Form(fields)


def _breakable(value: Any) -> markupsafe.Markup:
    """An identifier that may wrap after its separators (``invoice_<wbr>parse``), never in
    the middle of a word."""
    escaped = str(markupsafe.escape(str(value)))
    return markupsafe.Markup(re.sub(r"([_./:-])", r"\1<wbr>", escaped))  # noqa: S704


def _same_origin(request: Request, settings: Settings) -> bool:
    """A form post's ``Origin`` (browsers send it) must be one of this server's own origins;
    absent is allowed (the CSRF token and the SameSite=Strict cookie still stand). In local-dev
    mode those are the loopback origins (on the server's port) whatever the ``Host`` header
    says — a page that rebound its own name to 127.0.0.1 sends its own name in both. With an
    admin key, the origin the browser was sent to (``Host``: a rebound page has no session
    cookie to ride on). Only the host and port are compared: behind a TLS-terminating proxy the
    server may see http where the browser has https."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    host = request.headers.get("host", "")
    if settings.dev_mode:
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        own = host_port(host)
        return is_loopback(host_name(parts.netloc)) and port in ((own,) if own else (80, 443))
    return parts.netloc == host


def dashboard_routes(settings: Settings) -> list[BaseRoute]:
    """The routes of the dashboard under ``/admin``."""
    return Dashboard(settings).routes()
