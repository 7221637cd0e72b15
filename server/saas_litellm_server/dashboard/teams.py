"""The teams' pages: the filtered list (with the create form, which shows the new team's key
once), a team (balance, budget mode and auto-refill, keys and their spend, jobs, the ledger's
latest transactions, usage), a team's changes (settings, credits, limits, suspend and resume,
removal) and one of its jobs with its calls. A team's keys are ``keys.py``'s, its billing
changes ``billing.py``'s."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from saas_litellm_models import (
    CreditsAddRequest,
    CreditTransactionListQuery,
    JobSearchQuery,
    PageQuery,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamListQuery,
    TeamUpdateRequest,
)

from ..errors import InvalidRequest
from ..services import catalog, jobs, keys, ledger, stats, teams
from ._context import LIST_LIMIT, Ctx
from ._forms import Form
from ._http import PREFIX, back, q, url

__all__ = [
    "add_credits",
    "back_to_team",
    "create_team",
    "day_range",
    "job",
    "remove_team",
    "resume",
    "set_limits",
    "suspend",
    "team",
    "team_id_of",
    "team_list",
    "update_team",
]

_PAGE = 25
"""The jobs a team page lists at once (a link shows the next ones)."""
_LEDGER_ROWS = 10
"""The latest credit transactions a team page shows (the API lists them all)."""


def team_id_of(ctx: Ctx) -> str:
    """The team a ``/teams/{team_id}/…`` request is about."""
    return str(ctx.request.path_params["team_id"])


def back_to_team(ctx: Ctx, done: str) -> Response:
    """The redirect back to the team's page after a change to it."""
    return back(f"{PREFIX}/teams/{q(team_id_of(ctx))}", done)


async def team_list(ctx: Ctx) -> Response:
    db = ctx.db
    filters = {
        name: ctx.param(name)
        for name in ("organization_id", "status", "access_group", "cursor")
        if ctx.param(name)
    }
    query = TeamListQuery.model_validate({**filters, "limit": 50})
    listing = await teams.list_teams(db, query)
    orgs = await catalog.list_organizations(db, PageQuery(limit=LIST_LIMIT))
    groups = await catalog.list_groups(db, PageQuery(limit=LIST_LIMIT))
    next_url = None
    if listing.next_cursor:
        next_url = url(f"{PREFIX}/teams", {**filters, "cursor": listing.next_cursor})
    return ctx.render(
        "teams.html",
        listing=listing,
        filters=filters,
        organizations=orgs.organizations,
        groups=groups.model_access_groups,
        next_url=next_url,
    )


async def create_team(ctx: Ctx, form: Form) -> Response:
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
        ctx.db, body, ctx.operator, create_missing=ctx.settings.dev_mode
    )
    return ctx.render(
        "key_created.html",
        201,
        team_id=created.team_id,
        key=created.virtual_key,
        heading=f"Team {created.team_id} created",
    )


async def team(ctx: Ctx) -> Response:
    """A team: balance, budget mode and auto-refill, keys, jobs, the ledger's latest
    transactions, usage."""
    db = ctx.db
    team_id = team_id_of(ctx)
    found = await teams.get_team(db, team_id)
    filters = {
        name: ctx.param(name)
        for name in ("status", "job_type", "since", "until", "cursor")
        if ctx.param(name)
    }
    query = JobSearchQuery.model_validate(
        {
            **filters,
            **day_range(filters.get("since"), filters.get("until")),
            "team_id": team_id,
            "limit": _PAGE,
        }
    )
    job_list = await jobs.search_jobs(db, query)
    next_url = None
    if job_list.next_cursor:
        next_url = url(f"{PREFIX}/teams/{q(team_id)}", {**filters, "cursor": job_list.next_cursor})
    usage = await teams.get_usage(db, team_id, since=None, until=None)
    by_model = await stats.usage_by_model(db, since=None, team_id=team_id)
    key_list = await keys.list_keys(db, team_id)
    groups = await catalog.list_groups(db, PageQuery(limit=LIST_LIMIT))
    transactions = await ledger.list_transactions(
        db, team_id, CreditTransactionListQuery(limit=_LEDGER_ROWS)
    )
    return ctx.render(
        "team.html",
        team=found,
        transactions=transactions.transactions,
        jobs=job_list.jobs,
        filters=filters,
        next_url=next_url,
        usage=usage.by_job_type,
        by_model=by_model,
        cost_by_type=[(u.job_type, u.cost_usd) for u in usage.by_job_type],
        cost_by_model=[(m.label, m.cost_usd) for m in by_model],
        keys=key_list.keys,
        key_spend=await stats.spend_by_key(db, team_id),
        groups=groups.model_access_groups,
        now=ctx.runtime.clock(),
    )


async def update_team(ctx: Ctx, form: Form) -> Response:
    body = TeamUpdateRequest.model_validate(
        {
            "team_alias": form.optional("team_alias"),
            "access_groups": form.all("access_groups"),
            "default_model": form.optional("default_model"),
            "store_content": form.get("store_content") == "on",
        }
    )
    await teams.update_team(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "updated")


async def remove_team(ctx: Ctx, form: Form) -> Response:
    await teams.delete_team(ctx.db, team_id_of(ctx), ctx.operator)
    return back(f"{PREFIX}/teams", "team-removed")


async def add_credits(ctx: Ctx, form: Form) -> Response:
    body = CreditsAddRequest.model_validate(
        {"credits": form.integer("credits") or 0, "reason": form.optional("reason")}
    )
    await teams.add_credits(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "credits")


async def set_limits(ctx: Ctx, form: Form) -> Response:
    body = TeamLimitsRequest.model_validate(
        {"rpm_limit": form.integer("rpm_limit"), "tpm_limit": form.integer("tpm_limit")}
    )
    await teams.set_limits(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "limits")


async def suspend(ctx: Ctx, form: Form) -> Response:
    await teams.set_status(ctx.db, team_id_of(ctx), "suspended", ctx.operator)
    return back_to_team(ctx, "suspended")


async def resume(ctx: Ctx, form: Form) -> Response:
    await teams.set_status(ctx.db, team_id_of(ctx), "active", ctx.operator)
    return back_to_team(ctx, "resumed")


async def job(ctx: Ctx) -> Response:
    """One of the team's jobs, with every call in order."""
    team_id = team_id_of(ctx)
    detail = await stats.get_job(ctx.db, team_id, ctx.request.path_params["job_id"])
    return ctx.render("job.html", job=detail, team_id=team_id)


def day_range(since: str | None, until: str | None) -> dict[str, str]:
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
