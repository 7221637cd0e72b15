"""Changing and removing what the operator created (admin): ``PATCH`` and ``DELETE`` on teams,
organizations, model access groups and model aliases. Logic in ``services.teams`` and
``services.catalog``; every change is in the audit log.

An update names only what changes. A removal that would strand something answers 409 naming
who uses it; a removal keeps history (jobs, calls and costs stay readable and count in usage).
"""

from __future__ import annotations

from saas_litellm_models import (
    Deleted,
    ModelAccessGroup,
    ModelAccessGroupUpdateRequest,
    ModelAlias,
    ModelAliasUpdateRequest,
    Organization,
    OrganizationUpdateRequest,
    Team,
    TeamUpdateRequest,
    endpoints,
)

from ..services import catalog, teams
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def update_team(req: APIRequest[TeamUpdateRequest, None]) -> Team:
    return await teams.update_team(req.db, req.path["team_id"], req.body, req.operator)


async def delete_team(req: APIRequest[None, None]) -> Deleted:
    return await teams.delete_team(req.db, req.path["team_id"], req.operator)


async def update_organization(req: APIRequest[OrganizationUpdateRequest, None]) -> Organization:
    return await catalog.update_organization(
        req.db, req.path["organization_id"], req.body, req.operator
    )


async def delete_organization(req: APIRequest[None, None]) -> Deleted:
    return await catalog.delete_organization(req.db, req.path["organization_id"], req.operator)


async def update_model_access_group(
    req: APIRequest[ModelAccessGroupUpdateRequest, None],
) -> ModelAccessGroup:
    return await catalog.update_group(req.db, req.path["group_name"], req.body, req.operator)


async def delete_model_access_group(req: APIRequest[None, None]) -> Deleted:
    return await catalog.delete_group(req.db, req.path["group_name"], req.operator)


async def update_model_alias(req: APIRequest[ModelAliasUpdateRequest, None]) -> ModelAlias:
    return await catalog.update_alias(
        req.db, req.path["model_alias"], req.body, req.runtime.settings, req.operator
    )


async def delete_model_alias(req: APIRequest[None, None]) -> Deleted:
    return await catalog.delete_alias(req.db, req.path["model_alias"], req.operator)


routes = [
    api_route(endpoints.UPDATE_TEAM, update_team),
    api_route(endpoints.DELETE_TEAM, delete_team),
    api_route(endpoints.UPDATE_ORGANIZATION, update_organization),
    api_route(endpoints.DELETE_ORGANIZATION, delete_organization),
    api_route(endpoints.UPDATE_MODEL_ACCESS_GROUP, update_model_access_group),
    api_route(endpoints.DELETE_MODEL_ACCESS_GROUP, delete_model_access_group),
    api_route(endpoints.UPDATE_MODEL_ALIAS, update_model_alias),
    api_route(endpoints.DELETE_MODEL_ALIAS, delete_model_alias),
]
