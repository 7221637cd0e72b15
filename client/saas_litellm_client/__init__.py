"""Typed Python SDK for saas-litellm (async and synchronous): a job-based, multi-tenant LLM API.

::

    from saas_litellm_client import SaasLiteLLMClient

    async with SaasLiteLLMClient(base_url=..., team_id=..., virtual_key=...) as client:
        job = await client.create_job("document_analysis")
        resp = await client.llm_call(job_id=job.job_id, messages=[{"role": "user", ...}])
        async with client.stream(job_id=job.job_id, messages=[...]) as stream:
            async for chunk in stream:
                print(chunk.content, end="")
        person = await client.structured_call(
            job_id=job.job_id, messages=[...], response_model=Person
        )
        result = await client.complete_job(job.job_id, "completed")
        print(result.credits_remaining)

:class:`SaasLiteLLMSyncClient` and :class:`SaasLiteLLMSyncAdminClient` are the same clients for
code without an event loop — the same methods, without ``await`` (``with`` and ``for`` instead
of ``async with`` and ``async for``) — generated from the async ones.

Responses are the models of ``saas_litellm_models`` (the most used are re-exported here);
every failure is a :class:`SaasLiteLLMError`. ``request_id_of(obj)`` gives the server's request
id behind any response. :class:`CallParams` types the parameters of an LLM call (for a wrapper
of your own: ``**params: Unpack[CallParams]``). Retries, idempotency keys, deadlines,
``client.job(...)`` and logging (``SAAS_LITELLM_LOG=info|debug``) are described in
``docs/sdk.md``.
"""

from saas_litellm_models import (
    AuditEvent,
    AuditLog,
    AutoRefill,
    ChatMessage,
    CreateAndCallResponse,
    CreditBalance,
    CreditsExhaustedEvent,
    CreditsLowEvent,
    CreditsRefilledEvent,
    CreditTransaction,
    CreditTransactionList,
    Deleted,
    Deployment,
    EmbeddingsResponse,
    Job,
    JobCompletedEvent,
    JobCompletion,
    JobCosts,
    JobDetail,
    JobFailedEvent,
    JobLimits,
    JobList,
    KeyCreated,
    KeyList,
    KeyRotation,
    LLMCallDetail,
    LLMCallResponse,
    ModelAccessGroup,
    ModelAccessGroupList,
    ModelAlias,
    ModelAliasList,
    OperatorCreated,
    OperatorInfo,
    OperatorList,
    Organization,
    OrganizationList,
    OrganizationUsage,
    StreamChunk,
    StreamDone,
    Team,
    TeamCreated,
    TeamList,
    TeamSuspendedEvent,
    TeamUsage,
    Usage,
    UsageGroupBy,
    UsageReport,
    UsageReportRow,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEvent,
    WebhookEventBody,
    WebhookInfo,
    WebhookList,
    WebhookTestEvent,
)

from ._admin_client import SaasLiteLLMAdminClient
from ._client import SaasLiteLLMClient
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    JobBudgetExceededError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    SaasLiteLLMError,
    StreamError,
    StructuredOutputError,
    StructuredOutputRefusedError,
    StructuredOutputTruncatedError,
    UnprocessableEntityError,
    UpstreamError,
    UpstreamTimeoutError,
    WebhookVerificationError,
)
from ._jobs import JobHandle
from ._logs import setup_logging as _setup_logging
from ._pagination import AsyncPaginator, Page, SyncPage
from ._params import CallParams, StructuredCallParams
from ._request_id import request_id_of
from ._response import RawResponse
from ._streaming import ChatStream
from ._strict_schema import StrictSchemaError, to_strict_json_schema
from ._structured_calls import StructuredStream
from ._sync_admin_client import SaasLiteLLMSyncAdminClient
from ._sync_client import SaasLiteLLMSyncClient
from ._sync_jobs import SyncJobHandle
from ._sync_streaming import SyncChatStream
from ._sync_structured_calls import SyncStructuredStream
from ._types import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    AssistantMessageParam,
    DeveloperMessageParam,
    FunctionCallParam,
    IdempotentRequestOptions,
    MessageParam,
    NotGiven,
    RequestOptions,
    SystemMessageParam,
    ToolCallParam,
    ToolMessageParam,
    UserMessageParam,
)
from ._version import __version__
from ._webhooks import verify_webhook

_setup_logging()

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantMessageParam",
    "AsyncPaginator",
    "AuditEvent",
    "AuditLog",
    "AuthenticationError",
    "AutoRefill",
    "BadRequestError",
    "CallParams",
    "ChatMessage",
    "ChatStream",
    "ConflictError",
    "CreateAndCallResponse",
    "CreditBalance",
    "CreditTransaction",
    "CreditTransactionList",
    "CreditsExhaustedEvent",
    "CreditsLowEvent",
    "CreditsRefilledEvent",
    "Deleted",
    "Deployment",
    "DeveloperMessageParam",
    "EmbeddingsResponse",
    "FunctionCallParam",
    "IdempotentRequestOptions",
    "InsufficientCreditsError",
    "InternalServerError",
    "Job",
    "JobBudgetExceededError",
    "JobCompletedEvent",
    "JobCompletion",
    "JobCosts",
    "JobDetail",
    "JobFailedEvent",
    "JobHandle",
    "JobLimits",
    "JobList",
    "KeyCreated",
    "KeyList",
    "KeyRotation",
    "LLMCallDetail",
    "LLMCallResponse",
    "MessageParam",
    "ModelAccessGroup",
    "ModelAccessGroupList",
    "ModelAlias",
    "ModelAliasList",
    "NotFoundError",
    "NotGiven",
    "OperatorCreated",
    "OperatorInfo",
    "OperatorList",
    "Organization",
    "OrganizationList",
    "OrganizationUsage",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RequestOptions",
    "RequestTooLargeError",
    "SaasLiteLLMAdminClient",
    "SaasLiteLLMClient",
    "SaasLiteLLMError",
    "SaasLiteLLMSyncAdminClient",
    "SaasLiteLLMSyncClient",
    "StreamChunk",
    "StreamDone",
    "StreamError",
    "StrictSchemaError",
    "StructuredCallParams",
    "StructuredOutputError",
    "StructuredOutputRefusedError",
    "StructuredOutputTruncatedError",
    "StructuredStream",
    "SyncChatStream",
    "SyncJobHandle",
    "SyncPage",
    "SyncStructuredStream",
    "SystemMessageParam",
    "Team",
    "TeamCreated",
    "TeamList",
    "TeamSuspendedEvent",
    "TeamUsage",
    "ToolCallParam",
    "ToolMessageParam",
    "UnprocessableEntityError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "Usage",
    "UsageGroupBy",
    "UsageReport",
    "UsageReportRow",
    "UserMessageParam",
    "VirtualKeyInfo",
    "WebhookCreated",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookEvent",
    "WebhookEventBody",
    "WebhookInfo",
    "WebhookList",
    "WebhookTestEvent",
    "WebhookVerificationError",
    "__version__",
    "request_id_of",
    "to_strict_json_schema",
    "verify_webhook",
]
