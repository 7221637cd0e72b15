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
    endpoints,
)

from ..services import jobs, ledger, teams
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def balance(req: APIRequest[None, None]) -> CreditBalance:
    return await teams.get_balance(req.db, req.team.team_id)


async def usage(req: APIRequest[None, UsageQuery]) -> TeamUsage:
    query = req.query
    return await teams.get_usage(req.db, req.path["team_id"], since=query.since, until=query.until)


async def list_jobs(req: APIRequest[None, JobListQuery]) -> JobList:
    return await jobs.list_jobs(req.db, req.path["team_id"], req.query)


async def list_transactions(
    req: APIRequest[None, CreditTransactionListQuery],
) -> CreditTransactionList:
    return await ledger.list_transactions(req.db, req.path["team_id"], req.query)


routes = [
    api_route(endpoints.GET_BALANCE, balance),
    api_route(endpoints.GET_TEAM_USAGE, usage, replica=True),
    api_route(endpoints.LIST_TEAM_JOBS, list_jobs, replica=True),
    api_route(endpoints.LIST_TRANSACTIONS, list_transactions, replica=True),
]
