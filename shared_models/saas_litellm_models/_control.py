"""Shapes of the control plane's changes: updates (``PATCH``), removals (``DELETE``), a team's
virtual keys and the audit log.

An update names only what changes: a field left out stays as it is; ``null`` clears a field
that may be empty (a team's alias or default model, a group's description) and is refused for
one that may not (a name, a list of deployments).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, JsonValue, StringConstraints

from ._admin import AliasMode, Deployment
from ._base import (
    Count,
    Identifier,
    Metadata,
    ModelName,
    NoNul,
    PageQuery,
    RequestModel,
    ResponseModel,
    ShortText,
    UpdateRequest,
    UtcTime,
)
from ._billing import (
    BudgetMode,
    CreditsPerDollar,
    MarkupPercent,
    Threshold,
    TokensPerCredit,
)

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditLogQuery",
    "Deleted",
    "DeletedKind",
    "KeyCreateRequest",
    "KeyCreated",
    "KeyList",
    "KeyRotateRequest",
    "ModelAccessGroupUpdateRequest",
    "ModelAliasUpdateRequest",
    "OrganizationUpdateRequest",
    "TeamUpdateRequest",
    "VirtualKeyInfo",
]

_Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
MAX_GRACE_SECONDS = 30 * 24 * 3600


class OrganizationUpdateRequest(UpdateRequest):
    """Body of ``PATCH /api/organizations/{organization_id}``."""

    _required: ClassVar[tuple[str, ...]] = ("name", "metadata")
    name: _Name | None = None
    metadata: Metadata | None = Field(default=None, description="Replaces the whole object.")


class ModelAccessGroupUpdateRequest(UpdateRequest):
    """Body of ``PATCH /api/model-access-groups/{group_name}``."""

    description: ShortText | None = None


class ModelAliasUpdateRequest(UpdateRequest):
    """Body of ``PATCH /api/model-aliases/{model_alias}``.

    ``deployments`` replaces the whole list (its order is the fallback order); new prices apply
    to calls made after the change, recorded calls keep their cost.
    """

    _required: ClassVar[tuple[str, ...]] = ("access_groups", "deployments", "mode")
    access_groups: Annotated[list[Identifier], Field(max_length=64)] | None = None
    deployments: Annotated[list[Deployment], Field(min_length=1, max_length=16)] | None = None
    mode: AliasMode | None = Field(default=None, description="'chat' or 'embedding'.")


class TeamUpdateRequest(UpdateRequest):
    """Body of ``PATCH /api/teams/{team_id}``; ``access_groups`` replaces the whole list.

    A new ``budget_mode`` (or rate, or markup) applies to jobs opened after the change; open
    jobs keep the settings they were opened with."""

    _required: ClassVar[tuple[str, ...]] = (
        "access_groups",
        "metadata",
        "budget_mode",
        "markup_percent",
        "store_content",
    )
    team_alias: _Name | None = None
    access_groups: Annotated[list[Identifier], Field(max_length=64)] | None = None
    metadata: Metadata | None = Field(default=None, description="Replaces the whole object.")
    default_model: ModelName | None = None
    budget_mode: BudgetMode | None = None
    tokens_per_credit: TokensPerCredit | None = None
    credits_per_dollar: CreditsPerDollar | None = None
    markup_percent: MarkupPercent | None = None
    low_balance_threshold: Threshold | None = Field(
        default=None, description="null removes the threshold."
    )
    store_content: bool | None = Field(
        default=None,
        description="Keep each call's content with its record (bounded); off by default.",
    )


DeletedKind = Literal[
    "organization", "model_access_group", "model_alias", "team", "webhook", "operator"
]


class Deleted(ResponseModel):
    """Response of a ``DELETE``: what was removed. History (jobs, calls, costs) stays."""

    object: DeletedKind
    id: str
    deleted: bool = True


class KeyCreateRequest(RequestModel):
    """Body of ``POST /api/teams/{team_id}/keys``."""

    name: _Name | None = None
    expires_at: UtcTime | None = Field(
        default=None, description="When the key stops working (ISO 8601; naive means UTC)."
    )


class KeyCreated(ResponseModel):
    """Response of ``POST /api/teams/{team_id}/keys``: the only time the key is shown."""

    key_id: str
    team_id: str
    virtual_key: str
    name: str | None = None
    prefix: str
    expires_at: datetime | None = None
    created_at: datetime


class VirtualKeyInfo(ResponseModel):
    """A key as listed: everything but the key itself (the server keeps only its hash)."""

    key_id: str
    name: str | None = None
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="When it last authenticated a request (to the minute)."
    )
    revoked_at: datetime | None = None


class KeyList(ResponseModel):
    """Response of ``GET /api/teams/{team_id}/keys``: newest first, revoked keys included."""

    keys: list[VirtualKeyInfo]


class KeyRotateRequest(RequestModel):
    """Body of ``POST /api/teams/{team_id}/rotate-key`` (optional)."""

    grace_seconds: Annotated[Count, Field(ge=0, le=MAX_GRACE_SECONDS)] | None = Field(
        default=None,
        description="How long the team's current keys keep working; default 0 (stop at once).",
    )


class AuditLogQuery(PageQuery):
    """Query of ``GET /api/audit-log``."""

    actor: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] | None = Field(
        default=None,
        description="Only changes by actors starting with this (admin-key, local-dev, "
        "dashboard — every dashboard:<session> —, config, …).",
    )
    action: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul] | None = Field(
        default=None, description="Only this action (team.update, …)."
    )
    target: Annotated[str, StringConstraints(min_length=1, max_length=300), NoNul] | None = Field(
        default=None, description="Only changes of this target (team:acme-corp, …)."
    )
    since: UtcTime | None = Field(default=None, description="Only changes at or after this time.")


class AuditEvent(ResponseModel):
    """One admin change: who, what, and the fields before and after (never a key)."""

    event_id: str
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, JsonValue] | None = None
    after: dict[str, JsonValue] | None = None


class AuditLog(ResponseModel):
    """Response of ``GET /api/audit-log``: newest first, one page at a time."""

    events: list[AuditEvent]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )
