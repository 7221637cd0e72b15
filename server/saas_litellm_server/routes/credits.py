"""Team endpoints for credits, usage analytics and job listings, and the usage report of every
team; logic in ``services.teams``, ``services.jobs``, ``services.ledger`` and ``services.usage``.
"""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import (
    CreditBalance,
    CreditTransactionList,
    CreditTransactionListQuery,
    JobList,
    JobListQuery,
    TeamUsage,
    UsageQuery,
    UsageReport,
    UsageReportQuery,
    endpoints,
)

from .._csv import csv_response
from ..services import jobs, ledger, teams
from ..services import usage as reports
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
) -> CreditTransactionList | Response:
    if req.csv:
        return csv_response(
            await ledger.transactions_csv(req.db, req.path["team_id"], req.query.kind)
        )
    return await ledger.list_transactions(req.db, req.path["team_id"], req.query)


async def usage_report(req: APIRequest[None, UsageReportQuery]) -> UsageReport | Response:
    if req.csv:
        return csv_response(await reports.usage_csv(req.db, req.query))
    return await reports.usage_report(req.db, req.query)


routes = [
    api_route(endpoints.GET_BALANCE, balance),
    api_route(endpoints.GET_TEAM_USAGE, usage, replica=True),
    api_route(endpoints.LIST_TEAM_JOBS, list_jobs, replica=True),
    api_route(endpoints.LIST_TRANSACTIONS, list_transactions, replica=True),
    api_route(endpoints.GET_USAGE, usage_report, replica=True),
]
