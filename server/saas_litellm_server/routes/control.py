"""Admin views of the control plane: lists (newest first, cursor-paginated) of organizations,
model access groups, model aliases, teams and jobs across teams, and an organization with its
usage. Logic in ``services.catalog``, ``services.teams`` and ``services.jobs``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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
    QueryModel,
    TeamList,
    TeamListQuery,
    UsageQuery,
)

from ..services import catalog, jobs, teams
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def list_organizations(call: Call[None, PageQuery]) -> OrganizationList:
    return await catalog.list_organizations(call.db, call.query)


async def get_organization(call: Call[None, None]) -> Organization:
    return await catalog.get_organization(call.db, call.path["organization_id"])


async def organization_usage(call: Call[None, UsageQuery]) -> OrganizationUsage:
    q = call.query
    return await teams.get_organization_usage(
        call.db, call.path["organization_id"], since=q.since, until=q.until
    )


async def list_model_access_groups(call: Call[None, PageQuery]) -> ModelAccessGroupList:
    return await catalog.list_groups(call.db, call.query)


async def list_model_aliases(call: Call[None, ModelAliasListQuery]) -> ModelAliasList:
    return await catalog.list_aliases(call.db, call.query)


async def list_teams(call: Call[None, TeamListQuery]) -> TeamList:
    return await teams.list_teams(call.db, call.query)


async def list_jobs(call: Call[None, JobSearchQuery]) -> JobList:
    return await jobs.search_jobs(call.db, call.query)


def _view(
    path: str,
    summary: str,
    response: type[BaseModel],
    query: type[QueryModel] | None = None,
    **more: Any,
) -> Operation:
    return Operation(
        "GET", path, summary, auth="admin", tag="admin", response=response, query=query, **more
    )


routes = [
    api_route(
        _view(
            "/api/organizations", "List organizations, newest first", OrganizationList, PageQuery
        ),
        list_organizations,
    ),
    api_route(
        _view("/api/organizations/{organization_id}", "Get an organization", Organization),
        get_organization,
    ),
    api_route(
        _view(
            "/api/organizations/{organization_id}/usage",
            "Usage analytics of an organization per job type",
            OrganizationUsage,
            UsageQuery,
            description="Over the jobs of all the organization's teams.",
        ),
        organization_usage,
    ),
    api_route(
        _view(
            "/api/model-access-groups",
            "List model access groups, newest first",
            ModelAccessGroupList,
            PageQuery,
        ),
        list_model_access_groups,
    ),
    api_route(
        _view(
            "/api/model-aliases",
            "List model aliases, newest first",
            ModelAliasList,
            ModelAliasListQuery,
        ),
        list_model_aliases,
    ),
    api_route(_view("/api/teams", "List teams, newest first", TeamList, TeamListQuery), list_teams),
    api_route(
        _view("/api/jobs", "List jobs across teams, newest first", JobList, JobSearchQuery),
        list_jobs,
    ),
]
