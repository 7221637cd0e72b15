"""Team endpoints for credits, usage analytics and job listings; logic in ``services.teams``
and ``services.jobs``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import CreditBalance, JobList, TeamUsage

from ..errors import InvalidRequest, ValidationFailed
from ..services import jobs, teams
from ._http import (
    json_response,
    require_team,
    require_team_or_admin,
    runtime,
    team_id_param,
    time_query,
)
from ._operation import Operation, QueryParam, api_route

__all__ = ["routes"]


async def balance(request: Request) -> Response:
    team = await require_team(request)
    return json_response(await teams.get_balance(runtime(request).db, team.team_id))


async def usage(request: Request) -> Response:
    team_id = team_id_param(request)
    await require_team_or_admin(request, team_id)
    since, until = time_query(request, "since"), time_query(request, "until")
    return json_response(
        await teams.get_usage(runtime(request).db, team_id, since=since, until=until)
    )


_STATUSES = ("pending", "in_progress", "completed", "failed")


async def list_jobs(request: Request) -> Response:
    team_id = team_id_param(request)
    await require_team_or_admin(request, team_id)
    status = request.query_params.get("status") or None
    if status is not None and status not in _STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(_STATUSES)}", param="status")
    raw_limit = request.query_params.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
        raise ValidationFailed("limit must be an integer from 1 to 500", param="limit")
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and len(cursor) > 512:
        raise InvalidRequest("cursor is not one this API returned", param="cursor")
    page = await jobs.list_jobs(
        runtime(request).db, team_id, status=status, limit=int(raw_limit), cursor=cursor
    )
    return json_response(page)


_TIME = {"type": "string", "format": "date-time"}

routes = [
    api_route(
        "/api/credits/balance",
        balance,
        "GET",
        Operation(
            summary="The team's credit balance", auth="team", tag="credits", response=CreditBalance
        ),
    ),
    api_route(
        "/api/teams/{team_id}/usage",
        usage,
        "GET",
        Operation(
            summary="Usage analytics per job type",
            auth="team_or_admin",
            tag="credits",
            response=TeamUsage,
            query=(
                QueryParam("since", _TIME, "Only jobs created at or after this time."),
                QueryParam("until", _TIME, "Only jobs created before this time."),
            ),
        ),
    ),
    api_route(
        "/api/teams/{team_id}/jobs",
        list_jobs,
        "GET",
        Operation(
            summary="List the team's jobs, newest first",
            auth="team_or_admin",
            tag="jobs",
            response=JobList,
            query=(
                QueryParam(
                    "status",
                    {"type": "string", "enum": list(_STATUSES)},
                    "Only jobs in this status.",
                ),
                QueryParam(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    "Page size.",
                ),
                QueryParam(
                    "cursor",
                    {"type": "string", "maxLength": 512},
                    "The next_cursor of the previous page.",
                ),
            ),
        ),
    ),
]
