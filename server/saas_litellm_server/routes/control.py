"""Admin views of the control plane: lists (newest first, cursor-paginated) of organizations,
model access groups, model aliases, teams and jobs across teams, and an organization with its
usage. Logic in ``services.catalog``, ``services.teams`` and ``services.jobs``."""

from __future__ import annotations

from saas_litellm_models import (
    JobList,
    JobSearchQuery,
    ModelAccessGroupList,
    ModelAliasList,
    ModelAliasListQuery,
    Organization,
    OrganizationList,
    OrganizationUsage,
    PageQuery,
    TeamList,
    TeamListQuery,
    UsageQuery,
    endpoints,
)

from ..services import catalog, jobs, teams
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def list_organizations(req: APIRequest[None, PageQuery]) -> OrganizationList:
    return await catalog.list_organizations(req.db, req.query)


async def get_organization(req: APIRequest[None, None]) -> Organization:
    return await catalog.get_organization(req.db, req.path["organization_id"])


async def organization_usage(req: APIRequest[None, UsageQuery]) -> OrganizationUsage:
    q = req.query
    return await teams.get_organization_usage(
        req.db, req.path["organization_id"], since=q.since, until=q.until
    )


async def list_model_access_groups(req: APIRequest[None, PageQuery]) -> ModelAccessGroupList:
    return await catalog.list_groups(req.db, req.query)


async def list_model_aliases(req: APIRequest[None, ModelAliasListQuery]) -> ModelAliasList:
    return await catalog.list_aliases(req.db, req.query)


async def list_teams(req: APIRequest[None, TeamListQuery]) -> TeamList:
    return await teams.list_teams(req.db, req.query)


async def list_jobs(req: APIRequest[None, JobSearchQuery]) -> JobList:
    return await jobs.search_jobs(req.db, req.query)


routes = [
    api_route(endpoints.LIST_ORGANIZATIONS, list_organizations, replica=True),
    api_route(endpoints.GET_ORGANIZATION, get_organization),
    api_route(endpoints.GET_ORGANIZATION_USAGE, organization_usage, replica=True),
    api_route(endpoints.LIST_MODEL_ACCESS_GROUPS, list_model_access_groups, replica=True),
    api_route(endpoints.LIST_MODEL_ALIASES, list_model_aliases, replica=True),
    api_route(endpoints.LIST_TEAMS, list_teams, replica=True),
    api_route(endpoints.LIST_JOBS, list_jobs, replica=True),
]
