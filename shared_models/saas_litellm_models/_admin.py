"""Shapes of the admin endpoints: organizations, access groups, model aliases, teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ._base import (
    Count,
    FilterId,
    Identifier,
    Metadata,
    ModelName,
    NoNul,
    NotReserved,
    PageQuery,
    Price,
    RequestModel,
    ResponseModel,
    ShortText,
    UpdateRequest,
)
from ._billing import (
    AutoRefill,
    BudgetMode,
    CreditsPerDollar,
    MarkupPercent,
    Threshold,
    TokensPerCredit,
    _BudgetFields,
)

__all__ = [
    "AliasMode",
    "CreditsAddRequest",
    "CreditsAdjustRequest",
    "Deployment",
    "DeploymentInfo",
    "KeyRotation",
    "ModelAccessGroup",
    "ModelAccessGroupCreateRequest",
    "ModelAccessGroupList",
    "ModelAlias",
    "ModelAliasCreateRequest",
    "ModelAliasList",
    "ModelAliasListQuery",
    "Organization",
    "OrganizationCreateRequest",
    "OrganizationList",
    "ProviderName",
    "Team",
    "TeamCreateRequest",
    "TeamCreated",
    "TeamLimitsRequest",
    "TeamList",
    "TeamListQuery",
    "TeamStatus",
]

ProviderName = Literal["openai", "mock"]
TeamStatus = Literal["active", "suspended"]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
_Credits = Annotated[Count, Field(ge=0, le=1_000_000_000_000)]
_Limit = Annotated[Count, Field(ge=1, le=1_000_000_000)]


class OrganizationCreateRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"organization_id": "org_acme", "name": "ACME Corporation"}]
        },
    )
    organization_id: Identifier
    name: _Name
    metadata: Metadata | None = None


class Organization(ResponseModel):
    organization_id: str
    name: str
    metadata: dict[str, object] = Field(default_factory=dict)
    created_at: datetime


class ModelAccessGroupCreateRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"group_name": "gpt-models", "description": "GPT models"}]},
    )
    group_name: Identifier
    description: ShortText | None = None


class ModelAccessGroup(ResponseModel):
    group_name: str
    description: str | None = None
    created_at: datetime


class _DeploymentFields(BaseModel):
    provider: ProviderName
    model: ModelName
    api_base: (
        Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s]+$"), NoNul]
        | None
    ) = None
    input_cost_per_million: Price = 0.0
    output_cost_per_million: Price = 0.0
    timeout: Annotated[float, Field(gt=0, le=3600)] | None = Field(
        default=None,
        description="Seconds per call to this deployment; default SAAS_LITELLM_UPSTREAM_TIMEOUT.",
    )


class Deployment(_DeploymentFields, RequestModel):
    """One upstream behind a model alias. The first of an alias is primary, the rest fallbacks."""


class DeploymentInfo(_DeploymentFields, ResponseModel):
    """A deployment as the server reports it (lenient, like every response)."""


AliasMode = Literal["chat", "embedding"]
"""What an alias serves: chat completions (llm-call, ``/v1/chat/completions``) or embeddings
(``…/embeddings``, ``/v1/embeddings``); a call of the other kind is refused (400
``model_mode_mismatch``)."""


class ModelAliasCreateRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_alias": "ChatAgent",
                    "access_groups": ["gpt-models"],
                    "deployments": [
                        {
                            "provider": "openai",
                            "model": "gpt-4o-mini",
                            "input_cost_per_million": 0.15,
                            "output_cost_per_million": 0.6,
                        },
                        {"provider": "openai", "model": "gpt-4o"},
                    ],
                }
            ]
        },
    )
    model_alias: Annotated[ModelName, NotReserved]
    access_groups: Annotated[list[Identifier], Field(max_length=64)] = Field(default_factory=list)
    deployments: Annotated[list[Deployment], Field(min_length=1, max_length=16)]
    mode: AliasMode = Field(
        default="chat",
        description="'embedding' for an alias whose deployments serve embeddings (priced per "
        "input token: their output price is unused).",
    )


class ModelAlias(ResponseModel):
    model_alias: str
    access_groups: list[str]
    deployments: list[DeploymentInfo]
    mode: AliasMode = Field(default="chat", description="What the alias serves.")
    public: bool = Field(default=False, description="Open to every team (the built-in default).")
    created_at: datetime


_STORE_CONTENT = (
    "Keep each call's content (the request's messages, the response's text; bounded) with "
    "its record, shown in the call detail to the operator and the team. Off by default."
)


class TeamCreateRequest(_BudgetFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "org_acme",
                    "team_id": "acme-corp",
                    "team_alias": "ACME Corp Team",
                    "access_groups": ["gpt-models"],
                    "credits_allocated": 1000,
                }
            ]
        },
    )
    organization_id: Identifier
    team_id: Identifier
    team_alias: _Name | None = None
    access_groups: Annotated[list[Identifier], Field(max_length=64)] = Field(default_factory=list)
    credits_allocated: _Credits = 0
    default_model: ModelName | None = None
    rpm_limit: _Limit | None = Field(default=None, description="LLM requests per minute.")
    tpm_limit: _Limit | None = Field(default=None, description="LLM tokens per minute.")
    metadata: Metadata | None = None
    budget_mode: BudgetMode | None = Field(
        default=None,
        description="How the team's jobs are charged (docs/billing.md); null: job_based.",
    )
    tokens_per_credit: TokensPerCredit | None = Field(
        default=None, description="consumption_tokens: tokens one credit buys."
    )
    credits_per_dollar: CreditsPerDollar | None = Field(
        default=None, description="consumption_usd: credits one US dollar of client cost costs."
    )
    markup_percent: MarkupPercent | None = Field(
        default=None,
        description="Percent added to the provider's cost to make the client's; null: 0.",
    )
    low_balance_threshold: Threshold | None = Field(
        default=None, description="credits_remaining at or below which credits.low is emitted."
    )
    store_content: bool | None = Field(default=None, description=_STORE_CONTENT + " null: off.")


class TeamLimitsRequest(UpdateRequest):
    """Body of ``POST /api/teams/{team_id}/limits``.

    A field left out keeps its current value; an explicit ``null`` removes that limit.
    """

    rpm_limit: _Limit | None = None
    tpm_limit: _Limit | None = None


class TeamCreated(ResponseModel):
    """Response of ``POST /api/teams/create``; the only time the virtual key is shown."""

    team_id: str
    organization_id: str
    team_alias: str | None = None
    access_groups: list[str]
    virtual_key: str
    key_id: str | None = None
    credits_allocated: int
    credits_remaining: int


class Team(ResponseModel):
    team_id: str
    organization_id: str
    team_alias: str | None = None
    access_groups: list[str]
    default_model: str | None = None
    status: TeamStatus
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    credits_remaining: int
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    metadata: dict[str, object] = Field(default_factory=dict)
    created_at: datetime
    budget_mode: BudgetMode = "job_based"
    tokens_per_credit: int | None = None
    credits_per_dollar: float | None = None
    markup_percent: float = 0.0
    low_balance_threshold: int | None = None
    auto_refill: AutoRefill | None = None
    store_content: bool = Field(default=False, description=_STORE_CONTENT)


class CreditsAddRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credits": 500, "reason": "monthly top-up"}]},
    )
    credits: Annotated[Count, Field(gt=0, le=1_000_000_000)]
    reason: ShortText | None = None


class CreditsAdjustRequest(RequestModel):
    """Body of ``POST /api/teams/{team_id}/credits/adjust``: a correction of the balance, up or
    down (a ledger ``adjustment``), with the reason the ledger keeps."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credits": -20, "reason": "refund of a duplicate grant"}]},
    )
    credits: Annotated[Count, Field(ge=-1_000_000_000, le=1_000_000_000)] = Field(
        description="Signed, not 0: added to (or taken from) credits_remaining. A negative "
        "adjustment takes only credits that are available (remaining, less what open jobs "
        "hold): 409 otherwise."
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000), NoNul]

    @model_validator(mode="after")
    def _not_zero(self) -> CreditsAdjustRequest:
        if self.credits == 0:
            raise ValueError("credits must not be 0")
        return self


class KeyRotation(ResponseModel):
    """Response of ``POST /api/teams/{team_id}/rotate-key``: the team's new key, shown once.

    The keys it replaces stop working at ``previous_keys_expire_at`` (at once without a grace
    period)."""

    team_id: str
    virtual_key: str
    key_id: str | None = None
    prefix: str | None = None
    previous_keys_expire_at: datetime | None = None


_NEXT_CURSOR = Field(
    default=None, description="Pass as ``cursor`` for the next page; null on the last page."
)


class OrganizationList(ResponseModel):
    """Response of ``GET /api/organizations``: newest first, one page at a time."""

    organizations: list[Organization]
    next_cursor: str | None = _NEXT_CURSOR


class ModelAccessGroupList(ResponseModel):
    """Response of ``GET /api/model-access-groups``: newest first, one page at a time."""

    model_access_groups: list[ModelAccessGroup]
    next_cursor: str | None = _NEXT_CURSOR


class ModelAliasListQuery(PageQuery):
    """Query of ``GET /api/model-aliases``."""

    access_group: FilterId | None = Field(
        default=None, description="Only aliases in this model access group."
    )


class ModelAliasList(ResponseModel):
    """Response of ``GET /api/model-aliases``: newest first, one page at a time."""

    model_aliases: list[ModelAlias]
    next_cursor: str | None = _NEXT_CURSOR


class TeamListQuery(PageQuery):
    """Query of ``GET /api/teams``."""

    organization_id: FilterId | None = Field(
        default=None, description="Only this organization's teams."
    )
    status: TeamStatus | None = Field(default=None, description="Only teams in this status.")
    access_group: FilterId | None = Field(
        default=None, description="Only teams granted this model access group."
    )


class TeamList(ResponseModel):
    """Response of ``GET /api/teams``: newest first, one page at a time."""

    teams: list[Team]
    next_cursor: str | None = _NEXT_CURSOR
