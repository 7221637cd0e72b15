"""The admin client: organizations, model access, teams, credits and keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from saas_litellm_models import (
    CreditBalance,
    CreditsAddRequest,
    Deployment,
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
    TeamUsage,
)

from ._base_client import DEFAULT_BASE_URL, ENV_BASE_URL, _BaseClient, _from_env, _path_segment
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

__all__ = ["SaasLiteLLMAdminClient"]

ENV_ADMIN_KEY = "SAAS_LITELLM_ADMIN_KEY"


class SaasLiteLLMAdminClient(_BaseClient):
    """Async client for the admin endpoints, authenticated by the server's admin key.

    ``admin_key`` defaults to ``SAAS_LITELLM_ADMIN_KEY``. With neither, no ``Authorization``
    header is sent: that works against a server in local-dev mode (no admin key configured) and
    gets :class:`AuthenticationError` from any other. Arguments are validated against the shared
    request models before sending; invalid ones raise pydantic's ``ValidationError``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        admin_key: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            base_url=_from_env(base_url, ENV_BASE_URL) or DEFAULT_BASE_URL,
            api_key=_from_env(admin_key, ENV_ADMIN_KEY),
            timeout=timeout,
            http_client=http_client,
            default_headers=default_headers,
        )

    # -- organizations and model access ------------------------------------------------------

    async def create_organization(
        self, organization_id: str, name: str, *, metadata: Mapping[str, Any] | None = None
    ) -> Organization:
        body = OrganizationCreateRequest.model_validate(
            {"organization_id": organization_id, "name": name, "metadata": metadata}
        )
        return await self._request(
            "POST", "/api/organizations/create", body=body, cast_to=Organization
        )

    async def create_model_access_group(
        self, group_name: str, *, description: str | None = None
    ) -> ModelAccessGroup:
        """A named set of model aliases that teams are granted by name."""
        body = ModelAccessGroupCreateRequest.model_validate(
            {"group_name": group_name, "description": description}
        )
        return await self._request(
            "POST", "/api/model-access-groups/create", body=body, cast_to=ModelAccessGroup
        )

    async def create_model_alias(
        self,
        model_alias: str,
        *,
        deployments: Sequence[Deployment | Mapping[str, Any]],
        access_groups: Sequence[str] = (),
    ) -> ModelAlias:
        """Map an alias teams call (``"ChatAgent"``) to upstream deployments, tried in order:
        the first is primary, the rest are fallbacks."""
        body = ModelAliasCreateRequest.model_validate(
            {"model_alias": model_alias, "deployments": deployments, "access_groups": access_groups}
        )
        return await self._request(
            "POST", "/api/model-aliases/create", body=body, cast_to=ModelAlias
        )

    # -- teams -------------------------------------------------------------------------------

    async def create_team(
        self,
        organization_id: str,
        team_id: str,
        *,
        team_alias: str | None = None,
        access_groups: Sequence[str] = (),
        credits_allocated: int = 0,
        default_model: str | None = None,
    ) -> TeamCreated:
        """Create a team; ``result.virtual_key`` is shown only this once — store it."""
        body = TeamCreateRequest.model_validate(
            {
                "organization_id": organization_id,
                "team_id": team_id,
                "team_alias": team_alias,
                "access_groups": access_groups,
                "credits_allocated": credits_allocated,
                "default_model": default_model,
            }
        )
        return await self._request("POST", "/api/teams/create", body=body, cast_to=TeamCreated)

    async def get_team(self, team_id: str) -> Team:
        return await self._request("GET", _team_path(team_id), cast_to=Team)

    async def add_credits(
        self, team_id: str, credits: int, *, reason: str | None = None
    ) -> CreditBalance:
        """Top up a team by ``credits`` (> 0); returns the new balance."""
        body = CreditsAddRequest.model_validate({"credits": credits, "reason": reason})
        return await self._request(
            "POST", _team_path(team_id, "/credits/add"), body=body, cast_to=CreditBalance
        )

    async def rotate_key(self, team_id: str) -> KeyRotation:
        """Issue a new virtual key; the old one stops working at once."""
        return await self._request("POST", _team_path(team_id, "/rotate-key"), cast_to=KeyRotation)

    async def suspend_team(self, team_id: str) -> Team:
        """Refuse the team's requests (403) until :meth:`resume_team`; nothing is deleted."""
        return await self._request("POST", _team_path(team_id, "/suspend"), cast_to=Team)

    async def resume_team(self, team_id: str) -> Team:
        return await self._request("POST", _team_path(team_id, "/resume"), cast_to=Team)

    async def get_team_usage(self, team_id: str) -> TeamUsage:
        """Usage analytics of any team, one row per job type."""
        return await self._request("GET", _team_path(team_id, "/usage"), cast_to=TeamUsage)


def _team_path(team_id: str, suffix: str = "") -> str:
    return f"/api/teams/{_path_segment(team_id, 'team_id')}{suffix}"
