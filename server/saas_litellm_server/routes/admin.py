"""Admin endpoints: organizations, model access groups, model aliases, teams.

Logic in ``services.catalog`` and ``services.teams``; auth (the admin key), parsing and
idempotency come from each endpoint's row of the endpoint table.
"""

from __future__ import annotations

from saas_litellm_models import (
    AutoRefillRequest,
    CreditBalance,
    CreditsAddRequest,
    CreditsAdjustRequest,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    Organization,
    OrganizationCreateRequest,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    endpoints,
)

from ..services import catalog, keys, refills, teams
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def create_organization(req: APIRequest[OrganizationCreateRequest, None]) -> Organization:
    return await catalog.create_organization(req.db, req.body, req.operator)


async def create_model_access_group(
    req: APIRequest[ModelAccessGroupCreateRequest, None],
) -> ModelAccessGroup:
    return await catalog.create_group(req.db, req.body, req.operator)


async def create_model_alias(req: APIRequest[ModelAliasCreateRequest, None]) -> ModelAlias:
    return await catalog.create_alias(req.db, req.body, req.runtime.settings, req.operator)


async def get_model_alias(req: APIRequest[None, None]) -> ModelAlias:
    return await catalog.get_alias(req.db, req.path["model_alias"])


async def create_team(req: APIRequest[TeamCreateRequest, None]) -> TeamCreated:
    dev_mode = req.runtime.settings.dev_mode
    return await teams.create_team(req.db, req.body, req.operator, create_missing=dev_mode)


async def get_team(req: APIRequest[None, None]) -> Team:
    return await teams.get_team(req.db, req.path["team_id"])


async def add_credits(req: APIRequest[CreditsAddRequest, None]) -> CreditBalance:
    return await teams.add_credits(req.db, req.path["team_id"], req.body, req.operator)


async def adjust_credits(req: APIRequest[CreditsAdjustRequest, None]) -> CreditBalance:
    return await teams.adjust_credits(req.db, req.path["team_id"], req.body, req.operator)


async def set_limits(req: APIRequest[TeamLimitsRequest, None]) -> Team:
    return await teams.set_limits(req.db, req.path["team_id"], req.body, req.operator)


async def suspend_team(req: APIRequest[None, None]) -> Team:
    return await teams.set_status(req.db, req.path["team_id"], "suspended", req.operator)


async def resume_team(req: APIRequest[None, None]) -> Team:
    return await teams.set_status(req.db, req.path["team_id"], "active", req.operator)


async def set_auto_refill(req: APIRequest[AutoRefillRequest, None]) -> Team:
    return await refills.set_auto_refill(req.db, req.path["team_id"], req.body, req.operator)


async def delete_auto_refill(req: APIRequest[None, None]) -> Team:
    return await refills.delete_auto_refill(req.db, req.path["team_id"], req.operator)


routes = [
    api_route(endpoints.CREATE_ORGANIZATION, create_organization),
    api_route(endpoints.CREATE_MODEL_ACCESS_GROUP, create_model_access_group),
    api_route(endpoints.CREATE_MODEL_ALIAS, create_model_alias),
    api_route(endpoints.GET_MODEL_ALIAS, get_model_alias),
    api_route(endpoints.CREATE_TEAM, create_team, reissue=keys.reissue_key),
    api_route(endpoints.GET_TEAM, get_team),
    api_route(endpoints.ADD_CREDITS, add_credits),
    api_route(endpoints.ADJUST_CREDITS, adjust_credits),
    api_route(endpoints.SET_LIMITS, set_limits),
    api_route(endpoints.SUSPEND_TEAM, suspend_team),
    api_route(endpoints.RESUME_TEAM, resume_team),
    api_route(endpoints.SET_AUTO_REFILL, set_auto_refill),
    api_route(endpoints.DELETE_AUTO_REFILL, delete_auto_refill),
]
