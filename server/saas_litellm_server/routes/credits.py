"""Team endpoints for credits, usage analytics and job listings; logic in ``services.teams``
and ``services.jobs``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationFailed
from ..services import jobs, teams
from ._http import (
    json_response,
    require_team,
    require_team_or_admin,
    runtime,
    team_id_param,
    time_query,
)

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
        raise ValidationFailed("cursor is not one this API returned", param="cursor")
    page = await jobs.list_jobs(
        runtime(request).db, team_id, status=status, limit=int(raw_limit), cursor=cursor
    )
    return json_response(page)


routes = [
    Route("/api/credits/balance", balance, methods=["GET"]),
    Route("/api/teams/{team_id}/usage", usage, methods=["GET"]),
    Route("/api/teams/{team_id}/jobs", list_jobs, methods=["GET"]),
]
