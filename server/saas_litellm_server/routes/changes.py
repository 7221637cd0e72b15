"""Changing and removing what the operator created (admin): ``PATCH`` and ``DELETE`` on teams,
organizations, model access groups and model aliases. Logic in ``services.teams`` and
``services.catalog``; every change is in the audit log.

An update names only what changes. A removal that would strand something answers 409 naming
who uses it; a removal keeps history (jobs, calls and costs stay readable and count in usage).
"""

from __future__ import annotations

from pydantic import BaseModel

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
)

from ..services import catalog, teams
from ._operation import APIRoute, Call, Handler, Operation, api_route

__all__ = ["routes"]


async def update_team(call: Call[TeamUpdateRequest, None]) -> Team:
    return await teams.update_team(call.db, call.path["team_id"], call.body, call.operator)


async def delete_team(call: Call[None, None]) -> Deleted:
    return await teams.delete_team(call.db, call.path["team_id"], call.operator)


async def update_organization(call: Call[OrganizationUpdateRequest, None]) -> Organization:
    return await catalog.update_organization(
        call.db, call.path["organization_id"], call.body, call.operator
    )


async def delete_organization(call: Call[None, None]) -> Deleted:
    return await catalog.delete_organization(call.db, call.path["organization_id"], call.operator)


async def update_model_access_group(
    call: Call[ModelAccessGroupUpdateRequest, None],
) -> ModelAccessGroup:
    return await catalog.update_group(call.db, call.path["group_name"], call.body, call.operator)


async def delete_model_access_group(call: Call[None, None]) -> Deleted:
    return await catalog.delete_group(call.db, call.path["group_name"], call.operator)


async def update_model_alias(call: Call[ModelAliasUpdateRequest, None]) -> ModelAlias:
    return await catalog.update_alias(
        call.db, call.path["model_alias"], call.body, call.runtime.settings, call.operator
    )


async def delete_model_alias(call: Call[None, None]) -> Deleted:
    return await catalog.delete_alias(call.db, call.path["model_alias"], call.operator)


def _pair(
    path: str,
    what: str,
    response: type[BaseModel],
    body: type[BaseModel],
    update: Handler,
    delete: Handler,
    *,
    update_note: str = "",
    delete_note: str,
) -> list[APIRoute]:
    return [
        api_route(
            Operation(
                "PATCH",
                path,
                f"Change {what}",
                auth="admin",
                tag="admin",
                response=response,
                body=body,
                description="Fields left out are unchanged. " + update_note,
            ),
            update,
        ),
        api_route(
            Operation(
                "DELETE",
                path,
                f"Remove {what}",
                auth="admin",
                tag="admin",
                response=Deleted,
                errors=(
                    (409, f"conflict: {what} is in use, built in, or declared in the config file"),
                ),
                description=delete_note,
            ),
            delete,
        ),
    ]


routes = [
    *_pair(
        "/api/teams/{team_id}",
        "a team",
        Team,
        TeamUpdateRequest,
        update_team,
        delete_team,
        update_note="`access_groups` replaces the team's list; `null` clears `team_alias` or "
        "`default_model`.",
        delete_note="409 while the team has open jobs. Its keys stop working; its jobs, calls "
        "and costs stay readable and keep counting in its organization's usage. Its id is not "
        "reused.",
    ),
    *_pair(
        "/api/organizations/{organization_id}",
        "an organization",
        Organization,
        OrganizationUpdateRequest,
        update_organization,
        delete_organization,
        delete_note="409 naming its teams while it has any.",
    ),
    *_pair(
        "/api/model-access-groups/{group_name}",
        "a model access group",
        ModelAccessGroup,
        ModelAccessGroupUpdateRequest,
        update_model_access_group,
        delete_model_access_group,
        delete_note="409 naming the teams granted it while there are any; the aliases in it "
        "leave it.",
    ),
    *_pair(
        "/api/model-aliases/{model_alias}",
        "a model alias",
        ModelAlias,
        ModelAliasUpdateRequest,
        update_model_alias,
        delete_model_alias,
        update_note="`deployments` replaces the whole list (its order is the fallback order); "
        "new prices apply to calls made after the change, recorded calls keep their cost.",
        delete_note="409 naming the teams whose default model it is. Calls recorded under it "
        "keep its name and cost.",
    ),
]
