"""Admin endpoints: organizations, model access groups, model aliases, teams.

Logic in ``services.catalog`` and ``services.teams``; auth (the admin key), parsing and
idempotency come from each endpoint's :class:`Operation`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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
)

from ..services import catalog, keys, refills, teams
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def create_organization(call: Call[OrganizationCreateRequest, None]) -> Organization:
    return await catalog.create_organization(call.db, call.body, call.operator)


async def create_model_access_group(
    call: Call[ModelAccessGroupCreateRequest, None],
) -> ModelAccessGroup:
    return await catalog.create_group(call.db, call.body, call.operator)


async def create_model_alias(call: Call[ModelAliasCreateRequest, None]) -> ModelAlias:
    return await catalog.create_alias(call.db, call.body, call.runtime.settings, call.operator)


async def get_model_alias(call: Call[None, None]) -> ModelAlias:
    return await catalog.get_alias(call.db, call.path["model_alias"])


async def create_team(call: Call[TeamCreateRequest, None]) -> TeamCreated:
    dev_mode = call.runtime.settings.dev_mode
    return await teams.create_team(call.db, call.body, call.operator, create_missing=dev_mode)


async def get_team(call: Call[None, None]) -> Team:
    return await teams.get_team(call.db, call.path["team_id"])


async def add_credits(call: Call[CreditsAddRequest, None]) -> CreditBalance:
    return await teams.add_credits(call.db, call.path["team_id"], call.body, call.operator)


async def adjust_credits(call: Call[CreditsAdjustRequest, None]) -> CreditBalance:
    return await teams.adjust_credits(call.db, call.path["team_id"], call.body, call.operator)


async def set_limits(call: Call[TeamLimitsRequest, None]) -> Team:
    return await teams.set_limits(call.db, call.path["team_id"], call.body, call.operator)


async def suspend_team(call: Call[None, None]) -> Team:
    return await teams.set_status(call.db, call.path["team_id"], "suspended", call.operator)


async def resume_team(call: Call[None, None]) -> Team:
    return await teams.set_status(call.db, call.path["team_id"], "active", call.operator)


async def set_auto_refill(call: Call[AutoRefillRequest, None]) -> Team:
    return await refills.set_auto_refill(call.db, call.path["team_id"], call.body, call.operator)


async def delete_auto_refill(call: Call[None, None]) -> Team:
    return await refills.delete_auto_refill(call.db, call.path["team_id"], call.operator)


def _admin(
    method: str,
    path: str,
    summary: str,
    response: type[BaseModel],
    body: type[BaseModel] | None = None,
    **more: Any,
) -> Operation:
    return Operation(
        method, path, summary, auth="admin", tag="admin", response=response, body=body, **more
    )


routes = [
    api_route(
        _admin(
            "POST",
            "/api/organizations/create",
            "Create an organization",
            Organization,
            OrganizationCreateRequest,
            status=201,
            errors=((409, "conflict: an organization with this id exists"),),
            idempotent=True,
        ),
        create_organization,
    ),
    api_route(
        _admin(
            "POST",
            "/api/model-access-groups/create",
            "Create a model access group",
            ModelAccessGroup,
            ModelAccessGroupCreateRequest,
            status=201,
            errors=((409, "conflict: a model access group with this name exists"),),
            idempotent=True,
        ),
        create_model_access_group,
    ),
    api_route(
        _admin(
            "POST",
            "/api/model-aliases/create",
            "Create a model alias",
            ModelAlias,
            ModelAliasCreateRequest,
            status=201,
            errors=((409, "conflict: a model alias with this name exists"),),
            idempotent=True,
            description="Deployments are tried in order: the first is primary, the rest fallbacks.",
        ),
        create_model_alias,
    ),
    api_route(
        _admin("GET", "/api/model-aliases/{model_alias}", "Get a model alias", ModelAlias),
        get_model_alias,
    ),
    api_route(
        _admin(
            "POST",
            "/api/teams/create",
            "Create a team and its virtual key",
            TeamCreated,
            TeamCreateRequest,
            status=201,
            errors=((409, "conflict: a team with this id exists"),),
            idempotent=True,
            unkept_field="virtual_key",
            reissue=keys.reissue_key,
            description="The team's first virtual key (named `default`) is shown once, in this "
            "response; the server keeps its hash. A replay under the same Idempotency-Key "
            "revokes the key the lost response held and hands out a fresh one.",
        ),
        create_team,
    ),
    api_route(_admin("GET", "/api/teams/{team_id}", "Get a team", Team), get_team),
    api_route(
        _admin(
            "POST",
            "/api/teams/{team_id}/credits/add",
            "Grant credits to a team",
            CreditBalance,
            CreditsAddRequest,
            idempotent=True,
        ),
        add_credits,
    ),
    api_route(
        _admin(
            "POST",
            "/api/teams/{team_id}/credits/adjust",
            "Adjust a team's credits up or down",
            CreditBalance,
            CreditsAdjustRequest,
            errors=((409, "conflict: a negative adjustment beyond the credits available"),),
            idempotent=True,
            description="A signed correction of the balance, written to the ledger as an "
            "`adjustment` with its reason. A negative one takes only available credits (those "
            "open jobs do not hold): 409 with nothing changed otherwise.",
        ),
        adjust_credits,
    ),
    api_route(
        _admin(
            "POST",
            "/api/teams/{team_id}/limits",
            "Set a team's rate limits",
            Team,
            TeamLimitsRequest,
            idempotent=True,
        ),
        set_limits,
    ),
    api_route(
        _admin(
            "POST",
            "/api/teams/{team_id}/suspend",
            "Suspend a team",
            Team,
            idempotent=True,
            description="A suspended team can read and close its jobs but not open jobs or call.",
        ),
        suspend_team,
    ),
    api_route(
        _admin("POST", "/api/teams/{team_id}/resume", "Resume a team", Team, idempotent=True),
        resume_team,
    ),
    api_route(
        _admin(
            "PUT",
            "/api/teams/{team_id}/auto-refill",
            "Set a team's auto-refill",
            Team,
            AutoRefillRequest,
            description="Applied once per UTC period (daily, ISO-weekly, monthly) by every "
            "server's sweep, or by a job create that finds no credit; a missed period is "
            "caught up once. add: grant `amount`; top_up: raise credits_remaining to `amount`.",
        ),
        set_auto_refill,
    ),
    api_route(
        _admin(
            "DELETE",
            "/api/teams/{team_id}/auto-refill",
            "Turn a team's auto-refill off",
            Team,
        ),
        delete_auto_refill,
    ),
]
