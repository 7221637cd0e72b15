"""The jobs of every team (``/admin/jobs``: filtered, newest first, with their calls' figures
and first error) and one call of a job, all of it (its deployments tried, figures, and its
content when its team keeps it)."""

from __future__ import annotations

import re

from starlette.responses import Response

from saas_litellm_models import JOB_ID_PATTERN, JobSearchQuery, PageQuery

from ..errors import InvalidRequest, NotFound
from ..services import catalog, jobs
from ._context import LIST_LIMIT, Ctx
from ._http import PREFIX, url
from .teams import day_range

__all__ = ["call", "job_list"]

_PAGE = 50
"""The jobs the page lists at once (a link shows the next ones)."""
_FILTERS = (
    "team_id",
    "organization_id",
    "status",
    "job_type",
    "model",
    "since",
    "until",
    "has_errors",
    "cursor",
)
_ERRORS = {"yes": True, "no": False}
_UUID = re.compile(JOB_ID_PATTERN)


async def job_list(ctx: Ctx) -> Response:
    filters = {name: ctx.param(name) for name in _FILTERS if ctx.param(name)}
    errors = filters.get("has_errors")
    if errors is not None and errors not in _ERRORS:
        raise InvalidRequest("has_errors: yes or no")
    query = JobSearchQuery.model_validate(
        {
            **filters,
            **day_range(filters.get("since"), filters.get("until")),
            "has_errors": _ERRORS.get(errors or ""),
            "limit": _PAGE,
        }
    )
    lines, next_cursor = await jobs.job_lines(ctx.db, query)
    orgs = await catalog.list_organizations(ctx.db, PageQuery(limit=LIST_LIMIT))
    next_url = None
    if next_cursor:
        next_url = url(f"{PREFIX}/jobs", {**filters, "cursor": next_cursor})
    return ctx.render(
        "jobs.html",
        lines=lines,
        filters=filters,
        organizations=orgs.organizations,
        next_url=next_url,
    )


async def call(ctx: Ctx) -> Response:
    """One call of a team's job (``/teams/{team_id}/jobs/{job_id}/calls/{call_id}``)."""
    params = ctx.request.path_params
    team_id, job_id, call_id = params["team_id"], params["job_id"], params["call_id"]
    if not (_UUID.fullmatch(job_id) and _UUID.fullmatch(call_id)):
        raise NotFound(f"call {call_id[:64]!r} not found")
    detail = await jobs.get_call(ctx.db, job_id, call_id, team_id=None)
    if detail.team_id != team_id:
        raise NotFound(f"call {call_id!r} not found")
    return ctx.render("call.html", call=detail, team_id=team_id)
