"""Team endpoints for credits and usage analytics; logic in ``services.teams``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services import teams
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


routes = [
    Route("/api/credits/balance", balance, methods=["GET"]),
    Route("/api/teams/{team_id}/usage", usage, methods=["GET"]),
]
