"""Admin endpoints: organizations, model access groups, model aliases, teams.

Each handler parses, authorizes (admin key, see ``_http.require_admin``), calls one service and
responds. Service logic lives in ``services.catalog`` and ``services.teams``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import (
    CreditBalance,
    CreditsAddRequest,
    KeyRotation,
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

from ..services import catalog, teams
from ..store import Database
from ._http import json_response, parse_body, require_admin, runtime, team_id_param
from ._idempotency import idempotent
from ._operation import Operation, api_route

__all__ = ["routes"]

ADMIN_SCOPE = "admin"
"""Idempotency keys of admin requests live apart from every team's."""


def _without_key(body: bytes) -> str:
    """Virtual keys are never stored in clear, so they are not kept for replays either…"""
    data = json.loads(body)
    data.pop("virtual_key", None)
    return json.dumps(data)


def _with_new_key(db: Database) -> Callable[[str], Awaitable[str]]:
    """…a replay (the first response was lost) hands out a fresh key instead."""

    async def replay(kept: str) -> str:
        data = json.loads(kept)
        if "team_id" in data and "error" not in data:
            data["virtual_key"] = (await teams.rotate_key(db, data["team_id"])).virtual_key
        return json.dumps(data)

    return replay


async def create_organization(request: Request) -> Response:
    await require_admin(request)

    async def handle() -> Response:
        body = await parse_body(request, OrganizationCreateRequest)
        return json_response(await catalog.create_organization(runtime(request).db, body), 201)

    return await idempotent(request, ADMIN_SCOPE, handle)


async def create_model_access_group(request: Request) -> Response:
    await require_admin(request)

    async def handle() -> Response:
        body = await parse_body(request, ModelAccessGroupCreateRequest)
        return json_response(await catalog.create_group(runtime(request).db, body), 201)

    return await idempotent(request, ADMIN_SCOPE, handle)


async def create_model_alias(request: Request) -> Response:
    await require_admin(request)

    async def handle() -> Response:
        body = await parse_body(request, ModelAliasCreateRequest)
        rt = runtime(request)
        return json_response(await catalog.create_alias(rt.db, body, rt.settings), 201)

    return await idempotent(request, ADMIN_SCOPE, handle)


async def get_model_alias(request: Request) -> Response:
    await require_admin(request)
    name = str(request.path_params["model_alias"])[:200]
    return json_response(await catalog.get_alias(runtime(request).db, name))


async def create_team(request: Request) -> Response:
    await require_admin(request)
    db = runtime(request).db

    async def handle() -> Response:
        body = await parse_body(request, TeamCreateRequest)
        dev_mode = runtime(request).settings.dev_mode
        return json_response(await teams.create_team(db, body, create_missing=dev_mode), 201)

    return await idempotent(
        request, ADMIN_SCOPE, handle, store=_without_key, replay=_with_new_key(db)
    )


async def get_team(request: Request) -> Response:
    await require_admin(request)
    return json_response(await teams.get_team(runtime(request).db, team_id_param(request)))


async def add_credits(request: Request) -> Response:
    await require_admin(request)
    team_id = team_id_param(request)

    async def handle() -> Response:
        body = await parse_body(request, CreditsAddRequest)
        return json_response(await teams.add_credits(runtime(request).db, team_id, body))

    return await idempotent(request, ADMIN_SCOPE, handle)


async def rotate_key(request: Request) -> Response:
    await require_admin(request)
    db = runtime(request).db
    team_id = team_id_param(request)

    async def handle() -> Response:
        return json_response(await teams.rotate_key(db, team_id))

    return await idempotent(
        request, ADMIN_SCOPE, handle, store=_without_key, replay=_with_new_key(db)
    )


async def set_limits(request: Request) -> Response:
    await require_admin(request)
    team_id = team_id_param(request)
    body = await parse_body(request, TeamLimitsRequest)
    return json_response(await teams.set_limits(runtime(request).db, team_id, body))


async def suspend_team(request: Request) -> Response:
    await require_admin(request)
    team_id = team_id_param(request)
    return json_response(await teams.set_status(runtime(request).db, team_id, "suspended"))


async def resume_team(request: Request) -> Response:
    await require_admin(request)
    team_id = team_id_param(request)
    return json_response(await teams.set_status(runtime(request).db, team_id, "active"))


def _admin(
    summary: str,
    response: type[BaseModel],
    body: type[BaseModel] | None = None,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    idempotent: bool = False,
    description: str = "",
) -> Operation:
    return Operation(
        summary=summary,
        auth="admin",
        tag="admin",
        response=response,
        body=body,
        status=status,
        errors=errors,
        idempotent=idempotent,
        description=description,
    )


routes = [
    api_route(
        "/api/organizations/create",
        create_organization,
        "POST",
        _admin(
            "Create an organization",
            Organization,
            OrganizationCreateRequest,
            status=201,
            errors=(409,),
            idempotent=True,
        ),
    ),
    api_route(
        "/api/model-access-groups/create",
        create_model_access_group,
        "POST",
        _admin(
            "Create a model access group",
            ModelAccessGroup,
            ModelAccessGroupCreateRequest,
            status=201,
            errors=(409,),
            idempotent=True,
        ),
    ),
    api_route(
        "/api/model-aliases/create",
        create_model_alias,
        "POST",
        _admin(
            "Create a model alias",
            ModelAlias,
            ModelAliasCreateRequest,
            status=201,
            errors=(409,),
            idempotent=True,
            description="Deployments are tried in order: the first is primary, the rest fallbacks.",
        ),
    ),
    api_route(
        "/api/model-aliases/{model_alias}",
        get_model_alias,
        "GET",
        _admin("Get a model alias", ModelAlias),
    ),
    api_route(
        "/api/teams/create",
        create_team,
        "POST",
        _admin(
            "Create a team and its virtual key",
            TeamCreated,
            TeamCreateRequest,
            status=201,
            errors=(409,),
            idempotent=True,
            description="The virtual key is shown once, in this response; the server keeps its "
            "hash. A replay under the same Idempotency-Key hands out a fresh key.",
        ),
    ),
    api_route("/api/teams/{team_id}", get_team, "GET", _admin("Get a team", Team)),
    api_route(
        "/api/teams/{team_id}/credits/add",
        add_credits,
        "POST",
        _admin("Grant credits to a team", CreditBalance, CreditsAddRequest, idempotent=True),
    ),
    api_route(
        "/api/teams/{team_id}/rotate-key",
        rotate_key,
        "POST",
        _admin(
            "Replace a team's virtual key",
            KeyRotation,
            idempotent=True,
            description="The old key stops working at once. A replay under the same "
            "Idempotency-Key rotates again and hands out the newest key.",
        ),
    ),
    api_route(
        "/api/teams/{team_id}/limits",
        set_limits,
        "POST",
        _admin("Set a team's rate limits", Team, TeamLimitsRequest),
    ),
    api_route(
        "/api/teams/{team_id}/suspend",
        suspend_team,
        "POST",
        _admin(
            "Suspend a team",
            Team,
            description="A suspended team can read and close its jobs but not open jobs or call.",
        ),
    ),
    api_route("/api/teams/{team_id}/resume", resume_team, "POST", _admin("Resume a team", Team)),
]
