# Generated from saas_litellm_models.endpoints by scripts/generate_sdk.py: edit the
# table and run `python scripts/generate_sdk.py`, never this file.
"""The SDK's endpoint methods, one per ``SDKMethod`` of the endpoint table.

``_sync_endpoint_methods`` is generated from this module by ``scripts/unasync.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from typing_extensions import Unpack

from saas_litellm_models import (
    AliasMode,
    AuditEvent,
    BudgetMode,
    CreateAndCallResponse,
    CreditBalance,
    CreditTransaction,
    CreditTransactionKind,
    Deleted,
    DeliveryStatus,
    Deployment,
    EmbeddingsResponse,
    Job,
    JobCompletion,
    JobDetail,
    JobLimits,
    JobStatus,
    KeyCreated,
    KeyList,
    KeyRotation,
    LLMCallDetail,
    LLMCallResponse,
    ModelAccessGroup,
    ModelAlias,
    OperatorCreated,
    OperatorInfo,
    OperatorRole,
    Organization,
    OrganizationUsage,
    RefillMode,
    RefillPeriod,
    Team,
    TeamCreated,
    TeamStatus,
    TeamUsage,
    UsageGroupBy,
    UsageReport,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookDelivery,
    WebhookEventType,
    WebhookInfo,
    endpoints,
)

from ._base_client import _BaseClient
from ._core import split_options
from ._pagination import AsyncPaginator
from ._params import CallParamsWithOptions
from ._response import async_raw_response
from ._streaming import ChatStream
from ._types import NOT_GIVEN, IdempotentRequestOptions, NotGiven, RequestOptions

__all__ = [
    "AdminEndpoints",
    "AdminEndpointsWithRawResponse",
    "TeamEndpoints",
    "TeamEndpointsWithRawResponse",
]


class TeamEndpoints(_BaseClient):
    """The team client's endpoint methods (a virtual key's)."""

    team_id: str

    async def create_job(
        self,
        job_type: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        limits: JobLimits | Mapping[str, Any] | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> Job:
        """Open a job, reserving one credit until it completes (spent) or fails (released).

        ``limits`` (``{"max_tokens", "max_cost_usd", "max_credits"}``) cap the job: a call
        whose worst case would pass one raises :class:`JobBudgetExceededError` before it goes
        upstream. Raises :class:`InsufficientCreditsError` when the team has no unreserved
        credit left.
        Invalid arguments raise pydantic's ``ValidationError`` before anything is sent.
        Prefer :meth:`job`, which also completes (or fails) the job.
        """
        return await self._request(
            endpoints.CREATE_JOB,
            body={
                "team_id": self.team_id,
                "job_type": job_type,
                "metadata": metadata,
                "user_id": user_id,
                "limits": limits,
            },
            options=options,
        )

    async def get_job(self, job_id: str, **options: Unpack[RequestOptions]) -> JobDetail:
        """The job with its recorded calls and costs so far."""
        return await self._request(endpoints.GET_JOB, path={"job_id": job_id}, options=options)

    async def get_call(
        self, job_id: str, call_id: str, **options: Unpack[RequestOptions]
    ) -> LLMCallDetail:
        """One recorded call of the team's job, all of it: the deployments tried, tokens,
        cost, error, and its content when the team keeps it (``store_content``).
        """
        return await self._request(
            endpoints.GET_CALL, path={"job_id": job_id, "call_id": call_id}, options=options
        )

    async def llm_call(
        self, *, job_id: str, **params: Unpack[CallParamsWithOptions]
    ) -> LLMCallResponse:
        """Make one (non-streaming) LLM call within a job; ``resp.content`` is the answer.

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
        """
        fields, options = split_options(params)
        return await self._request(
            endpoints.LLM_CALL, path={"job_id": job_id}, body=fields, options=options
        )

    def stream(self, *, job_id: str, **params: Unpack[CallParamsWithOptions]) -> ChatStream:
        """Make one LLM call within a job and receive its answer as it is produced.

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
        """
        fields, options = split_options(params)
        return self._stream(
            endpoints.LLM_CALL_STREAM, path={"job_id": job_id}, body=fields, options=options
        )

    async def embeddings(
        self,
        *,
        job_id: str,
        input: str | Sequence[str],
        model: str | None = None,
        dimensions: int | None = None,
        purpose: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> EmbeddingsResponse:
        """Embed ``input`` (a text or a list of texts) within a job; ``resp.vectors`` are the
        vectors in input order, ``resp.usage.prompt_tokens`` what the call used.

        ``model`` is an alias with mode ``"embedding"`` (a chat alias raises
        :class:`BadRequestError`, type ``model_mode_mismatch``); ``dimensions`` asks for
        shorter vectors where the model can make them. The call is recorded and billed in
        the job like an :meth:`llm_call`; a retry after a lost response is answered from
        the server's record of the first attempt (same ``Idempotency-Key``).
        """
        return await self._request(
            endpoints.EMBEDDINGS,
            path={"job_id": job_id},
            body={
                "input": input,
                "model": model,
                "dimensions": dimensions,
                "purpose": purpose,
                "metadata": metadata,
            },
            options=options,
        )

    async def complete_job(
        self,
        job_id: str,
        status: Literal["completed", "failed"] = "completed",
        *,
        metadata: Mapping[str, Any] | None = None,
        error_message: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> JobCompletion:
        """Close a job: ``"completed"`` spends its one credit (released instead if none of its
        calls succeeded: ``result.costs.credit_reason``), ``"failed"`` releases it.

        Repeating the same status returns the same result without charging again; switching
        status raises :class:`ConflictError`. ``result.credits_remaining`` is the balance after.
        """
        return await self._request(
            endpoints.COMPLETE_JOB,
            path={"job_id": job_id},
            body={"status": status, "metadata": metadata, "error_message": error_message},
            options=options,
        )

    async def create_and_call(
        self, job_type: str, *, user_id: str | None = None, **params: Unpack[CallParamsWithOptions]
    ) -> CreateAndCallResponse:
        """A job of one LLM call, in one request: the job is created, called and settled by the
        server. ``resp.content`` is the answer, ``resp.job_id`` the job and ``resp.costs`` its
        settlement (``credit_applied``, ``credits_remaining``).

        ``params`` are those of :meth:`llm_call`; ``metadata`` is recorded on the job and the
        call. A successful call completes the job (one credit); a failed one fails it (no
        credit) and raises what :meth:`llm_call` would raise. Retries carry the same
        ``Idempotency-Key``, so a retried request never makes a second job.
        """
        fields, options = split_options(params)
        return await self._request(
            endpoints.CREATE_AND_CALL,
            body={**fields, "team_id": self.team_id, "job_type": job_type, "user_id": user_id},
            options=options,
        )

    def create_and_call_stream(
        self, job_type: str, *, user_id: str | None = None, **params: Unpack[CallParamsWithOptions]
    ) -> ChatStream:
        """:meth:`create_and_call`, answered chunk by chunk like :meth:`stream`; the stream's
        ``done`` event carries the job's settlement (``stream.done.costs``). A stream that ends
        in an error (or that the caller closes early) fails the job: no credit.
        """
        fields, options = split_options(params)
        return self._stream(
            endpoints.CREATE_AND_CALL_STREAM,
            body={**fields, "team_id": self.team_id, "job_type": job_type, "user_id": user_id},
            options=options,
        )

    async def get_balance(self, **options: Unpack[RequestOptions]) -> CreditBalance:
        """The team's credits; ``credits_available`` is how many more jobs it can open now."""
        return await self._request(endpoints.GET_BALANCE, options=options)

    async def get_usage(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        **options: Unpack[RequestOptions],
    ) -> TeamUsage:
        """Usage analytics of this team, one row per job type: jobs, completed, failed, calls,
        tokens, cost and credits; optionally only for the jobs created and the calls started
        in ``[since, until)``.
        """
        return await self._request(
            endpoints.GET_TEAM_USAGE,
            path={"team_id": self.team_id},
            query={"since": since, "until": until},
            options=options,
        )

    def list_jobs(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: JobStatus | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Job]:
        """This team's jobs, newest first.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_TEAM_JOBS,
            Job,
            path={"team_id": self.team_id},
            query={"limit": limit, "cursor": cursor, "status": status},
            options=options,
        )

    def list_transactions(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        kind: CreditTransactionKind | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[CreditTransaction]:
        """This team's credit ledger, newest first: every grant, charge, refill
        and adjustment with the balance after it. (The same ledger as CSV, for a
        spreadsheet: ``GET /api/teams/{team_id}/transactions?format=csv`` from a browser
        or ``curl``.)

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_TRANSACTIONS,
            CreditTransaction,
            path={"team_id": self.team_id},
            query={"limit": limit, "cursor": cursor, "kind": kind},
            options=options,
        )


class TeamEndpointsWithRawResponse:
    """``client.with_raw_response``: the methods of :class:`TeamEndpoints` that answer
    a response (not a stream), answering a :class:`RawResponse` of it instead."""

    def __init__(self, client: TeamEndpoints) -> None:
        self.create_job = async_raw_response(client.create_job)
        self.get_job = async_raw_response(client.get_job)
        self.get_call = async_raw_response(client.get_call)
        self.llm_call = async_raw_response(client.llm_call)
        self.embeddings = async_raw_response(client.embeddings)
        self.complete_job = async_raw_response(client.complete_job)
        self.create_and_call = async_raw_response(client.create_and_call)
        self.get_balance = async_raw_response(client.get_balance)
        self.get_usage = async_raw_response(client.get_usage)
        self.list_jobs = async_raw_response(client.list_jobs)
        self.list_transactions = async_raw_response(client.list_transactions)


class AdminEndpoints(_BaseClient):
    """The admin client's endpoint methods (the admin key's)."""

    async def get_call(
        self, job_id: str, call_id: str, **options: Unpack[RequestOptions]
    ) -> LLMCallDetail:
        """One recorded call of any team's job, all of it (with the provider's cost)."""
        return await self._request(
            endpoints.GET_CALL, path={"job_id": job_id, "call_id": call_id}, options=options
        )

    async def create_organization(
        self,
        organization_id: str,
        name: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> Organization:
        """Create an organization."""
        return await self._request(
            endpoints.CREATE_ORGANIZATION,
            body={"organization_id": organization_id, "name": name, "metadata": metadata},
            options=options,
        )

    async def create_model_access_group(
        self,
        group_name: str,
        *,
        description: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> ModelAccessGroup:
        """A named set of model aliases that teams are granted by name."""
        return await self._request(
            endpoints.CREATE_MODEL_ACCESS_GROUP,
            body={"group_name": group_name, "description": description},
            options=options,
        )

    async def create_model_alias(
        self,
        model_alias: str,
        *,
        access_groups: Sequence[str] = (),
        deployments: Sequence[Deployment | Mapping[str, Any]],
        mode: AliasMode = "chat",
        **options: Unpack[IdempotentRequestOptions],
    ) -> ModelAlias:
        """Map an alias teams call (``"ChatAgent"``) to upstream deployments, tried in order:
        the first is primary, the rest are fallbacks.
        """
        return await self._request(
            endpoints.CREATE_MODEL_ALIAS,
            body={
                "model_alias": model_alias,
                "access_groups": access_groups,
                "deployments": deployments,
                "mode": mode,
            },
            options=options,
        )

    async def get_model_alias(
        self, model_alias: str, **options: Unpack[RequestOptions]
    ) -> ModelAlias:
        """An alias with its access groups and deployments (in fallback order)."""
        return await self._request(
            endpoints.GET_MODEL_ALIAS, path={"model_alias": model_alias}, options=options
        )

    async def create_team(
        self,
        organization_id: str,
        team_id: str,
        *,
        team_alias: str | None = None,
        access_groups: Sequence[str] = (),
        credits_allocated: int = 0,
        default_model: str | None = None,
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        budget_mode: BudgetMode | None = None,
        tokens_per_credit: int | None = None,
        credits_per_dollar: float | None = None,
        markup_percent: float | None = None,
        low_balance_threshold: int | None = None,
        store_content: bool | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> TeamCreated:
        """Create a team and its first virtual key (named ``default``, ``result.key_id``);
        ``result.virtual_key`` is shown only this once — store it.

        ``rpm_limit``/``tpm_limit`` are LLM requests/tokens per minute (``None``: unlimited);
        ``metadata`` is a free-form JSON object of yours, shown with the team.
        ``budget_mode`` says how its jobs are charged (``consumption_tokens`` needs
        ``tokens_per_credit``, ``consumption_usd`` needs ``credits_per_dollar``; see
        docs/billing.md; the server's default is ``job_based``); ``low_balance_threshold`` is
        where ``credits.low`` fires. Billing fields left at ``None`` are not sent.
        """
        return await self._request(
            endpoints.CREATE_TEAM,
            body={
                "organization_id": organization_id,
                "team_id": team_id,
                "team_alias": team_alias,
                "access_groups": access_groups,
                "credits_allocated": credits_allocated,
                "default_model": default_model,
                "rpm_limit": rpm_limit,
                "tpm_limit": tpm_limit,
                "metadata": metadata,
                "budget_mode": budget_mode,
                "tokens_per_credit": tokens_per_credit,
                "credits_per_dollar": credits_per_dollar,
                "markup_percent": markup_percent,
                "low_balance_threshold": low_balance_threshold,
                "store_content": store_content,
            },
            options=options,
        )

    async def get_team(self, team_id: str, **options: Unpack[RequestOptions]) -> Team:
        """Get a team."""
        return await self._request(endpoints.GET_TEAM, path={"team_id": team_id}, options=options)

    async def add_credits(
        self,
        team_id: str,
        credits: int,
        *,
        reason: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> CreditBalance:
        """Top up a team by ``credits`` (> 0); returns the new balance."""
        return await self._request(
            endpoints.ADD_CREDITS,
            path={"team_id": team_id},
            body={"credits": credits, "reason": reason},
            options=options,
        )

    async def adjust_credits(
        self,
        team_id: str,
        credits: int,
        *,
        reason: str,
        **options: Unpack[IdempotentRequestOptions],
    ) -> CreditBalance:
        """Correct a team's balance by ``credits`` (signed, not 0): a ledger ``adjustment``
        with ``reason``. A negative one takes only available credits: :class:`ConflictError`
        otherwise, with nothing changed. Returns the new balance.
        """
        return await self._request(
            endpoints.ADJUST_CREDITS,
            path={"team_id": team_id},
            body={"credits": credits, "reason": reason},
            options=options,
        )

    async def set_limits(
        self,
        team_id: str,
        *,
        rpm_limit: int | NotGiven | None = NOT_GIVEN,
        tpm_limit: int | NotGiven | None = NOT_GIVEN,
        **options: Unpack[IdempotentRequestOptions],
    ) -> Team:
        """Change a team's requests- and tokens-per-minute limits: a limit not given stays as it
        is, ``None`` removes it. ``set_limits(team, rpm_limit=60)`` keeps ``tpm_limit``.
        """
        return await self._request(
            endpoints.SET_LIMITS,
            path={"team_id": team_id},
            body={"rpm_limit": rpm_limit, "tpm_limit": tpm_limit},
            options=options,
        )

    async def suspend_team(self, team_id: str, **options: Unpack[IdempotentRequestOptions]) -> Team:
        """Refuse the team's requests (403) until :meth:`resume_team`; nothing is deleted.
        Suspending a suspended team changes nothing.
        """
        return await self._request(
            endpoints.SUSPEND_TEAM, path={"team_id": team_id}, options=options
        )

    async def resume_team(self, team_id: str, **options: Unpack[IdempotentRequestOptions]) -> Team:
        """Accept the team's requests again after :meth:`suspend_team`; resuming an active team
        changes nothing.
        """
        return await self._request(
            endpoints.RESUME_TEAM, path={"team_id": team_id}, options=options
        )

    async def set_auto_refill(
        self,
        team_id: str,
        amount: int,
        period: RefillPeriod,
        *,
        mode: RefillMode = "add",
        **options: Unpack[RequestOptions],
    ) -> Team:
        """Refill the team once per UTC ``period`` (``daily``, ``weekly``: ISO weeks,
        ``monthly``): ``mode="add"`` grants ``amount``, ``"top_up"`` raises credits_remaining to
        ``amount``. A missed period is caught up once, not once per period missed.
        """
        return await self._request(
            endpoints.SET_AUTO_REFILL,
            path={"team_id": team_id},
            body={"amount": amount, "period": period, "mode": mode},
            options=options,
        )

    async def delete_auto_refill(self, team_id: str, **options: Unpack[RequestOptions]) -> Team:
        """Turn the team's auto-refill off."""
        return await self._request(
            endpoints.DELETE_AUTO_REFILL, path={"team_id": team_id}, options=options
        )

    async def create_key(
        self,
        team_id: str,
        *,
        name: str | None = None,
        expires_at: datetime | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> KeyCreated:
        """Another virtual key for the team, next to the ones it has (one per deployment or
        environment, say); ``result.virtual_key`` is shown only this once — store it.

        ``name`` tells keys apart in :meth:`list_keys`; ``expires_at`` (a naive datetime is
        UTC) is when it stops working — never, without one. ``ConflictError`` when the team
        already has 100 working keys. A replay under the same ``idempotency_key`` revokes the
        key whose response was lost and hands out a fresh one.
        """
        return await self._request(
            endpoints.CREATE_KEY,
            path={"team_id": team_id},
            body={"name": name, "expires_at": expires_at},
            options=options,
        )

    async def list_keys(self, team_id: str, **options: Unpack[RequestOptions]) -> KeyList:
        """The team's keys, newest first, revoked and expired ones included: id, name,
        ``prefix`` (the key's first characters), expiry, last use. Never the keys themselves:
        the server keeps only their hashes.
        """
        return await self._request(endpoints.LIST_KEYS, path={"team_id": team_id}, options=options)

    async def revoke_key(
        self, team_id: str, key_id: str, **options: Unpack[RequestOptions]
    ) -> VirtualKeyInfo:
        """Stop one key at once (a leaked one, say) and return it with ``revoked_at`` set; the
        team's other keys keep working. Revoking a revoked key changes nothing.
        """
        return await self._request(
            endpoints.REVOKE_KEY, path={"team_id": team_id, "key_id": key_id}, options=options
        )

    async def rotate_key(
        self,
        team_id: str,
        *,
        grace_seconds: int | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> KeyRotation:
        """Replace all of the team's keys with one new virtual key (``result.virtual_key``,
        shown only this once). The keys it replaces stop working at once, or — so that the
        team's deployments can switch over without failing requests — ``grace_seconds`` later
        (up to 30 days): ``result.previous_keys_expire_at`` says when.
        """
        return await self._request(
            endpoints.ROTATE_KEY,
            path={"team_id": team_id},
            body={"grace_seconds": grace_seconds},
            options=options,
        )

    async def update_team(
        self,
        team_id: str,
        *,
        team_alias: str | NotGiven | None = NOT_GIVEN,
        access_groups: Sequence[str] | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        default_model: str | NotGiven | None = NOT_GIVEN,
        budget_mode: BudgetMode | NotGiven | None = NOT_GIVEN,
        tokens_per_credit: int | NotGiven | None = NOT_GIVEN,
        credits_per_dollar: float | NotGiven | None = NOT_GIVEN,
        markup_percent: float | NotGiven | None = NOT_GIVEN,
        low_balance_threshold: int | NotGiven | None = NOT_GIVEN,
        store_content: bool | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Team:
        """Change a team: ``access_groups`` replaces its whole list, ``metadata`` its whole
        object; ``team_alias=None``/``default_model=None`` clear them. Groups and the default
        model must exist (``BadRequestError`` otherwise). A new ``budget_mode`` (rate, markup)
        applies to jobs opened after the change; ``low_balance_threshold=None`` removes it.
        Credits, limits and status have their own methods (:meth:`add_credits`,
        :meth:`set_limits`, :meth:`set_auto_refill`, :meth:`suspend_team`).
        """
        return await self._request(
            endpoints.UPDATE_TEAM,
            path={"team_id": team_id},
            body={
                "team_alias": team_alias,
                "access_groups": access_groups,
                "metadata": metadata,
                "default_model": default_model,
                "budget_mode": budget_mode,
                "tokens_per_credit": tokens_per_credit,
                "credits_per_dollar": credits_per_dollar,
                "markup_percent": markup_percent,
                "low_balance_threshold": low_balance_threshold,
                "store_content": store_content,
            },
            options=options,
        )

    async def delete_team(self, team_id: str, **options: Unpack[RequestOptions]) -> Deleted:
        """Remove a team: its keys stop working at once; its jobs, calls and costs stay
        readable and keep counting in its organization's usage; its id is not reused.
        ``ConflictError`` while it has open jobs (complete or fail them first).
        """
        return await self._request(
            endpoints.DELETE_TEAM, path={"team_id": team_id}, options=options
        )

    async def update_organization(
        self,
        organization_id: str,
        *,
        name: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Organization:
        """Rename an organization and/or replace its whole ``metadata`` object (neither can be
        cleared: pass ``metadata={}`` to empty it).
        """
        return await self._request(
            endpoints.UPDATE_ORGANIZATION,
            path={"organization_id": organization_id},
            body={"name": name, "metadata": metadata},
            options=options,
        )

    async def delete_organization(
        self, organization_id: str, **options: Unpack[RequestOptions]
    ) -> Deleted:
        """Remove an organization; ``ConflictError`` naming its teams while it has any
        (:meth:`delete_team` them first).
        """
        return await self._request(
            endpoints.DELETE_ORGANIZATION,
            path={"organization_id": organization_id},
            options=options,
        )

    async def update_model_access_group(
        self,
        group_name: str,
        *,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> ModelAccessGroup:
        """Change a group's description (``None`` clears it). Which aliases are in a group is
        set on the alias (:meth:`update_model_alias`), which teams hold it on the team
        (:meth:`update_team`).
        """
        return await self._request(
            endpoints.UPDATE_MODEL_ACCESS_GROUP,
            path={"group_name": group_name},
            body={"description": description},
            options=options,
        )

    async def delete_model_access_group(
        self, group_name: str, **options: Unpack[RequestOptions]
    ) -> Deleted:
        """Remove a group; the aliases in it leave it. ``ConflictError`` naming the teams
        granted it while there are any.
        """
        return await self._request(
            endpoints.DELETE_MODEL_ACCESS_GROUP, path={"group_name": group_name}, options=options
        )

    async def update_model_alias(
        self,
        model_alias: str,
        *,
        access_groups: Sequence[str] | NotGiven | None = NOT_GIVEN,
        deployments: Sequence[Deployment | Mapping[str, Any]] | NotGiven | None = NOT_GIVEN,
        mode: AliasMode | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> ModelAlias:
        """Replace an alias's access groups and/or its whole list of deployments (in fallback
        order, as in :meth:`create_model_alias`). New prices apply to calls made from now on;
        recorded calls keep their cost.
        """
        return await self._request(
            endpoints.UPDATE_MODEL_ALIAS,
            path={"model_alias": model_alias},
            body={"access_groups": access_groups, "deployments": deployments, "mode": mode},
            options=options,
        )

    async def delete_model_alias(
        self, model_alias: str, **options: Unpack[RequestOptions]
    ) -> Deleted:
        """Remove an alias; calls recorded under it keep its name and cost. ``ConflictError``
        naming the teams whose default model it is, and for the built-in ``default`` alias.
        """
        return await self._request(
            endpoints.DELETE_MODEL_ALIAS, path={"model_alias": model_alias}, options=options
        )

    def list_organizations(
        self, *, limit: int = 50, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncPaginator[Organization]:
        """Organizations, newest first.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_ORGANIZATIONS,
            Organization,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    async def get_organization(
        self, organization_id: str, **options: Unpack[RequestOptions]
    ) -> Organization:
        """Get an organization."""
        return await self._request(
            endpoints.GET_ORGANIZATION, path={"organization_id": organization_id}, options=options
        )

    async def get_organization_usage(
        self,
        organization_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        **options: Unpack[RequestOptions],
    ) -> OrganizationUsage:
        """Usage analytics over all the organization's teams, one row per job type (when
        given, the jobs created and the calls started in ``[since, until)``).
        """
        return await self._request(
            endpoints.GET_ORGANIZATION_USAGE,
            path={"organization_id": organization_id},
            query={"since": since, "until": until},
            options=options,
        )

    def list_model_access_groups(
        self, *, limit: int = 50, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncPaginator[ModelAccessGroup]:
        """Model access groups, newest first.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_MODEL_ACCESS_GROUPS,
            ModelAccessGroup,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    def list_model_aliases(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        access_group: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[ModelAlias]:
        """Model aliases (those in ``access_group`` when given), newest first.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_MODEL_ALIASES,
            ModelAlias,
            query={"limit": limit, "cursor": cursor, "access_group": access_group},
            options=options,
        )

    def list_teams(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        organization_id: str | None = None,
        status: TeamStatus | None = None,
        access_group: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Team]:
        """Teams matching every filter given, newest first.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_TEAMS,
            Team,
            query={
                "limit": limit,
                "cursor": cursor,
                "organization_id": organization_id,
                "status": status,
                "access_group": access_group,
            },
            options=options,
        )

    def list_jobs(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: JobStatus | None = None,
        team_id: str | None = None,
        organization_id: str | None = None,
        job_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        model: str | None = None,
        has_errors: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Job]:
        """Jobs across teams matching every filter given, newest first (created
        in ``[since, until)`` when given).

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_JOBS,
            Job,
            query={
                "limit": limit,
                "cursor": cursor,
                "status": status,
                "team_id": team_id,
                "organization_id": organization_id,
                "job_type": job_type,
                "since": since,
                "until": until,
                "model": model,
                "has_errors": has_errors,
            },
            options=options,
        )

    def list_audit_log(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[AuditEvent]:
        """Admin changes matching every filter given, newest first: who
        (``actor``: ``"admin-key"``, ``"local-dev"``), what (``action``: ``"team.update"``…),
        to what (``target``: ``"team:acme-corp"``…), at or after ``since``; each with the
        fields before and after (never a key).

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_AUDIT_LOG,
            AuditEvent,
            query={
                "limit": limit,
                "cursor": cursor,
                "actor": actor,
                "action": action,
                "target": target,
                "since": since,
            },
            options=options,
        )

    async def create_webhook(
        self,
        url: str,
        events: Sequence[WebhookEventType],
        *,
        organization_id: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> WebhookCreated:
        """Register an endpoint the server POSTs ``events`` to (``"job.completed"``,
        ``"team.suspended"``…), signed as Standard Webhooks says; with ``organization_id``,
        only that organization's events. ``result.secret`` (``whsec_…``) verifies the
        signatures and is shown only this once — store it. A loopback or private URL is a
        ``ValidationError`` (422) unless the server allows them; a replay under the same
        ``idempotency_key`` answers the same endpoint and secret.
        """
        return await self._request(
            endpoints.CREATE_WEBHOOK,
            body={"url": url, "events": events, "organization_id": organization_id},
            options=options,
        )

    def list_webhooks(
        self, *, limit: int = 50, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncPaginator[WebhookInfo]:
        """Webhook endpoints, newest first, with their status (``disabled`` after
        failing for days); never their secrets.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_WEBHOOKS,
            WebhookInfo,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    async def delete_webhook(self, webhook_id: str, **options: Unpack[RequestOptions]) -> Deleted:
        """Remove an endpoint: nothing more is sent to it, its pending deliveries are given
        up.
        """
        return await self._request(
            endpoints.DELETE_WEBHOOK, path={"webhook_id": webhook_id}, options=options
        )

    def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: DeliveryStatus | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[WebhookDelivery]:
        """An endpoint's deliveries, newest first (``status``: ``"pending"``,
        ``"succeeded"`` or ``"failed"``): the event, attempts and the latest attempt's
        outcome.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_WEBHOOK_DELIVERIES,
            WebhookDelivery,
            path={"webhook_id": webhook_id},
            query={"limit": limit, "cursor": cursor, "status": status},
            options=options,
        )

    async def retry_webhook_delivery(
        self, webhook_id: str, delivery_id: str, **options: Unpack[IdempotentRequestOptions]
    ) -> WebhookDelivery:
        """Send a delivery again, with the same ``webhook-id``, as soon as a worker is free
        (whatever its status). ``ConflictError`` when the endpoint is disabled.
        """
        return await self._request(
            endpoints.RETRY_WEBHOOK_DELIVERY,
            path={"webhook_id": webhook_id, "delivery_id": delivery_id},
            options=options,
        )

    async def test_webhook(
        self, webhook_id: str, **options: Unpack[IdempotentRequestOptions]
    ) -> WebhookDelivery:
        """Send the endpoint a ``webhook.test`` event (``WebhookTestEvent`` once verified),
        whatever events it takes, through the normal delivery path; returns its delivery
        (``list_webhook_deliveries`` shows how it went). ``ConflictError`` when the
        endpoint is disabled.
        """
        return await self._request(
            endpoints.TEST_WEBHOOK, path={"webhook_id": webhook_id}, options=options
        )

    async def create_operator(
        self, name: str, role: OperatorRole, **options: Unpack[IdempotentRequestOptions]
    ) -> OperatorCreated:
        """An operator with a key of its own (``result.api_key``, ``sk-op-…``, shown only this
        once — hand it over and forget it). ``role``: ``"viewer"`` reads, ``"billing"``
        also grants credits and changes billing settings, ``"admin"`` changes everything but
        operators, ``"owner"`` everything. Owners only (the admin key is one).
        """
        return await self._request(
            endpoints.CREATE_OPERATOR, body={"name": name, "role": role}, options=options
        )

    def list_operators(
        self, *, limit: int = 50, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncPaginator[OperatorInfo]:
        """The operators, newest first, with their roles; never their keys. Removed operators
        are not listed (the audit log still names them).

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_OPERATORS,
            OperatorInfo,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    async def update_operator(
        self,
        operator_id: str,
        *,
        name: str | NotGiven | None = NOT_GIVEN,
        role: OperatorRole | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> OperatorInfo:
        """Rename an operator or change its role; the new role applies from its next request
        (its dashboard sessions included).
        """
        return await self._request(
            endpoints.UPDATE_OPERATOR,
            path={"operator_id": operator_id},
            body={"name": name, "role": role},
            options=options,
        )

    async def delete_operator(self, operator_id: str, **options: Unpack[RequestOptions]) -> Deleted:
        """Remove an operator: its key is refused at once and its dashboard sessions end; the
        changes it made stay in the audit log under its id.
        """
        return await self._request(
            endpoints.DELETE_OPERATOR, path={"operator_id": operator_id}, options=options
        )

    async def rotate_operator_key(
        self, operator_id: str, **options: Unpack[IdempotentRequestOptions]
    ) -> OperatorCreated:
        """A new key for the operator (``result.api_key``, shown only this once); the old one
        is refused at once and its dashboard sessions end.
        """
        return await self._request(
            endpoints.ROTATE_OPERATOR_KEY, path={"operator_id": operator_id}, options=options
        )

    async def get_team_usage(
        self,
        team_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        **options: Unpack[RequestOptions],
    ) -> TeamUsage:
        """Usage analytics of any team, one row per job type (when given, the jobs created
        and the calls started in ``[since, until)``).
        """
        return await self._request(
            endpoints.GET_TEAM_USAGE,
            path={"team_id": team_id},
            query={"since": since, "until": until},
            options=options,
        )

    def list_team_jobs(
        self,
        team_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: JobStatus | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Job]:
        """Any team's jobs, newest first (``next_cursor`` for the next).

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_TEAM_JOBS,
            Job,
            path={"team_id": team_id},
            query={"limit": limit, "cursor": cursor, "status": status},
            options=options,
        )

    def list_transactions(
        self,
        team_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        kind: CreditTransactionKind | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[CreditTransaction]:
        """The team's credit ledger, newest first (grants, charges, refills,
        adjustments, each with the balance after it). As CSV: ``?format=csv`` on the
        endpoint, from a browser or ``curl``.

        Await the result for the first page (``items``, ``next_cursor``,
        ``has_next_page()``); ``async for`` over it walks every item of every page.
        """
        return self._paginate(
            endpoints.LIST_TRANSACTIONS,
            CreditTransaction,
            path={"team_id": team_id},
            query={"limit": limit, "cursor": cursor, "kind": kind},
            options=options,
        )

    async def get_usage_report(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: UsageGroupBy = "team",
        **options: Unpack[RequestOptions],
    ) -> UsageReport:
        """Usage of every team, one row per ``group_by`` (``team``, ``organization``,
        ``job_type``, ``model`` or ``day``): calls, tokens and costs of the calls started
        in ``[since, until)``, jobs and credits of the jobs created in it (``None`` per
        model). The same report as CSV: ``GET /api/usage?format=csv`` from a browser or
        ``curl``.
        """
        return await self._request(
            endpoints.GET_USAGE,
            query={"since": since, "until": until, "group_by": group_by},
            options=options,
        )


class AdminEndpointsWithRawResponse:
    """``client.with_raw_response``: the methods of :class:`AdminEndpoints` that answer
    a response (not a stream), answering a :class:`RawResponse` of it instead."""

    def __init__(self, client: AdminEndpoints) -> None:
        self.get_call = async_raw_response(client.get_call)
        self.create_organization = async_raw_response(client.create_organization)
        self.create_model_access_group = async_raw_response(client.create_model_access_group)
        self.create_model_alias = async_raw_response(client.create_model_alias)
        self.get_model_alias = async_raw_response(client.get_model_alias)
        self.create_team = async_raw_response(client.create_team)
        self.get_team = async_raw_response(client.get_team)
        self.add_credits = async_raw_response(client.add_credits)
        self.adjust_credits = async_raw_response(client.adjust_credits)
        self.set_limits = async_raw_response(client.set_limits)
        self.suspend_team = async_raw_response(client.suspend_team)
        self.resume_team = async_raw_response(client.resume_team)
        self.set_auto_refill = async_raw_response(client.set_auto_refill)
        self.delete_auto_refill = async_raw_response(client.delete_auto_refill)
        self.create_key = async_raw_response(client.create_key)
        self.list_keys = async_raw_response(client.list_keys)
        self.revoke_key = async_raw_response(client.revoke_key)
        self.rotate_key = async_raw_response(client.rotate_key)
        self.update_team = async_raw_response(client.update_team)
        self.delete_team = async_raw_response(client.delete_team)
        self.update_organization = async_raw_response(client.update_organization)
        self.delete_organization = async_raw_response(client.delete_organization)
        self.update_model_access_group = async_raw_response(client.update_model_access_group)
        self.delete_model_access_group = async_raw_response(client.delete_model_access_group)
        self.update_model_alias = async_raw_response(client.update_model_alias)
        self.delete_model_alias = async_raw_response(client.delete_model_alias)
        self.list_organizations = async_raw_response(client.list_organizations)
        self.get_organization = async_raw_response(client.get_organization)
        self.get_organization_usage = async_raw_response(client.get_organization_usage)
        self.list_model_access_groups = async_raw_response(client.list_model_access_groups)
        self.list_model_aliases = async_raw_response(client.list_model_aliases)
        self.list_teams = async_raw_response(client.list_teams)
        self.list_jobs = async_raw_response(client.list_jobs)
        self.list_audit_log = async_raw_response(client.list_audit_log)
        self.create_webhook = async_raw_response(client.create_webhook)
        self.list_webhooks = async_raw_response(client.list_webhooks)
        self.delete_webhook = async_raw_response(client.delete_webhook)
        self.list_webhook_deliveries = async_raw_response(client.list_webhook_deliveries)
        self.retry_webhook_delivery = async_raw_response(client.retry_webhook_delivery)
        self.test_webhook = async_raw_response(client.test_webhook)
        self.create_operator = async_raw_response(client.create_operator)
        self.list_operators = async_raw_response(client.list_operators)
        self.update_operator = async_raw_response(client.update_operator)
        self.delete_operator = async_raw_response(client.delete_operator)
        self.rotate_operator_key = async_raw_response(client.rotate_operator_key)
        self.get_team_usage = async_raw_response(client.get_team_usage)
        self.list_team_jobs = async_raw_response(client.list_team_jobs)
        self.list_transactions = async_raw_response(client.list_transactions)
        self.get_usage_report = async_raw_response(client.get_usage_report)
