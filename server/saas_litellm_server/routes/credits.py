"""Team endpoints for credits, usage analytics and job listings; logic in ``services.teams``
and ``services.jobs``."""

from __future__ import annotations

from saas_litellm_models import CreditBalance, JobList, JobListQuery, TeamUsage, UsageQuery

from ..services import jobs, teams
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def balance(call: Call[None, None]) -> CreditBalance:
    return await teams.get_balance(call.db, call.team.team_id)


async def usage(call: Call[None, UsageQuery]) -> TeamUsage:
    query = call.query
    return await teams.get_usage(
        call.db, call.path["team_id"], since=query.since, until=query.until
    )


async def list_jobs(call: Call[None, JobListQuery]) -> JobList:
    return await jobs.list_jobs(call.db, call.path["team_id"], call.query)


routes = [
    api_route(
        Operation(
            "GET",
            "/api/credits/balance",
            summary="The team's credit balance",
            auth="team",
            tag="credits",
            response=CreditBalance,
        ),
        balance,
    ),
    api_route(
        Operation(
            "GET",
            "/api/teams/{team_id}/usage",
            summary="Usage analytics per job type",
            auth="team_or_admin",
            tag="credits",
            response=TeamUsage,
            query=UsageQuery,
        ),
        usage,
    ),
    api_route(
        Operation(
            "GET",
            "/api/teams/{team_id}/jobs",
            summary="List the team's jobs, newest first",
            auth="team_or_admin",
            tag="jobs",
            response=JobList,
            query=JobListQuery,
        ),
        list_jobs,
    ),
]
