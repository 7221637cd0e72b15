"""Every server endpoint the SDK calls, declared once: method, path, request and response model,
query parameters, and whether the server de-duplicates it under an ``Idempotency-Key``.

Every admin ``POST`` is de-duplicated. ``PUT``, ``PATCH`` and ``DELETE`` are not, and need not
be: a put or an update sets fields to given values and a removal removes, so running one twice
leaves the same state as running it once (they are retried like any other replay-safe call).
A ``PATCH`` body holds only the fields the caller gave (the request layer sends it
``exclude_unset``): a field left out is unchanged, an explicit ``null`` clears it.

The client methods call :meth:`_BaseClient._request` (or ``_request_stream``) with one of these,
and the request layer derives from it what it sends: the URL, whether an ``Idempotency-Key`` goes
with the request, what the body must be and what the response is parsed into. So this table is
what the SDK does, and ``tests/test_contract.py`` holds it to the server's OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from saas_litellm_models import (
    AuditLog,
    AutoRefillRequest,
    CreateAndCallRequest,
    CreateAndCallResponse,
    CreditBalance,
    CreditsAddRequest,
    CreditsAdjustRequest,
    CreditTransactionList,
    Deleted,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    JobList,
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    LLMCallRequest,
    LLMCallResponse,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupList,
    ModelAccessGroupUpdateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    ModelAliasList,
    ModelAliasUpdateRequest,
    Organization,
    OrganizationCreateRequest,
    OrganizationList,
    OrganizationUpdateRequest,
    OrganizationUsage,
    RequestModel,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamList,
    TeamUpdateRequest,
    TeamUsage,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookList,
)

from ._utils import path_segment, with_query

__all__ = ["ENDPOINTS", "STREAM_EVENTS", "Endpoint"]

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)

STREAM_EVENTS: tuple[type[BaseModel], ...] = (StreamChunk, StreamDone, StreamErrorEvent)
"""What the ``data`` of each Server-Sent Event of a ``stream=True`` endpoint parses into."""


@dataclass(frozen=True)
class Endpoint(Generic[_ResponseT]):
    """One server operation as the SDK calls it.

    ``response`` is the model a 2xx body is parsed into (for a ``stream`` endpoint: its chunks,
    one of :data:`STREAM_EVENTS`). ``idempotent``: the server de-duplicates the operation under
    an ``Idempotency-Key``, so the SDK sends one (the same on every retry) and takes
    ``idempotency_key=``; other operations are sent without one. ``replay_safe=False`` marks an
    operation that must not run twice and that the server does not de-duplicate: it is then
    retried only after failures that prove it was never sent.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    response: type[_ResponseT]
    request: type[RequestModel] | None = None
    query: tuple[str, ...] = ()
    idempotent: bool = False
    stream: bool = False
    replay_safe: bool = True
    path_params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(re.findall(r"{(\w+)}", self.path)))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url_path(
        self, params: Mapping[str, str] | None = None, query: Mapping[str, object] | None = None
    ) -> str:
        """The path with ``params`` filled in (each quoted as one segment) and ``query`` (its
        ``None`` values left out) appended. Raises ``TypeError`` for parameters this endpoint
        does not declare: a client method out of step with its table entry."""
        params = params or {}
        query = query or {}
        if set(params) != set(self.path_params):
            raise TypeError(f"{self} takes path parameters {self.path_params}, got {set(params)}")
        unknown = set(query) - set(self.query)
        if unknown:
            raise TypeError(f"{self} has no query parameter(s) {sorted(unknown)}")
        path = self.path.format(**{name: path_segment(v, name) for name, v in params.items()})
        return with_query(path, **query)


# -- jobs and LLM calls (virtual key) ----------------------------------------------------------

CREATE_JOB = Endpoint("POST", "/api/jobs/create", Job, request=JobCreateRequest, idempotent=True)
GET_JOB = Endpoint("GET", "/api/jobs/{job_id}", JobDetail)
COMPLETE_JOB = Endpoint(
    "POST",
    "/api/jobs/{job_id}/complete",
    JobCompletion,
    request=JobCompleteRequest,
    idempotent=True,
)
LLM_CALL = Endpoint(
    "POST",
    "/api/jobs/{job_id}/llm-call",
    LLMCallResponse,
    request=LLMCallRequest,
    idempotent=True,
)
LLM_CALL_STREAM = Endpoint(
    "POST",
    "/api/jobs/{job_id}/llm-call-stream",
    StreamChunk,
    request=LLMCallRequest,
    idempotent=True,
    stream=True,
)
CREATE_AND_CALL = Endpoint(
    "POST",
    "/api/jobs/create-and-call",
    CreateAndCallResponse,
    request=CreateAndCallRequest,
    idempotent=True,
)
CREATE_AND_CALL_STREAM = Endpoint(
    "POST",
    "/api/jobs/create-and-call-stream",
    StreamChunk,
    request=CreateAndCallRequest,
    idempotent=True,
    stream=True,
)

# -- credits and usage (virtual key; usage and jobs also admin) ----------------------------------

GET_BALANCE = Endpoint("GET", "/api/credits/balance", CreditBalance)
GET_TEAM_USAGE = Endpoint("GET", "/api/teams/{team_id}/usage", TeamUsage, query=("since", "until"))
LIST_TEAM_JOBS = Endpoint(
    "GET", "/api/teams/{team_id}/jobs", JobList, query=("status", "limit", "cursor")
)
LIST_TRANSACTIONS = Endpoint(
    "GET",
    "/api/teams/{team_id}/transactions",
    CreditTransactionList,
    query=("kind", "limit", "cursor"),
)

# -- admin --------------------------------------------------------------------------------------

CREATE_ORGANIZATION = Endpoint(
    "POST",
    "/api/organizations/create",
    Organization,
    request=OrganizationCreateRequest,
    idempotent=True,
)
CREATE_MODEL_ACCESS_GROUP = Endpoint(
    "POST",
    "/api/model-access-groups/create",
    ModelAccessGroup,
    request=ModelAccessGroupCreateRequest,
    idempotent=True,
)
CREATE_MODEL_ALIAS = Endpoint(
    "POST",
    "/api/model-aliases/create",
    ModelAlias,
    request=ModelAliasCreateRequest,
    idempotent=True,
)
GET_MODEL_ALIAS = Endpoint("GET", "/api/model-aliases/{model_alias}", ModelAlias)
CREATE_TEAM = Endpoint(
    "POST", "/api/teams/create", TeamCreated, request=TeamCreateRequest, idempotent=True
)
GET_TEAM = Endpoint("GET", "/api/teams/{team_id}", Team)
ADD_CREDITS = Endpoint(
    "POST",
    "/api/teams/{team_id}/credits/add",
    CreditBalance,
    request=CreditsAddRequest,
    idempotent=True,
)
ADJUST_CREDITS = Endpoint(
    "POST",
    "/api/teams/{team_id}/credits/adjust",
    CreditBalance,
    request=CreditsAdjustRequest,
    idempotent=True,
)
ROTATE_KEY = Endpoint(
    "POST",
    "/api/teams/{team_id}/rotate-key",
    KeyRotation,
    request=KeyRotateRequest,
    idempotent=True,
)
SET_LIMITS = Endpoint(
    "POST", "/api/teams/{team_id}/limits", Team, request=TeamLimitsRequest, idempotent=True
)
SET_AUTO_REFILL = Endpoint(
    "PUT", "/api/teams/{team_id}/auto-refill", Team, request=AutoRefillRequest
)
DELETE_AUTO_REFILL = Endpoint("DELETE", "/api/teams/{team_id}/auto-refill", Team)
SUSPEND_TEAM = Endpoint("POST", "/api/teams/{team_id}/suspend", Team, idempotent=True)
RESUME_TEAM = Endpoint("POST", "/api/teams/{team_id}/resume", Team, idempotent=True)

# -- admin views of the control plane (newest first, cursor-paginated) --------------------------

_PAGE = ("limit", "cursor")
LIST_ORGANIZATIONS = Endpoint("GET", "/api/organizations", OrganizationList, query=_PAGE)
GET_ORGANIZATION = Endpoint("GET", "/api/organizations/{organization_id}", Organization)
GET_ORGANIZATION_USAGE = Endpoint(
    "GET", "/api/organizations/{organization_id}/usage", OrganizationUsage, query=("since", "until")
)
LIST_MODEL_ACCESS_GROUPS = Endpoint(
    "GET", "/api/model-access-groups", ModelAccessGroupList, query=_PAGE
)
LIST_MODEL_ALIASES = Endpoint(
    "GET", "/api/model-aliases", ModelAliasList, query=("access_group", *_PAGE)
)
LIST_TEAMS = Endpoint(
    "GET", "/api/teams", TeamList, query=("organization_id", "status", "access_group", *_PAGE)
)
LIST_JOBS = Endpoint(
    "GET",
    "/api/jobs",
    JobList,
    query=("team_id", "organization_id", "status", "job_type", "since", "until", *_PAGE),
)

# -- admin changes and removals (not de-duplicated: see the module docstring) -------------------

UPDATE_TEAM = Endpoint("PATCH", "/api/teams/{team_id}", Team, request=TeamUpdateRequest)
DELETE_TEAM = Endpoint("DELETE", "/api/teams/{team_id}", Deleted)
UPDATE_ORGANIZATION = Endpoint(
    "PATCH",
    "/api/organizations/{organization_id}",
    Organization,
    request=OrganizationUpdateRequest,
)
DELETE_ORGANIZATION = Endpoint("DELETE", "/api/organizations/{organization_id}", Deleted)
UPDATE_MODEL_ACCESS_GROUP = Endpoint(
    "PATCH",
    "/api/model-access-groups/{group_name}",
    ModelAccessGroup,
    request=ModelAccessGroupUpdateRequest,
)
DELETE_MODEL_ACCESS_GROUP = Endpoint("DELETE", "/api/model-access-groups/{group_name}", Deleted)
UPDATE_MODEL_ALIAS = Endpoint(
    "PATCH", "/api/model-aliases/{model_alias}", ModelAlias, request=ModelAliasUpdateRequest
)
DELETE_MODEL_ALIAS = Endpoint("DELETE", "/api/model-aliases/{model_alias}", Deleted)

# -- a team's virtual keys and the audit log (admin) --------------------------------------------

CREATE_KEY = Endpoint(
    "POST", "/api/teams/{team_id}/keys", KeyCreated, request=KeyCreateRequest, idempotent=True
)
LIST_KEYS = Endpoint("GET", "/api/teams/{team_id}/keys", KeyList)
REVOKE_KEY = Endpoint("DELETE", "/api/teams/{team_id}/keys/{key_id}", VirtualKeyInfo)
LIST_AUDIT_LOG = Endpoint(
    "GET", "/api/audit-log", AuditLog, query=("actor", "action", "target", "since", *_PAGE)
)

# -- webhooks (admin) ---------------------------------------------------------------------------

CREATE_WEBHOOK = Endpoint(
    "POST", "/api/webhooks", WebhookCreated, request=WebhookCreateRequest, idempotent=True
)
LIST_WEBHOOKS = Endpoint("GET", "/api/webhooks", WebhookList, query=_PAGE)
DELETE_WEBHOOK = Endpoint("DELETE", "/api/webhooks/{webhook_id}", Deleted)
LIST_WEBHOOK_DELIVERIES = Endpoint(
    "GET",
    "/api/webhooks/{webhook_id}/deliveries",
    WebhookDeliveryList,
    query=("status", *_PAGE),
)
RETRY_WEBHOOK_DELIVERY = Endpoint(
    "POST",
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    WebhookDelivery,
    idempotent=True,
)

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    CREATE_JOB,
    GET_JOB,
    COMPLETE_JOB,
    LLM_CALL,
    LLM_CALL_STREAM,
    CREATE_AND_CALL,
    CREATE_AND_CALL_STREAM,
    GET_BALANCE,
    GET_TEAM_USAGE,
    LIST_TEAM_JOBS,
    LIST_TRANSACTIONS,
    CREATE_ORGANIZATION,
    CREATE_MODEL_ACCESS_GROUP,
    CREATE_MODEL_ALIAS,
    GET_MODEL_ALIAS,
    CREATE_TEAM,
    GET_TEAM,
    ADD_CREDITS,
    ADJUST_CREDITS,
    ROTATE_KEY,
    SET_LIMITS,
    SET_AUTO_REFILL,
    DELETE_AUTO_REFILL,
    SUSPEND_TEAM,
    RESUME_TEAM,
    LIST_ORGANIZATIONS,
    GET_ORGANIZATION,
    GET_ORGANIZATION_USAGE,
    LIST_MODEL_ACCESS_GROUPS,
    LIST_MODEL_ALIASES,
    LIST_TEAMS,
    LIST_JOBS,
    UPDATE_TEAM,
    DELETE_TEAM,
    UPDATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    UPDATE_MODEL_ACCESS_GROUP,
    DELETE_MODEL_ACCESS_GROUP,
    UPDATE_MODEL_ALIAS,
    DELETE_MODEL_ALIAS,
    CREATE_KEY,
    LIST_KEYS,
    REVOKE_KEY,
    LIST_AUDIT_LOG,
    CREATE_WEBHOOK,
    LIST_WEBHOOKS,
    DELETE_WEBHOOK,
    LIST_WEBHOOK_DELIVERIES,
    RETRY_WEBHOOK_DELIVERY,
)
"""Every endpoint above (what the contract test compares with the server's OpenAPI)."""
