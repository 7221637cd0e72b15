"""Team endpoints for credits, usage analytics and job listings; logic in ``services.teams``
and ``services.jobs``."""

from __future__ import annotations

from saas_litellm_models import (
    CreditBalance,
    CreditTransactionList,
    CreditTransactionListQuery,
    JobList,
    JobListQuery,
    TeamUsage,
    UsageQuery,
)

from ..services import jobs, ledger, teams
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


async def list_transactions(call: Call[None, CreditTransactionListQuery]) -> CreditTransactionList:
    return await ledger.list_transactions(call.db, call.path["team_id"], call.query)


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
    api_route(
        Operation(
            "GET",
            "/api/teams/{team_id}/transactions",
            summary="The team's credit ledger, newest first",
            auth="team_or_admin",
            tag="credits",
            response=CreditTransactionList,
            query=CreditTransactionListQuery,
            description="Every change of the team's credits (grant, charge, refill, adjustment) "
            "with the balance after it; the credits of all transactions add up to "
            "credits_remaining. The admin key reads any team's, a team key its own.",
        ),
        list_transactions,
    ),
]
