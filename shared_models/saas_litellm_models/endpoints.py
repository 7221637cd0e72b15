"""Every endpoint of the API, declared once.

Each :class:`Endpoint` below is the only declaration of its endpoint: method, path, auth, the
models of its path, query, body and response, whether it streams, whether it honours an
``Idempotency-Key``, the errors its own logic can answer, and the SDK methods that call it.
Everything else is built from this table:

- the server's routes and its OpenAPI document (``saas_litellm_server.routes``: a route is
  ``api_route(endpoints.CREATE_TEAM, handler)``, the handler adds only its code);
- the SDK's endpoint methods (``scripts/generate_sdk.py`` writes
  ``saas_litellm_client/_endpoint_methods.py`` from it; ``scripts/unasync.py`` its synchronous
  twin; ``tests/test_generate_sdk.py`` fails when either is stale).

Adding an endpoint is one row here, a handler on the server and a regenerate.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from saas_litellm_models import (
    AnthropicMessage,
    AuditLog,
    AuditLogQuery,
    AutoRefillRequest,
    ChatCompletion,
    ChatCompletionRequest,
    CreateAndCallRequest,
    CreateAndCallResponse,
    CreditBalance,
    CreditsAddRequest,
    CreditsAdjustRequest,
    CreditTransactionList,
    CreditTransactionListQuery,
    Deleted,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Health,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    JobList,
    JobListQuery,
    JobSearchQuery,
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    LLMCallDetail,
    LLMCallRequest,
    LLMCallResponse,
    MessagesRequest,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupList,
    ModelAccessGroupUpdateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    ModelAliasList,
    ModelAliasListQuery,
    ModelAliasUpdateRequest,
    OpenAIEmbeddingsRequest,
    OpenAIModelList,
    OperatorCreated,
    OperatorCreateRequest,
    OperatorInfo,
    OperatorList,
    OperatorRole,
    OperatorUpdateRequest,
    Organization,
    OrganizationCreateRequest,
    OrganizationList,
    OrganizationUpdateRequest,
    OrganizationUsage,
    PageQuery,
    QueryModel,
    ResponseContentPartEvent,
    ResponseCreateRequest,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseLifecycleEvent,
    ResponseObject,
    ResponseOutputItemEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamList,
    TeamListQuery,
    TeamUpdateRequest,
    TeamUsage,
    UsageQuery,
    UsageReport,
    UsageReportQuery,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookDeliveryListQuery,
    WebhookList,
    role_allows,
)

__all__ = [
    "ENDPOINTS",
    "STREAM_EVENTS",
    "Auth",
    "Endpoint",
    "OperatorRole",
    "SDKMethod",
]

Auth = Literal["admin", "team", "team_or_admin", "none"]
"""Who may call: the admin key, a team's virtual key, either (a team only for itself), anyone."""

EXPORT_ROLE: OperatorRole = "billing"
"""The least operator role that may export CSV (``?format=csv``): exports are billing's."""

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)


@dataclass(frozen=True)
class SDKMethod:
    """A method of an SDK client that calls its endpoint (the generator writes it).

    The method takes the endpoint's path parameters and body (or query) fields as arguments:
    those in ``positional`` in that order, the rest keyword-only, each with the type and default
    of its model field. ``bind`` names arguments the client fills itself (the team client's
    ``team_id``); ``defaults`` gives a required field a default in the SDK only;
    ``params`` names a ``TypedDict`` of the SDK's (``CallParams``) that holds the body fields
    not named otherwise, taken as ``**params`` (the LLM calls); ``doc`` is its docstring.
    """

    client: Literal["team", "admin"]
    name: str
    positional: tuple[str, ...] = ()
    bind: tuple[str, ...] = ()
    defaults: Mapping[str, object] = field(default_factory=dict)
    params: str | None = None
    doc: str = ""

    @property
    def docstring(self) -> str:
        return inspect.cleandoc(self.doc)


@dataclass(frozen=True)
class Endpoint(Generic[_ResponseT]):
    """Everything the API says about one endpoint."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    summary: str
    auth: Auth
    tag: str
    response: type[_ResponseT] | None
    """The model of a 2xx body (``None`` for an event stream, whose events are
    :data:`STREAM_EVENTS`)."""
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[QueryModel] | None = None
    errors: tuple[tuple[int, str], ...] = ()
    """What this endpoint's own logic can refuse with: ``(status, "type: why")``. The errors
    that follow from the rest of the declaration (auth, body, query, path, idempotency) are
    added to the OpenAPI document by the server, each with its own reason."""
    stream: bool = False
    """The response is (or, for the OpenAI surface, may be) an event stream."""
    idempotent: bool = False
    """Honours ``Idempotency-Key``: a repeat replays the first response; the SDK sends one
    with every request (the same on each retry)."""
    keeps_own_response: bool = False
    """An idempotent handler that keeps its response itself, together with its effect (LLM
    calls, which wait on an upstream); others run in one transaction that keeps it."""
    unkept_field: str | None = None
    """A response field never kept for replays (a virtual key, a secret): a replay gets a new
    one."""
    body_optional: bool = False
    """An empty body is the body model's defaults."""
    csv: bool = False
    """Also answers ``?format=csv`` (``json``, the default, gives ``response``): ``text/csv``
    with a header row, every row the query selects (not one page), streamed, as an attachment.
    For browsers and ``curl``: the SDK's methods read the JSON. An export needs an operator's
    :data:`EXPORT_ROLE` (a team's key exports what it may read)."""
    partial: bool = False
    """The body is a partial update: a field left out is unchanged, an explicit ``null``
    clears it (the SDK sends only the fields given)."""
    vary: tuple[str, ...] = ()
    """Request headers that, like the body, make a request a different one for its
    Idempotency-Key (``X-Job-Id``: the same body for another job is another request)."""
    names_job: bool = False
    """Every answer names its job in the ``X-Job-Id`` header."""
    openai: bool = False
    """On the OpenAI-compatible surface: errors in OpenAI's shape and, with ``stream``,
    streams of ``chat.completion.chunk``."""
    anthropic: bool = False
    """On Anthropic's surface: errors in Anthropic's shape and, with ``stream``, Anthropic's
    Messages stream events."""
    replay_safe: bool = True
    """``False``: must not run twice and is not de-duplicated by the server, so the SDK
    retries it only after failures that prove it was never sent."""
    description: str = ""
    sdk: tuple[SDKMethod, ...] = ()
    stream_events: tuple[type[BaseModel], ...] = ()
    """An OpenAI-surface stream that is not ``chat.completion.chunk``s: the models its
    events' ``data`` lines hold (the Responses API's events)."""
    role: OperatorRole | None = None
    """The least operator role that may call an ``admin`` endpoint (see :attr:`required_role`);
    unset: ``viewer`` for a ``GET``, ``admin`` for a change."""
    role_fields: tuple[str, ...] = ()
    """With ``role``: the only body fields that role may set; a body that sets any other field
    needs ``admin`` (``PATCH`` of a team: its billing fields need ``billing``)."""
    path_params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(re.findall(r"{(\w+)}", self.path)))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def hot(self) -> bool:
        """A call that goes upstream (a team's POST that keeps its own response: every LLM
        call, stream and embeddings surface): the server answers it on its hot path, without
        the framework's per-request layers."""
        return self.auth == "team" and self.method == "POST" and self.keeps_own_response

    @property
    def required_role(self) -> OperatorRole | None:
        """The least role an operator key needs here (``None``: operators never call it). The
        admin key acts as an ``owner``; ``team_or_admin`` endpoints are reads any role makes."""
        if self.auth in ("team", "none"):
            return None
        if self.role is not None:
            return self.role
        return "viewer" if self.method == "GET" or self.auth == "team_or_admin" else "admin"

    def role_for_format(self, csv: bool) -> OperatorRole | None:
        """The least role an operator needs for this answer: an export (CSV) is billing's."""
        need = self.required_role
        if csv and need is not None and not role_allows(need, EXPORT_ROLE):
            return EXPORT_ROLE
        return need

    def role_for(self, fields: Iterable[str]) -> OperatorRole | None:
        """The role a body setting ``fields`` needs (:attr:`role_fields`)."""
        if self.role_fields and not set(fields) <= set(self.role_fields):
            return "admin"
        return self.required_role

    @property
    def page_items(self) -> str | None:
        """For a cursor-paginated list: the name of the response field holding the page's
        items (``teams``, ``jobs``…); ``None`` for any other endpoint."""
        if self.response is None or "next_cursor" not in self.response.model_fields:
            return None
        (name,) = (
            name
            for name, info in self.response.model_fields.items()
            if typing.get_origin(info.annotation) is list
        )
        return name


BILLING_FIELDS = (
    "budget_mode",
    "tokens_per_credit",
    "credits_per_dollar",
    "markup_percent",
    "low_balance_threshold",
)
"""The fields of a team a ``billing`` operator may change (``PATCH /api/teams/{team_id}``)."""


def _sdk(*methods: SDKMethod) -> tuple[SDKMethod, ...]:
    return methods


_CALL_ERRORS = (
    (400, "invalid_request: an unknown model, or parameters that contradict each other"),
    (402, "insufficient_credits: the call's worst case does not fit the team's credits"),
    (402, "job_budget_exceeded: the call's worst case would pass one of the job's limits"),
    (403, "permission_denied: the model is outside the team's access groups"),
    (409, "conflict: the job is closed"),
    (429, "rate_limited: the team's rate limit is reached; see Retry-After"),
    (502, "upstream_error: every deployment of the model failed"),
    (504, "upstream_timeout: the upstream did not answer in time"),
)
_SHORTCUT = (
    "A job of one call in one request: the job is created (reserving a credit; 402 when none "
    "is left), the call made and recorded as llm-call makes it, and the job settled — "
    "completed (one credit) when the call succeeded, failed (nothing) when it did not. "
    "`metadata` goes on the job and the call; `X-Job-Id` names the job. "
)


HEALTH = Endpoint(
    "GET",
    "/health",
    summary="Liveness: the process is up",
    auth="none",
    tag="meta",
    response=Health,
)

READY = Endpoint(
    "GET",
    "/ready",
    summary="Readiness: the database answers and the server is not stopping",
    auth="none",
    tag="meta",
    response=Health,
    errors=((503, "service_unavailable: the database does not answer, or the server drains"),),
    description=(
        "503 `service_unavailable` (with Retry-After) while the database is unreachable, and "
        "from the moment the server is told to stop (SIGTERM: it finishes the requests in "
        "flight, then exits); route traffic on this, restart on `/health`."
    ),
)

CREATE_JOB = Endpoint(
    "POST",
    "/api/jobs/create",
    summary="Create a job",
    auth="team",
    tag="jobs",
    response=Job,
    status=201,
    body=JobCreateRequest,
    errors=(
        (
            402,
            "insufficient_credits: no credit available to reserve; the body says "
            "credits_remaining, credits_reserved and credits_available",
        ),
    ),
    idempotent=True,
    description=(
        "Reserves one credit until the job is closed: spent if it completes with a successful "
        "call, released otherwise; 402 (with the balance) when the team has none left to reserve."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "create_job",
            positional=("job_type",),
            bind=("team_id",),
            doc="""
            Open a job, reserving one credit until it completes (spent) or fails (released).

            ``limits`` (``{"max_tokens", "max_cost_usd", "max_credits"}``) cap the job: a call
            whose worst case would pass one raises :class:`JobBudgetExceededError` before it goes
            upstream. Raises :class:`InsufficientCreditsError` when the team has no unreserved
            credit left.
            Invalid arguments raise pydantic's ``ValidationError`` before anything is sent.
            Prefer :meth:`job`, which also completes (or fails) the job.
            """,
        ),
    ),
)

GET_JOB = Endpoint(
    "GET",
    "/api/jobs/{job_id}",
    summary="Get a job with its calls and costs",
    auth="team",
    tag="jobs",
    response=JobDetail,
    sdk=_sdk(
        SDKMethod(
            "team",
            "get_job",
            positional=("job_id",),
            doc="""
            The job with its recorded calls and costs so far.
            """,
        ),
    ),
)

GET_CALL = Endpoint(
    "GET",
    "/api/jobs/{job_id}/calls/{call_id}",
    summary="Get one call of a job: deployments tried, figures, content",
    auth="team_or_admin",
    tag="jobs",
    response=LLMCallDetail,
    description=(
        "The admin key sees any call; a team's key only its own jobs' (another team's is 404, "
        "as its jobs are) and never the provider's cost. `request_content` and "
        "`response_content` are kept only for a team with `store_content` on."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "get_call",
            positional=("job_id", "call_id"),
            doc="""
            One recorded call of the team's job, all of it: the deployments tried, tokens,
            cost, error, and its content when the team keeps it (``store_content``).
            """,
        ),
        SDKMethod(
            "admin",
            "get_call",
            positional=("job_id", "call_id"),
            doc="""
            One recorded call of any team's job, all of it (with the provider's cost).
            """,
        ),
    ),
)

LLM_CALL = Endpoint(
    "POST",
    "/api/jobs/{job_id}/llm-call",
    summary="Make an LLM call within a job",
    auth="team",
    tag="jobs",
    response=LLMCallResponse,
    body=LLMCallRequest,
    errors=_CALL_ERRORS,
    idempotent=True,
    keeps_own_response=True,
    sdk=_sdk(
        SDKMethod(
            "team",
            "llm_call",
            params="CallParams",
            doc="""
            Make one (non-streaming) LLM call within a job; ``resp.content`` is the answer.

            ``params`` are the fields of ``LLMCallRequest`` (:class:`CallParams`): ``messages``
            (required) take the OpenAI chat format, as dicts (typed: :data:`MessageParam`) or
            :class:`ChatMessage`; ``model`` is a model alias (omitted, the team's default model);
            ``temperature``, ``max_tokens``, ``top_p``, ``stop``, ``response_format``, ``tools``,
            ``tool_choice``, ``purpose`` and ``metadata``. ``None`` arguments are not sent.

            The arguments are validated against the shared ``LLMCallRequest`` model first, so bad
            input (an unknown role, ``temperature=5``, an empty ``messages``) raises pydantic's
            ``ValidationError`` — a ``ValueError`` — before any request is sent.

            A retry after a lost response is answered by the server from its record of the first
            attempt (same ``Idempotency-Key``): the call is made and recorded once.
            """,
        ),
    ),
)

EMBEDDINGS = Endpoint(
    "POST",
    "/api/jobs/{job_id}/embeddings",
    summary="Embed texts within a job",
    auth="team",
    tag="jobs",
    response=EmbeddingsResponse,
    body=EmbeddingsRequest,
    errors=(
        (400, "invalid_request: an unknown model"),
        (400, "model_mode_mismatch: the model is not an alias with mode 'embedding'"),
        *_CALL_ERRORS[1:],
    ),
    idempotent=True,
    keeps_own_response=True,
    description=(
        "One embeddings call, recorded and billed in the job like an llm-call: its tokens are "
        "prompt tokens, priced at the deployment's input price. The answer is OpenAI's "
        "embeddings object plus `call_id`."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "embeddings",
            doc="""
            Embed ``input`` (a text or a list of texts) within a job; ``resp.vectors`` are the
            vectors in input order, ``resp.usage.prompt_tokens`` what the call used.

            ``model`` is an alias with mode ``"embedding"`` (a chat alias raises
            :class:`BadRequestError`, type ``model_mode_mismatch``); ``dimensions`` asks for
            shorter vectors where the model can make them. The call is recorded and billed in
            the job like an :meth:`llm_call`; a retry after a lost response is answered from
            the server's record of the first attempt (same ``Idempotency-Key``).
            """,
        ),
    ),
)

LLM_CALL_STREAM: Endpoint[Any] = Endpoint(
    "POST",
    "/api/jobs/{job_id}/llm-call-stream",
    summary="Make a streamed LLM call within a job (Server-Sent Events)",
    auth="team",
    tag="jobs",
    response=None,
    body=LLMCallRequest,
    errors=_CALL_ERRORS,
    stream=True,
    idempotent=True,
    keeps_own_response=True,
    description=(
        "Each event has `event: <type>`, `id: <sequence>` and one `data:` line holding a "
        "StreamChunk, then one StreamDone, or one StreamErrorEvent instead of done."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "stream",
            params="CallParams",
            doc="""
            Make one LLM call within a job and receive its answer as it is produced.

            Same arguments and the same local validation as :meth:`llm_call` (a bad argument raises
            here, at once). Not a coroutine: the returned :class:`ChatStream` sends the request when
            it is entered or first iterated. Prefer ``async with``, which closes the connection
            however the block ends::

                async with client.stream(job_id=job.job_id, messages=[...]) as stream:
                    async for chunk in stream:
                        print(chunk.content, end="")
                print(stream.usage)

            A plain ``async for chunk in client.stream(...)`` works too and closes the connection
            when the stream ends or fails, but not when the loop is left early with ``break``.

            Opening the stream waits for its first event; failures until then are retried like
            :meth:`llm_call`'s (the server replays a stream it already ran under the same
            ``Idempotency-Key``), and ``deadline`` bounds that opening. Once a chunk has reached the
            caller nothing is retried: a broken connection raises :class:`APIConnectionError`.
            """,
        ),
    ),
)

COMPLETE_JOB = Endpoint(
    "POST",
    "/api/jobs/{job_id}/complete",
    summary="Complete or fail a job",
    auth="team",
    tag="jobs",
    response=JobCompletion,
    body=JobCompleteRequest,
    errors=((409, "conflict: the job is already settled the other way"),),
    idempotent=True,
    description=(
        "`completed` spends the job's credit if one of its calls succeeded and otherwise releases"
        " it (`costs.credit_reason` says why); `failed` releases it. Repeating the same status "
        "returns the same result; the other status is 409."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "complete_job",
            positional=("job_id", "status"),
            defaults={"status": "completed"},
            doc="""
            Close a job: ``"completed"`` spends its one credit (released instead if none of its
            calls succeeded: ``result.costs.credit_reason``), ``"failed"`` releases it.

            Repeating the same status returns the same result without charging again; switching
            status raises :class:`ConflictError`. ``result.credits_remaining`` is the balance after.
            """,
        ),
    ),
)

CREATE_AND_CALL = Endpoint(
    "POST",
    "/api/jobs/create-and-call",
    summary="Create a job, make one LLM call in it and settle it",
    auth="team",
    tag="jobs",
    response=CreateAndCallResponse,
    body=CreateAndCallRequest,
    errors=_CALL_ERRORS,
    idempotent=True,
    keeps_own_response=True,
    names_job=True,
    description=(
        _SHORTCUT + "An upstream failure fails the job and answers the error llm-call answers."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "create_and_call",
            positional=("job_type",),
            bind=("team_id",),
            params="CallParams",
            doc="""
            A job of one LLM call, in one request: the job is created, called and settled by the
            server. ``resp.content`` is the answer, ``resp.job_id`` the job and ``resp.costs`` its
            settlement (``credit_applied``, ``credits_remaining``).

            ``params`` are those of :meth:`llm_call`; ``metadata`` is recorded on the job and the
            call. A successful call completes the job (one credit); a failed one fails it (no
            credit) and raises what :meth:`llm_call` would raise. Retries carry the same
            ``Idempotency-Key``, so a retried request never makes a second job.
            """,
        ),
    ),
)

CREATE_AND_CALL_STREAM: Endpoint[Any] = Endpoint(
    "POST",
    "/api/jobs/create-and-call-stream",
    summary="Create a job, make one streamed LLM call in it and settle it (SSE)",
    auth="team",
    tag="jobs",
    response=None,
    body=CreateAndCallRequest,
    errors=_CALL_ERRORS,
    stream=True,
    idempotent=True,
    keeps_own_response=True,
    names_job=True,
    description=(
        _SHORTCUT
        + "The events of llm-call-stream; the `done` event carries the settled job's `costs`. An "
        "`error` event, or the client leaving, fails the job."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "create_and_call_stream",
            positional=("job_type",),
            bind=("team_id",),
            params="CallParams",
            doc="""
            :meth:`create_and_call`, answered chunk by chunk like :meth:`stream`; the stream's
            ``done`` event carries the job's settlement (``stream.done.costs``). A stream that ends
            in an error (or that the caller closes early) fails the job: no credit.
            """,
        ),
    ),
)

OPENAI_LIST_MODELS = Endpoint(
    "GET",
    "/v1/models",
    summary="List the models (aliases) the team may use, in OpenAI's format",
    auth="team",
    tag="openai",
    response=OpenAIModelList,
    openai=True,
)

OPENAI_CHAT_COMPLETIONS = Endpoint(
    "POST",
    "/v1/chat/completions",
    summary="Create a chat completion (OpenAI's wire format; streamed with `stream`)",
    auth="team",
    tag="openai",
    response=ChatCompletion,
    body=ChatCompletionRequest,
    errors=(
        (400, "invalid_request: an unknown model, or an unsupported parameter"),
        (402, "insufficient_credits: the call's worst case does not fit the credits"),
        (403, "permission_denied: the model is outside the team's access groups"),
        (404, "not_found: no such job (X-Job-Id)"),
        (409, "conflict: the job named by X-Job-Id is closed"),
        (429, "rate_limited: the team's rate limit is reached; see Retry-After"),
        (502, "upstream_error: every deployment of the model failed"),
        (504, "upstream_timeout: the upstream did not answer in time"),
    ),
    stream=True,
    idempotent=True,
    keeps_own_response=True,
    vary=("x-job-id", "x-job-type"),
    names_job=True,
    openai=True,
    description=(
        "With `X-Job-Id` the call is recorded in that open job (another team's or an unknown job "
        "404, a closed one 409); without, it is a single-call job of its own (`job_type` from "
        "`X-Job-Type`, default `chat`), completed (one credit) when the call succeeds and failed "
        "(nothing) when it does not. Every answer names its job in `X-Job-Id`. `stream: true` "
        "answers `chat.completion.chunk` events ending in `data: [DONE]`. Errors are OpenAI's "
        "`{error: {message, type, param, code}}` with the native error type as `code`."
    ),
)

OPENAI_RESPONSES = Endpoint(
    "POST",
    "/v1/responses",
    summary="Create a response (OpenAI's Responses API, stateless; streamed with `stream`)",
    auth="team",
    tag="openai",
    response=ResponseObject,
    body=ResponseCreateRequest,
    errors=(
        (400, "invalid_request: an unknown model, or an unsupported parameter or tool"),
        (400, "unsupported_parameter: previous_response_id (nothing is stored: send the input)"),
        (402, "insufficient_credits: the call's worst case does not fit the credits"),
        (403, "permission_denied: the model is outside the team's access groups"),
        (404, "not_found: no such job (X-Job-Id)"),
        (409, "conflict: the job named by X-Job-Id is closed"),
        (429, "rate_limited: the team's rate limit is reached; see Retry-After"),
        (502, "upstream_error: every deployment of the model failed"),
        (504, "upstream_timeout: the upstream did not answer in time"),
    ),
    stream=True,
    idempotent=True,
    keeps_own_response=True,
    vary=("x-job-id", "x-job-type"),
    names_job=True,
    openai=True,
    stream_events=(
        ResponseLifecycleEvent,
        ResponseOutputItemEvent,
        ResponseContentPartEvent,
        ResponseTextDeltaEvent,
        ResponseTextDoneEvent,
        ResponseFunctionCallArgumentsDeltaEvent,
        ResponseFunctionCallArgumentsDoneEvent,
    ),
    description=(
        "A chat call in OpenAI's Responses format, bound to a job as `/v1/chat/completions` "
        "is (`X-Job-Id`, or a single-call job of its own, `job_type` from `X-Job-Type`, "
        "default `chat`) and made, recorded and billed the same way. Stateless: `store` is "
        "accepted and ignored (nothing is kept), `previous_response_id` is a 400 "
        "`unsupported_parameter`: send the whole conversation as `input` items (messages, "
        "`function_call`, `function_call_output`). `instructions` is a system message; "
        "`tools` of type `function`, `tool_choice`, `text.format` (`json_schema`, "
        "`json_object`, `text`) and `max_output_tokens` go upstream as their chat "
        "equivalents. An answer cut at `max_output_tokens` is `status: incomplete`. "
        "`stream: true` answers the Responses event stream (`response.created` … "
        "`response.completed`, `response.failed` on a failure mid-way)."
    ),
)

OPENAI_EMBEDDINGS = Endpoint(
    "POST",
    "/v1/embeddings",
    summary="Create embeddings (OpenAI's wire format)",
    auth="team",
    tag="openai",
    response=EmbeddingsResponse,
    body=OpenAIEmbeddingsRequest,
    errors=(
        (400, "invalid_request: an unknown model, or token arrays as input"),
        (400, "model_mode_mismatch: the model is not an alias with mode 'embedding'"),
        (402, "insufficient_credits: the call's worst case does not fit the credits"),
        (403, "permission_denied: the model is outside the team's access groups"),
        (404, "not_found: no such job (X-Job-Id)"),
        (409, "conflict: the job named by X-Job-Id is closed"),
        (429, "rate_limited: the team's rate limit is reached; see Retry-After"),
        (502, "upstream_error: every deployment of the model failed"),
        (504, "upstream_timeout: the upstream did not answer in time"),
    ),
    idempotent=True,
    keeps_own_response=True,
    vary=("x-job-id", "x-job-type"),
    names_job=True,
    openai=True,
    description=(
        "Bound to a job as `/v1/chat/completions` is: with `X-Job-Id` the call is recorded in "
        "that open job; without, it is a single-call job of its own (`job_type` from "
        "`X-Job-Type`, default `embeddings`), completed when the call succeeds. The model must "
        "be an alias with mode `embedding`. `encoding_format: base64` answers each vector as "
        "base64 of little-endian float32 (the openai package's default). The answer is "
        "OpenAI's embeddings object plus `call_id`."
    ),
)

ANTHROPIC_MESSAGES = Endpoint(
    "POST",
    "/v1/messages",
    summary="Create a message (Anthropic's Messages API; streamed with `stream`)",
    auth="team",
    tag="anthropic",
    response=AnthropicMessage,
    body=MessagesRequest,
    errors=(
        (400, "invalid_request: an unknown model, a missing max_tokens, an unsupported block"),
        (402, "insufficient_credits: the call's worst case does not fit the credits"),
        (403, "permission_denied: the model is outside the team's access groups"),
        (404, "not_found: no such job (X-Job-Id)"),
        (409, "conflict: the job named by X-Job-Id is closed"),
        (429, "rate_limited: the team's rate limit is reached; see Retry-After"),
        (502, "upstream_error: every deployment of the model failed"),
        (504, "upstream_timeout: the upstream did not answer in time"),
    ),
    stream=True,
    idempotent=True,
    keeps_own_response=True,
    vary=("x-job-id", "x-job-type"),
    names_job=True,
    anthropic=True,
    description=(
        "The team's virtual key as `x-api-key` (as the anthropic SDK sends it) or "
        "`Authorization: Bearer`; `anthropic-version` is accepted, not required. Translated to "
        "a chat call upstream and bound to a job as `/v1/chat/completions` is (`X-Job-Id`, or a "
        "single-call job of `X-Job-Type`, default `chat`). `stream: true` answers Anthropic's "
        "events (`message_start`, `content_block_start`, `content_block_delta`, "
        "`content_block_stop`, `message_delta`, `message_stop`; `error` on a failure). Errors "
        'are Anthropic\'s `{type: "error", error: {type, message}}` with the native error type '
        "as `code`; a body that does not validate is a 400, no credit left a 402 "
        "`billing_error`."
    ),
)

CREATE_ORGANIZATION = Endpoint(
    "POST",
    "/api/organizations/create",
    summary="Create an organization",
    auth="admin",
    tag="admin",
    response=Organization,
    status=201,
    body=OrganizationCreateRequest,
    errors=((409, "conflict: an organization with this id exists"),),
    idempotent=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_organization",
            positional=("organization_id", "name"),
        ),
    ),
)

CREATE_MODEL_ACCESS_GROUP = Endpoint(
    "POST",
    "/api/model-access-groups/create",
    summary="Create a model access group",
    auth="admin",
    tag="admin",
    response=ModelAccessGroup,
    status=201,
    body=ModelAccessGroupCreateRequest,
    errors=((409, "conflict: a model access group with this name exists"),),
    idempotent=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_model_access_group",
            positional=("group_name",),
            doc="""
            A named set of model aliases that teams are granted by name.
            """,
        ),
    ),
)

CREATE_MODEL_ALIAS = Endpoint(
    "POST",
    "/api/model-aliases/create",
    summary="Create a model alias",
    auth="admin",
    tag="admin",
    response=ModelAlias,
    status=201,
    body=ModelAliasCreateRequest,
    errors=((409, "conflict: a model alias with this name exists"),),
    idempotent=True,
    description="Deployments are tried in order: the first is primary, the rest fallbacks.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_model_alias",
            positional=("model_alias",),
            doc="""
            Map an alias teams call (``"ChatAgent"``) to upstream deployments, tried in order:
            the first is primary, the rest are fallbacks.
            """,
        ),
    ),
)

GET_MODEL_ALIAS = Endpoint(
    "GET",
    "/api/model-aliases/{model_alias}",
    summary="Get a model alias",
    auth="admin",
    tag="admin",
    response=ModelAlias,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "get_model_alias",
            positional=("model_alias",),
            doc="""
            An alias with its access groups and deployments (in fallback order).
            """,
        ),
    ),
)

CREATE_TEAM = Endpoint(
    "POST",
    "/api/teams/create",
    summary="Create a team and its virtual key",
    auth="admin",
    tag="admin",
    response=TeamCreated,
    status=201,
    body=TeamCreateRequest,
    errors=((409, "conflict: a team with this id exists"),),
    idempotent=True,
    unkept_field="virtual_key",
    description=(
        "The team's first virtual key (named `default`) is shown once, in this response; the "
        "server keeps its hash. A replay under the same Idempotency-Key revokes the key the lost "
        "response held and hands out a fresh one."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_team",
            positional=("organization_id", "team_id"),
            doc="""
            Create a team and its first virtual key (named ``default``, ``result.key_id``);
            ``result.virtual_key`` is shown only this once — store it.

            ``rpm_limit``/``tpm_limit`` are LLM requests/tokens per minute (``None``: unlimited);
            ``metadata`` is a free-form JSON object of yours, shown with the team.
            ``budget_mode`` says how its jobs are charged (``consumption_tokens`` needs
            ``tokens_per_credit``, ``consumption_usd`` needs ``credits_per_dollar``; see
            docs/billing.md; the server's default is ``job_based``); ``low_balance_threshold`` is
            where ``credits.low`` fires. Billing fields left at ``None`` are not sent.
            """,
        ),
    ),
)

GET_TEAM = Endpoint(
    "GET",
    "/api/teams/{team_id}",
    summary="Get a team",
    auth="admin",
    tag="admin",
    response=Team,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "get_team",
            positional=("team_id",),
        ),
    ),
)

ADD_CREDITS = Endpoint(
    "POST",
    "/api/teams/{team_id}/credits/add",
    summary="Grant credits to a team",
    auth="admin",
    role="billing",
    tag="admin",
    response=CreditBalance,
    body=CreditsAddRequest,
    idempotent=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "add_credits",
            positional=("team_id", "credits"),
            doc="""
            Top up a team by ``credits`` (> 0); returns the new balance.
            """,
        ),
    ),
)

ADJUST_CREDITS = Endpoint(
    "POST",
    "/api/teams/{team_id}/credits/adjust",
    summary="Adjust a team's credits up or down",
    auth="admin",
    role="billing",
    tag="admin",
    response=CreditBalance,
    body=CreditsAdjustRequest,
    errors=((409, "conflict: a negative adjustment beyond the credits available"),),
    idempotent=True,
    description=(
        "A signed correction of the balance, written to the ledger as an `adjustment` with its "
        "reason. A negative one takes only available credits (those open jobs do not hold): 409 "
        "with nothing changed otherwise."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "adjust_credits",
            positional=("team_id", "credits"),
            doc="""
            Correct a team's balance by ``credits`` (signed, not 0): a ledger ``adjustment``
            with ``reason``. A negative one takes only available credits: :class:`ConflictError`
            otherwise, with nothing changed. Returns the new balance.
            """,
        ),
    ),
)

SET_LIMITS = Endpoint(
    "POST",
    "/api/teams/{team_id}/limits",
    summary="Set a team's rate limits",
    auth="admin",
    tag="admin",
    response=Team,
    body=TeamLimitsRequest,
    idempotent=True,
    partial=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "set_limits",
            positional=("team_id",),
            doc="""
            Change a team's requests- and tokens-per-minute limits: a limit not given stays as it
            is, ``None`` removes it. ``set_limits(team, rpm_limit=60)`` keeps ``tpm_limit``.
            """,
        ),
    ),
)

SUSPEND_TEAM = Endpoint(
    "POST",
    "/api/teams/{team_id}/suspend",
    summary="Suspend a team",
    auth="admin",
    tag="admin",
    response=Team,
    idempotent=True,
    description="A suspended team can read and close its jobs but not open jobs or call.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "suspend_team",
            positional=("team_id",),
            doc="""
            Refuse the team's requests (403) until :meth:`resume_team`; nothing is deleted.
            Suspending a suspended team changes nothing.
            """,
        ),
    ),
)

RESUME_TEAM = Endpoint(
    "POST",
    "/api/teams/{team_id}/resume",
    summary="Resume a team",
    auth="admin",
    tag="admin",
    response=Team,
    idempotent=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "resume_team",
            positional=("team_id",),
            doc="""
            Accept the team's requests again after :meth:`suspend_team`; resuming an active team
            changes nothing.
            """,
        ),
    ),
)

SET_AUTO_REFILL = Endpoint(
    "PUT",
    "/api/teams/{team_id}/auto-refill",
    summary="Set a team's auto-refill",
    auth="admin",
    role="billing",
    tag="admin",
    response=Team,
    body=AutoRefillRequest,
    description=(
        "Applied once per UTC period (daily, ISO-weekly, monthly) by every server's sweep, or by "
        "a job create that finds no credit; a missed period is caught up once. add: grant "
        "`amount`; top_up: raise credits_remaining to `amount`."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "set_auto_refill",
            positional=("team_id", "amount", "period"),
            doc="""
            Refill the team once per UTC ``period`` (``daily``, ``weekly``: ISO weeks,
            ``monthly``): ``mode="add"`` grants ``amount``, ``"top_up"`` raises credits_remaining to
            ``amount``. A missed period is caught up once, not once per period missed.
            """,
        ),
    ),
)

DELETE_AUTO_REFILL = Endpoint(
    "DELETE",
    "/api/teams/{team_id}/auto-refill",
    summary="Turn a team's auto-refill off",
    auth="admin",
    role="billing",
    tag="admin",
    response=Team,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_auto_refill",
            positional=("team_id",),
            doc="""
            Turn the team's auto-refill off.
            """,
        ),
    ),
)

CREATE_KEY = Endpoint(
    "POST",
    "/api/teams/{team_id}/keys",
    summary="Create another virtual key for a team",
    auth="admin",
    tag="admin",
    response=KeyCreated,
    status=201,
    body=KeyCreateRequest,
    errors=((409, "conflict: the team is removed"),),
    idempotent=True,
    unkept_field="virtual_key",
    body_optional=True,
    description=(
        "The key is shown once, in this response; the server keeps its hash. An empty body makes "
        "an unnamed key that never expires. A replay under the same Idempotency-Key revokes the "
        "key the lost response held and hands out a fresh one."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_key",
            positional=("team_id",),
            doc="""
            Another virtual key for the team, next to the ones it has (one per deployment or
            environment, say); ``result.virtual_key`` is shown only this once — store it.

            ``name`` tells keys apart in :meth:`list_keys`; ``expires_at`` (a naive datetime is
            UTC) is when it stops working — never, without one. ``ConflictError`` when the team
            already has 100 working keys. A replay under the same ``idempotency_key`` revokes the
            key whose response was lost and hands out a fresh one.
            """,
        ),
    ),
)

LIST_KEYS = Endpoint(
    "GET",
    "/api/teams/{team_id}/keys",
    summary="List a team's virtual keys (never the keys themselves)",
    auth="admin",
    tag="admin",
    response=KeyList,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_keys",
            positional=("team_id",),
            doc="""
            The team's keys, newest first, revoked and expired ones included: id, name,
            ``prefix`` (the key's first characters), expiry, last use. Never the keys themselves:
            the server keeps only their hashes.
            """,
        ),
    ),
)

REVOKE_KEY = Endpoint(
    "DELETE",
    "/api/teams/{team_id}/keys/{key_id}",
    summary="Revoke a virtual key at once",
    auth="admin",
    tag="admin",
    response=VirtualKeyInfo,
    description=(
        "The key stops working immediately; it stays listed, with `revoked_at`. Revoking a "
        "revoked key changes nothing."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "revoke_key",
            positional=("team_id", "key_id"),
            doc="""
            Stop one key at once (a leaked one, say) and return it with ``revoked_at`` set; the
            team's other keys keep working. Revoking a revoked key changes nothing.
            """,
        ),
    ),
)

ROTATE_KEY = Endpoint(
    "POST",
    "/api/teams/{team_id}/rotate-key",
    summary="Replace a team's virtual keys with a new one",
    auth="admin",
    tag="admin",
    response=KeyRotation,
    body=KeyRotateRequest,
    idempotent=True,
    unkept_field="virtual_key",
    body_optional=True,
    description=(
        "The team's other keys stop working at once, or after `grace_seconds`. A replay under the"
        " same Idempotency-Key revokes the key the lost response held and hands out a fresh one."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "rotate_key",
            positional=("team_id",),
            doc="""
            Replace all of the team's keys with one new virtual key (``result.virtual_key``,
            shown only this once). The keys it replaces stop working at once, or — so that the
            team's deployments can switch over without failing requests — ``grace_seconds`` later
            (up to 30 days): ``result.previous_keys_expire_at`` says when.
            """,
        ),
    ),
)

UPDATE_TEAM = Endpoint(
    "PATCH",
    "/api/teams/{team_id}",
    summary="Change a team",
    auth="admin",
    role="billing",
    role_fields=BILLING_FIELDS,
    tag="admin",
    response=Team,
    body=TeamUpdateRequest,
    description=(
        "Fields left out are unchanged. `access_groups` replaces the team's list; `null` clears "
        "`team_alias` or `default_model`."
    ),
    partial=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "update_team",
            positional=("team_id",),
            doc="""
            Change a team: ``access_groups`` replaces its whole list, ``metadata`` its whole
            object; ``team_alias=None``/``default_model=None`` clear them. Groups and the default
            model must exist (``BadRequestError`` otherwise). A new ``budget_mode`` (rate, markup)
            applies to jobs opened after the change; ``low_balance_threshold=None`` removes it.
            Credits, limits and status have their own methods (:meth:`add_credits`,
            :meth:`set_limits`, :meth:`set_auto_refill`, :meth:`suspend_team`).
            """,
        ),
    ),
)

DELETE_TEAM = Endpoint(
    "DELETE",
    "/api/teams/{team_id}",
    summary="Remove a team",
    auth="admin",
    tag="admin",
    response=Deleted,
    errors=((409, "conflict: a team is in use, built in, or declared in the config file"),),
    description=(
        "409 while the team has open jobs. Its keys stop working; its jobs, calls and costs stay "
        "readable and keep counting in its organization's usage. Its id is not reused."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_team",
            positional=("team_id",),
            doc="""
            Remove a team: its keys stop working at once; its jobs, calls and costs stay
            readable and keep counting in its organization's usage; its id is not reused.
            ``ConflictError`` while it has open jobs (complete or fail them first).
            """,
        ),
    ),
)

UPDATE_ORGANIZATION = Endpoint(
    "PATCH",
    "/api/organizations/{organization_id}",
    summary="Change an organization",
    auth="admin",
    tag="admin",
    response=Organization,
    body=OrganizationUpdateRequest,
    description="Fields left out are unchanged. ",
    partial=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "update_organization",
            positional=("organization_id",),
            doc="""
            Rename an organization and/or replace its whole ``metadata`` object (neither can be
            cleared: pass ``metadata={}`` to empty it).
            """,
        ),
    ),
)

DELETE_ORGANIZATION = Endpoint(
    "DELETE",
    "/api/organizations/{organization_id}",
    summary="Remove an organization",
    auth="admin",
    tag="admin",
    response=Deleted,
    errors=(
        (409, "conflict: an organization is in use, built in, or declared in the config file"),
    ),
    description="409 naming its teams while it has any.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_organization",
            positional=("organization_id",),
            doc="""
            Remove an organization; ``ConflictError`` naming its teams while it has any
            (:meth:`delete_team` them first).
            """,
        ),
    ),
)

UPDATE_MODEL_ACCESS_GROUP = Endpoint(
    "PATCH",
    "/api/model-access-groups/{group_name}",
    summary="Change a model access group",
    auth="admin",
    tag="admin",
    response=ModelAccessGroup,
    body=ModelAccessGroupUpdateRequest,
    description="Fields left out are unchanged. ",
    partial=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "update_model_access_group",
            positional=("group_name",),
            doc="""
            Change a group's description (``None`` clears it). Which aliases are in a group is
            set on the alias (:meth:`update_model_alias`), which teams hold it on the team
            (:meth:`update_team`).
            """,
        ),
    ),
)

DELETE_MODEL_ACCESS_GROUP = Endpoint(
    "DELETE",
    "/api/model-access-groups/{group_name}",
    summary="Remove a model access group",
    auth="admin",
    tag="admin",
    response=Deleted,
    errors=(
        (409, "conflict: a model access group is in use, built in, or declared in the config file"),
    ),
    description="409 naming the teams granted it while there are any; the aliases in it leave it.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_model_access_group",
            positional=("group_name",),
            doc="""
            Remove a group; the aliases in it leave it. ``ConflictError`` naming the teams
            granted it while there are any.
            """,
        ),
    ),
)

UPDATE_MODEL_ALIAS = Endpoint(
    "PATCH",
    "/api/model-aliases/{model_alias}",
    summary="Change a model alias",
    auth="admin",
    tag="admin",
    response=ModelAlias,
    body=ModelAliasUpdateRequest,
    description=(
        "Fields left out are unchanged. `deployments` replaces the whole list (its order is the "
        "fallback order); new prices apply to calls made after the change, recorded calls keep "
        "their cost."
    ),
    partial=True,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "update_model_alias",
            positional=("model_alias",),
            doc="""
            Replace an alias's access groups and/or its whole list of deployments (in fallback
            order, as in :meth:`create_model_alias`). New prices apply to calls made from now on;
            recorded calls keep their cost.
            """,
        ),
    ),
)

DELETE_MODEL_ALIAS = Endpoint(
    "DELETE",
    "/api/model-aliases/{model_alias}",
    summary="Remove a model alias",
    auth="admin",
    tag="admin",
    response=Deleted,
    errors=((409, "conflict: a model alias is in use, built in, or declared in the config file"),),
    description=(
        "409 naming the teams whose default model it is. Calls recorded under it keep its name "
        "and cost."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_model_alias",
            positional=("model_alias",),
            doc="""
            Remove an alias; calls recorded under it keep its name and cost. ``ConflictError``
            naming the teams whose default model it is, and for the built-in ``default`` alias.
            """,
        ),
    ),
)

LIST_ORGANIZATIONS = Endpoint(
    "GET",
    "/api/organizations",
    summary="List organizations, newest first",
    auth="admin",
    tag="admin",
    response=OrganizationList,
    query=PageQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_organizations",
            doc="""
            Organizations, newest first.
            """,
        ),
    ),
)

GET_ORGANIZATION = Endpoint(
    "GET",
    "/api/organizations/{organization_id}",
    summary="Get an organization",
    auth="admin",
    tag="admin",
    response=Organization,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "get_organization",
            positional=("organization_id",),
        ),
    ),
)

GET_ORGANIZATION_USAGE = Endpoint(
    "GET",
    "/api/organizations/{organization_id}/usage",
    summary="Usage analytics of an organization per job type",
    auth="admin",
    tag="admin",
    response=OrganizationUsage,
    query=UsageQuery,
    description="Over the jobs and calls of all the organization's teams.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "get_organization_usage",
            positional=("organization_id",),
            doc="""
            Usage analytics over all the organization's teams, one row per job type (when
            given, the jobs created and the calls started in ``[since, until)``).
            """,
        ),
    ),
)

LIST_MODEL_ACCESS_GROUPS = Endpoint(
    "GET",
    "/api/model-access-groups",
    summary="List model access groups, newest first",
    auth="admin",
    tag="admin",
    response=ModelAccessGroupList,
    query=PageQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_model_access_groups",
            doc="""
            Model access groups, newest first.
            """,
        ),
    ),
)

LIST_MODEL_ALIASES = Endpoint(
    "GET",
    "/api/model-aliases",
    summary="List model aliases, newest first",
    auth="admin",
    tag="admin",
    response=ModelAliasList,
    query=ModelAliasListQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_model_aliases",
            doc="""
            Model aliases (those in ``access_group`` when given), newest first.
            """,
        ),
    ),
)

LIST_TEAMS = Endpoint(
    "GET",
    "/api/teams",
    summary="List teams, newest first",
    auth="admin",
    tag="admin",
    response=TeamList,
    query=TeamListQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_teams",
            doc="""
            Teams matching every filter given, newest first.
            """,
        ),
    ),
)

LIST_JOBS = Endpoint(
    "GET",
    "/api/jobs",
    summary="List jobs across teams, newest first",
    auth="admin",
    tag="admin",
    response=JobList,
    query=JobSearchQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_jobs",
            doc="""
            Jobs across teams matching every filter given, newest first (created
            in ``[since, until)`` when given).
            """,
        ),
    ),
)

LIST_AUDIT_LOG = Endpoint(
    "GET",
    "/api/audit-log",
    summary="List admin changes, newest first",
    auth="admin",
    tag="admin",
    response=AuditLog,
    query=AuditLogQuery,
    description=(
        "Who (`admin-key`, `local-dev`), what (`team.update`…), which target (`team:acme-corp`…) "
        "and the fields before and after; never a key."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_audit_log",
            doc="""
            Admin changes matching every filter given, newest first: who
            (``actor``: ``"admin-key"``, ``"local-dev"``), what (``action``: ``"team.update"``…),
            to what (``target``: ``"team:acme-corp"``…), at or after ``since``; each with the
            fields before and after (never a key).
            """,
        ),
    ),
)

CREATE_WEBHOOK = Endpoint(
    "POST",
    "/api/webhooks",
    summary="Register a webhook endpoint",
    auth="admin",
    tag="webhooks",
    response=WebhookCreated,
    status=201,
    body=WebhookCreateRequest,
    errors=(
        (400, "invalid_request: the URL points at an address webhooks may not reach"),
        (409, "conflict: an endpoint with this URL exists"),
    ),
    idempotent=True,
    unkept_field="secret",
    description=(
        "The `secret` (`whsec_…`, for verifying signatures) is shown once, in this response. A "
        "URL on a loopback, private, link-local or otherwise non-public address is a 422 unless "
        "SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE is set. A replay under the same Idempotency-Key "
        "answers the same endpoint and secret."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_webhook",
            positional=("url", "events"),
            doc="""
            Register an endpoint the server POSTs ``events`` to (``"job.completed"``,
            ``"team.suspended"``…), signed as Standard Webhooks says; with ``organization_id``,
            only that organization's events. ``result.secret`` (``whsec_…``) verifies the
            signatures and is shown only this once — store it. A loopback or private URL is a
            ``ValidationError`` (422) unless the server allows them; a replay under the same
            ``idempotency_key`` answers the same endpoint and secret.
            """,
        ),
    ),
)

LIST_WEBHOOKS = Endpoint(
    "GET",
    "/api/webhooks",
    summary="List webhook endpoints, newest first (never their secrets)",
    auth="admin",
    tag="webhooks",
    response=WebhookList,
    query=PageQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_webhooks",
            doc="""
            Webhook endpoints, newest first, with their status (``disabled`` after
            failing for days); never their secrets.
            """,
        ),
    ),
)

DELETE_WEBHOOK = Endpoint(
    "DELETE",
    "/api/webhooks/{webhook_id}",
    summary="Remove a webhook endpoint",
    auth="admin",
    tag="webhooks",
    response=Deleted,
    description="Nothing more is sent to it; its pending deliveries are given up.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_webhook",
            positional=("webhook_id",),
            doc="""
            Remove an endpoint: nothing more is sent to it, its pending deliveries are given
            up.
            """,
        ),
    ),
)

LIST_WEBHOOK_DELIVERIES = Endpoint(
    "GET",
    "/api/webhooks/{webhook_id}/deliveries",
    summary="List an endpoint's deliveries, newest first",
    auth="admin",
    tag="webhooks",
    response=WebhookDeliveryList,
    query=WebhookDeliveryListQuery,
    description=(
        "Each event sent (or to be sent) to it: status, attempts, the latest attempt's HTTP "
        "status, error and the start of the answer."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_webhook_deliveries",
            positional=("webhook_id",),
            doc="""
            An endpoint's deliveries, newest first (``status``: ``"pending"``,
            ``"succeeded"`` or ``"failed"``): the event, attempts and the latest attempt's
            outcome.
            """,
        ),
    ),
)

RETRY_WEBHOOK_DELIVERY = Endpoint(
    "POST",
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Send a delivery again",
    auth="admin",
    tag="webhooks",
    response=WebhookDelivery,
    errors=((409, "conflict: the endpoint is disabled, or the delivery is still running"),),
    idempotent=True,
    description=(
        "With the same `webhook-id`, as soon as a worker is free, whatever its status. 409 when "
        "the endpoint is disabled."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "retry_webhook_delivery",
            positional=("webhook_id", "delivery_id"),
            doc="""
            Send a delivery again, with the same ``webhook-id``, as soon as a worker is free
            (whatever its status). ``ConflictError`` when the endpoint is disabled.
            """,
        ),
    ),
)

CREATE_OPERATOR = Endpoint(
    "POST",
    "/api/operators",
    summary="Create an operator with a role and a key of its own",
    auth="admin",
    role="owner",
    tag="operators",
    response=OperatorCreated,
    status=201,
    body=OperatorCreateRequest,
    idempotent=True,
    unkept_field="api_key",
    description=(
        "The `api_key` (`sk-op-…`) is shown once, in this response; the server keeps its hash. "
        "It works on the admin API (and signs in to `/admin`) within its role: viewer reads, "
        "billing also changes credits and billing settings, admin changes everything but "
        "operators, owner everything. A replay under the same Idempotency-Key answers the same "
        "operator with a fresh key (the lost one stops working)."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "create_operator",
            positional=("name", "role"),
            doc="""
            An operator with a key of its own (``result.api_key``, ``sk-op-…``, shown only this
            once — hand it over and forget it). ``role``: ``"viewer"`` reads, ``"billing"``
            also grants credits and changes billing settings, ``"admin"`` changes everything but
            operators, ``"owner"`` everything. Owners only (the admin key is one).
            """,
        ),
    ),
)

LIST_OPERATORS = Endpoint(
    "GET",
    "/api/operators",
    summary="List operators, newest first (never their keys)",
    auth="admin",
    role="owner",
    tag="operators",
    response=OperatorList,
    query=PageQuery,
    sdk=_sdk(
        SDKMethod(
            "admin",
            "list_operators",
            doc="""
            The operators, newest first, with their roles; never their keys. Removed operators
            are not listed (the audit log still names them).
            """,
        ),
    ),
)

UPDATE_OPERATOR = Endpoint(
    "PATCH",
    "/api/operators/{operator_id}",
    summary="Rename an operator or change its role",
    auth="admin",
    role="owner",
    tag="operators",
    response=OperatorInfo,
    body=OperatorUpdateRequest,
    partial=True,
    description="Fields left out are unchanged. A new role applies from the operator's next "
    "request.",
    sdk=_sdk(
        SDKMethod(
            "admin",
            "update_operator",
            positional=("operator_id",),
            doc="""
            Rename an operator or change its role; the new role applies from its next request
            (its dashboard sessions included).
            """,
        ),
    ),
)

DELETE_OPERATOR = Endpoint(
    "DELETE",
    "/api/operators/{operator_id}",
    summary="Remove an operator",
    auth="admin",
    role="owner",
    tag="operators",
    response=Deleted,
    description=(
        "Its key stops working at once and its dashboard sessions end; the audit log keeps "
        "naming it (`operator:<operator_id>`)."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "delete_operator",
            positional=("operator_id",),
            doc="""
            Remove an operator: its key is refused at once and its dashboard sessions end; the
            changes it made stay in the audit log under its id.
            """,
        ),
    ),
)

ROTATE_OPERATOR_KEY = Endpoint(
    "POST",
    "/api/operators/{operator_id}/rotate-key",
    summary="Replace an operator's key",
    auth="admin",
    role="owner",
    tag="operators",
    response=OperatorCreated,
    idempotent=True,
    unkept_field="api_key",
    description=(
        "The new key is shown once, in this response; the old one is refused at once and the "
        "operator's dashboard sessions end. A replay under the same Idempotency-Key hands out "
        "a fresh key again."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "rotate_operator_key",
            positional=("operator_id",),
            doc="""
            A new key for the operator (``result.api_key``, shown only this once); the old one
            is refused at once and its dashboard sessions end.
            """,
        ),
    ),
)

TEST_WEBHOOK = Endpoint(
    "POST",
    "/api/webhooks/{webhook_id}/test",
    summary="Send a test event to a webhook endpoint",
    auth="admin",
    tag="webhooks",
    response=WebhookDelivery,
    status=201,
    errors=((409, "conflict: the endpoint is disabled"),),
    idempotent=True,
    description=(
        "Queues a `webhook.test` event for the endpoint, whatever events it takes, signed and "
        "delivered (and retried) like any other; answers its delivery, `pending` until sent. "
        "409 when the endpoint is disabled."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "test_webhook",
            positional=("webhook_id",),
            doc="""
            Send the endpoint a ``webhook.test`` event (``WebhookTestEvent`` once verified),
            whatever events it takes, through the normal delivery path; returns its delivery
            (``list_webhook_deliveries`` shows how it went). ``ConflictError`` when the
            endpoint is disabled.
            """,
        ),
    ),
)

GET_BALANCE = Endpoint(
    "GET",
    "/api/credits/balance",
    summary="The team's credit balance",
    auth="team",
    tag="credits",
    response=CreditBalance,
    sdk=_sdk(
        SDKMethod(
            "team",
            "get_balance",
            doc="""
            The team's credits; ``credits_available`` is how many more jobs it can open now.
            """,
        ),
    ),
)

GET_TEAM_USAGE = Endpoint(
    "GET",
    "/api/teams/{team_id}/usage",
    summary="Usage analytics per job type",
    auth="team_or_admin",
    tag="credits",
    response=TeamUsage,
    query=UsageQuery,
    sdk=_sdk(
        SDKMethod(
            "team",
            "get_usage",
            bind=("team_id",),
            doc="""
            Usage analytics of this team, one row per job type: jobs, completed, failed, calls,
            tokens, cost and credits; optionally only for the jobs created and the calls started
            in ``[since, until)``.
            """,
        ),
        SDKMethod(
            "admin",
            "get_team_usage",
            positional=("team_id",),
            doc="""
            Usage analytics of any team, one row per job type (when given, the jobs created
            and the calls started in ``[since, until)``).
            """,
        ),
    ),
)

LIST_TEAM_JOBS = Endpoint(
    "GET",
    "/api/teams/{team_id}/jobs",
    summary="List the team's jobs, newest first",
    auth="team_or_admin",
    tag="jobs",
    response=JobList,
    query=JobListQuery,
    sdk=_sdk(
        SDKMethod(
            "team",
            "list_jobs",
            bind=("team_id",),
            doc="""
            This team's jobs, newest first.
            """,
        ),
        SDKMethod(
            "admin",
            "list_team_jobs",
            positional=("team_id",),
            doc="""
            Any team's jobs, newest first (``next_cursor`` for the next).
            """,
        ),
    ),
)

LIST_TRANSACTIONS = Endpoint(
    "GET",
    "/api/teams/{team_id}/transactions",
    summary="The team's credit ledger, newest first",
    auth="team_or_admin",
    tag="credits",
    response=CreditTransactionList,
    query=CreditTransactionListQuery,
    csv=True,
    description=(
        "Every change of the team's credits (grant, charge, refill, adjustment) with the balance "
        "after it; the credits of all transactions add up to credits_remaining. The admin key "
        "reads any team's, a team key its own. `?format=csv`: every transaction of the filter "
        "(`kind`; not one page) as CSV, one column per field."
    ),
    sdk=_sdk(
        SDKMethod(
            "team",
            "list_transactions",
            bind=("team_id",),
            doc="""
            This team's credit ledger, newest first: every grant, charge, refill
            and adjustment with the balance after it. (The same ledger as CSV, for a
            spreadsheet: ``GET /api/teams/{team_id}/transactions?format=csv`` from a browser
            or ``curl``.)
            """,
        ),
        SDKMethod(
            "admin",
            "list_transactions",
            positional=("team_id",),
            doc="""
            The team's credit ledger, newest first (grants, charges, refills,
            adjustments, each with the balance after it). As CSV: ``?format=csv`` on the
            endpoint, from a browser or ``curl``.
            """,
        ),
    ),
)

GET_USAGE = Endpoint(
    "GET",
    "/api/usage",
    summary="Usage of every team, grouped by team, organization, job type, model or day",
    auth="admin",
    tag="admin",
    response=UsageReport,
    query=UsageReportQuery,
    csv=True,
    description=(
        "The figures of the other usage endpoints (daily rollups and what is not rolled up yet): "
        "calls, tokens and costs of the calls started in the window, jobs and credits of the "
        "jobs created in it. Jobs and credits are not per model: null with group_by=model. "
        "`?format=csv`: the same rows as CSV (money as exact decimals)."
    ),
    sdk=_sdk(
        SDKMethod(
            "admin",
            "get_usage_report",
            doc="""
            Usage of every team, one row per ``group_by`` (``team``, ``organization``,
            ``job_type``, ``model`` or ``day``): calls, tokens and costs of the calls started
            in ``[since, until)``, jobs and credits of the jobs created in it (``None`` per
            model). The same report as CSV: ``GET /api/usage?format=csv`` from a browser or
            ``curl``.
            """,
        ),
    ),
)

STREAM_EVENTS: tuple[type[BaseModel], ...] = (StreamChunk, StreamDone, StreamErrorEvent)
"""What the ``data`` of each event of a ``stream`` endpoint parses into (``/api``; the OpenAI
surface streams OpenAI's chunks)."""

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    HEALTH,
    READY,
    CREATE_JOB,
    GET_JOB,
    GET_CALL,
    LLM_CALL,
    LLM_CALL_STREAM,
    EMBEDDINGS,
    COMPLETE_JOB,
    CREATE_AND_CALL,
    CREATE_AND_CALL_STREAM,
    OPENAI_LIST_MODELS,
    OPENAI_CHAT_COMPLETIONS,
    OPENAI_RESPONSES,
    OPENAI_EMBEDDINGS,
    ANTHROPIC_MESSAGES,
    CREATE_ORGANIZATION,
    CREATE_MODEL_ACCESS_GROUP,
    CREATE_MODEL_ALIAS,
    GET_MODEL_ALIAS,
    CREATE_TEAM,
    GET_TEAM,
    ADD_CREDITS,
    ADJUST_CREDITS,
    SET_LIMITS,
    SUSPEND_TEAM,
    RESUME_TEAM,
    SET_AUTO_REFILL,
    DELETE_AUTO_REFILL,
    CREATE_KEY,
    LIST_KEYS,
    REVOKE_KEY,
    ROTATE_KEY,
    UPDATE_TEAM,
    DELETE_TEAM,
    UPDATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    UPDATE_MODEL_ACCESS_GROUP,
    DELETE_MODEL_ACCESS_GROUP,
    UPDATE_MODEL_ALIAS,
    DELETE_MODEL_ALIAS,
    LIST_ORGANIZATIONS,
    GET_ORGANIZATION,
    GET_ORGANIZATION_USAGE,
    LIST_MODEL_ACCESS_GROUPS,
    LIST_MODEL_ALIASES,
    LIST_TEAMS,
    LIST_JOBS,
    LIST_AUDIT_LOG,
    CREATE_WEBHOOK,
    LIST_WEBHOOKS,
    DELETE_WEBHOOK,
    LIST_WEBHOOK_DELIVERIES,
    RETRY_WEBHOOK_DELIVERY,
    TEST_WEBHOOK,
    CREATE_OPERATOR,
    LIST_OPERATORS,
    UPDATE_OPERATOR,
    DELETE_OPERATOR,
    ROTATE_OPERATOR_KEY,
    GET_BALANCE,
    GET_TEAM_USAGE,
    LIST_TEAM_JOBS,
    LIST_TRANSACTIONS,
    GET_USAGE,
)
"""Every endpoint, in the order the server routes them."""
