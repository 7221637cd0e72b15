"""The team client: jobs, LLM calls, credits — everything a virtual key may do.

``_sync_client`` is generated from this module by ``scripts/unasync.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel
from typing_extensions import Unpack

from saas_litellm_models import (
    ChatMessage,
    CreateAndCallRequest,
    CreateAndCallResponse,
    CreditBalance,
    CreditTransactionKind,
    CreditTransactionList,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    JobLimits,
    JobList,
    JobStatus,
    LLMCallRequest,
    LLMCallResponse,
    TeamUsage,
)

from . import _endpoints
from ._base_client import _BaseClient
from ._core import DEFAULT_BASE_URL, ENV_BASE_URL, RequestOptions, _from_env
from ._exceptions import APITimeoutError, SaasLiteLLMError
from ._jobs import JobContext, JobHandle
from ._params import CallParams, StructuredCallParams
from ._request_id import request_id_of, set_request_id
from ._response import async_raw_response
from ._retry import check_deadline, check_idempotency_key
from ._streaming import ChatStream
from ._structured import check_max_retries, response_format_for
from ._structured_calls import StructuredStream, run_structured_call
from ._types import DEFAULT_MAX_RETRIES, NOT_GIVEN, MessageParam, NotGiven, TimeoutTypes

__all__ = ["SaasLiteLLMClient", "SaasLiteLLMClientWithRawResponse"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)

ENV_TEAM_ID = "SAAS_LITELLM_TEAM_ID"
ENV_VIRTUAL_KEY = "SAAS_LITELLM_VIRTUAL_KEY"


class SaasLiteLLMClient(_BaseClient):
    """Async client for one team, authenticated by its virtual key.

    ::

        async with SaasLiteLLMClient(base_url=..., team_id=..., virtual_key=...) as client:
            job = await client.create_job("document_analysis")
            resp = await client.llm_call(job_id=job.job_id, messages=[{"role": "user", ...}])
            result = await client.complete_job(job.job_id, "completed")

    Omitted arguments are read from ``SAAS_LITELLM_BASE_URL``, ``SAAS_LITELLM_TEAM_ID`` and
    ``SAAS_LITELLM_VIRTUAL_KEY``; the base URL defaults to ``http://localhost:8003``. Without
    ``http_client`` the client opens its own connection pool: use ``async with`` or ``close()``.

    ``timeout`` applies to each request (default: 60 s, 5 s to connect); ``max_retries``
    (default 2) is how often a connection error, a timeout, a 408, 429 or 5xx is retried, with
    exponential backoff; ``deadline`` (seconds, default none) bounds a whole call, retries and
    waits included. Every method takes the three per call as well, and
    :meth:`with_options` makes a copy with other defaults. Every ``POST`` is sent with an
    ``Idempotency-Key`` (pass ``idempotency_key=`` to choose it), the same on every retry, so
    that a retried call whose response was lost is not run twice. See ``docs/sdk.md``; the
    endpoints are declared in ``_endpoints``.
    """

    team_id: str

    def __init__(
        self,
        base_url: str | None = None,
        team_id: str | None = None,
        virtual_key: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        resolved_team_id = _from_env(team_id, ENV_TEAM_ID)
        if resolved_team_id is None:
            raise SaasLiteLLMError(
                f"team_id is required: pass team_id=... or set the {ENV_TEAM_ID} "
                "environment variable."
            )
        resolved_key = _from_env(virtual_key, ENV_VIRTUAL_KEY)
        if resolved_key is None:
            raise SaasLiteLLMError(
                f"virtual_key is required: pass virtual_key=... or set the {ENV_VIRTUAL_KEY} "
                "environment variable."
            )
        super().__init__(
            base_url=_from_env(base_url, ENV_BASE_URL) or DEFAULT_BASE_URL,
            api_key=resolved_key,
            timeout=timeout,
            http_client=http_client,
            default_headers=default_headers,
            max_retries=max_retries,
            deadline=deadline,
        )
        self.team_id = resolved_team_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self.base_url!r} team_id={self.team_id!r}>"

    @property
    def with_raw_response(self) -> SaasLiteLLMClientWithRawResponse:
        """The same methods, answering a :class:`RawResponse` — status, headers (``X-Job-Id``,
        ``X-Request-ID``, ``Idempotent-Replayed``…) and ``parse()`` — instead of the model::

            raw = await client.with_raw_response.create_and_call("chat", messages=[...])
            print(raw.headers["x-job-id"], raw.request_id)
            resp = raw.parse()  # the CreateAndCallResponse
        """
        return SaasLiteLLMClientWithRawResponse(self)

    # -- jobs --------------------------------------------------------------------------------

    async def create_job(
        self,
        job_type: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        limits: JobLimits | Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Job:
        """Open a job, reserving one credit until it completes (spent) or fails (released).

        ``limits`` (``{"max_tokens", "max_cost_usd", "max_credits"}``) cap the job: a call
        whose worst case would pass one raises :class:`JobBudgetExceededError` before it goes
        upstream. Raises :class:`InsufficientCreditsError` when the team has no unreserved
        credit left.
        Invalid arguments raise pydantic's ``ValidationError`` before anything is sent.
        Prefer :meth:`job`, which also completes (or fails) the job.
        """
        body = JobCreateRequest.model_validate(
            {
                "team_id": self.team_id,
                "job_type": job_type,
                "metadata": metadata,
                "user_id": user_id,
                "limits": limits,
            }
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return await self._request(_endpoints.CREATE_JOB, body=body, options=options)

    def job(
        self,
        job_type: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        limits: JobLimits | Mapping[str, Any] | None = None,
    ) -> AbstractAsyncContextManager[JobHandle]:
        """A job as a block: created on entry, completed when the block ends, failed when it
        raises::

            async with client.job("document_analysis", metadata={"doc": 42}) as job:
                resp = await job.llm_call(messages=[{"role": "user", "content": "..."}])
                person = await job.structured_call(messages=[...], response_model=Person)
            print(job.result.credits_remaining)  # the JobCompletion

        A clean exit completes the job (``"completed"``: its credit is spent); an exception
        fails it (``"failed"``, with ``"<ExceptionType>: <message>"`` as its error message:
        the credit is released) and propagates unchanged — if failing the job fails too, that
        is logged and the original exception still propagates. A job already completed inside
        the block with ``job.complete(...)`` is left as it is. Use :meth:`with_options` for
        other timeouts, retries or deadlines. See :class:`JobHandle`.
        """
        return JobContext(self, job_type, metadata=metadata, user_id=user_id, limits=limits)

    async def get_job(
        self,
        job_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> JobDetail:
        """The job with its recorded calls and costs so far."""
        options = RequestOptions(timeout, max_retries, deadline)
        return await self._request(_endpoints.GET_JOB, params={"job_id": job_id}, options=options)

    async def complete_job(
        self,
        job_id: str,
        status: Literal["completed", "failed"] = "completed",
        *,
        metadata: Mapping[str, Any] | None = None,
        error_message: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> JobCompletion:
        """Close a job: ``"completed"`` spends its one credit (released instead if none of its
        calls succeeded: ``result.costs.credit_reason``), ``"failed"`` releases it.

        Repeating the same status returns the same result without charging again; switching
        status raises :class:`ConflictError`. ``result.credits_remaining`` is the balance after.
        """
        body = JobCompleteRequest.model_validate(
            {"status": status, "metadata": metadata, "error_message": error_message}
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return await self._request(
            _endpoints.COMPLETE_JOB, params={"job_id": job_id}, body=body, options=options
        )

    # -- LLM calls ---------------------------------------------------------------------------

    async def llm_call(
        self,
        *,
        job_id: str,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[CallParams],
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
        body = LLMCallRequest.model_validate(params)
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return await self._request(
            _endpoints.LLM_CALL, params={"job_id": job_id}, body=body, options=options
        )

    def stream(
        self,
        *,
        job_id: str,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[CallParams],
    ) -> ChatStream:
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
        body = LLMCallRequest.model_validate(params)
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        _endpoints.LLM_CALL_STREAM.url_path({"job_id": job_id})  # a bad job_id raises now too
        return ChatStream(
            partial(
                self._request_stream,
                _endpoints.LLM_CALL_STREAM,
                params={"job_id": job_id},
                body=body,
                options=options,
            )
        )

    # -- single-call jobs --------------------------------------------------------------------

    async def create_and_call(
        self,
        job_type: str,
        *,
        user_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[CallParams],
    ) -> CreateAndCallResponse:
        """A job of one LLM call, in one request: the job is created, called and settled by the
        server. ``resp.content`` is the answer, ``resp.job_id`` the job and ``resp.costs`` its
        settlement (``credit_applied``, ``credits_remaining``).

        ``params`` are those of :meth:`llm_call`; ``metadata`` is recorded on the job and the
        call. A successful call completes the job (one credit); a failed one fails it (no
        credit) and raises what :meth:`llm_call` would raise. Retries carry the same
        ``Idempotency-Key``, so a retried request never makes a second job.
        """
        body = self._create_and_call_body(job_type, user_id, params)
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return await self._request(_endpoints.CREATE_AND_CALL, body=body, options=options)

    def create_and_call_stream(
        self,
        job_type: str,
        *,
        user_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[CallParams],
    ) -> ChatStream:
        """:meth:`create_and_call`, answered chunk by chunk like :meth:`stream`; the stream's
        ``done`` event carries the job's settlement (``stream.done.costs``). A stream that ends
        in an error (or that the caller closes early) fails the job: no credit."""
        body = self._create_and_call_body(job_type, user_id, params)
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return ChatStream(
            partial(
                self._request_stream,
                _endpoints.CREATE_AND_CALL_STREAM,
                body=body,
                options=options,
            )
        )

    def _create_and_call_body(
        self, job_type: str, user_id: str | None, params: CallParams
    ) -> CreateAndCallRequest:
        return CreateAndCallRequest.model_validate(
            {**params, "team_id": self.team_id, "job_type": job_type, "user_id": user_id}
        )

    # -- structured outputs ------------------------------------------------------------------

    async def structured_call(
        self,
        *,
        job_id: str,
        response_model: type[_ModelT],
        max_retries: int = 2,
        strict: bool = True,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[StructuredCallParams],
    ) -> _ModelT:
        """Ask for an answer shaped like ``response_model`` and return it validated.

        ::

            class Person(BaseModel):
                name: str
                age: int

            person = await client.structured_call(
                job_id=job.job_id, messages=[...], response_model=Person
            )

        The request carries ``response_format`` with :func:`to_strict_json_schema`'s schema
        (``strict=False`` sends pydantic's schema non-strictly, for models strict mode cannot
        express). An answer that is not valid JSON or fails validation is re-asked with its
        errors, up to ``max_retries`` times (so at most ``1 + max_retries`` calls, each an
        ordinary ``llm_call`` of the job). The other arguments are those of :meth:`llm_call`
        (:class:`StructuredCallParams`: all but ``response_format``, ``tools`` and
        ``tool_choice``).

        Here ``max_retries`` counts re-asks; each call is also retried on network and server
        errors as the client is configured (``client.with_options(max_retries=...)``).
        ``deadline`` bounds the whole structured call, re-asks included. With
        ``idempotency_key``, the first call uses it and re-ask ``n`` uses
        ``f"{idempotency_key}-reask-{n}"``, so that repeating the whole structured call with
        the same key replays it. :func:`request_id_of` on the result gives the request id of
        the call that produced it.

        Raises :class:`StructuredOutputError` when the last answer is still invalid (with the
        attempts, last output, errors, summed usage and call ids),
        :class:`StructuredOutputTruncatedError` for an answer cut off by ``max_tokens`` and
        :class:`StructuredOutputRefusedError` for a refusal — neither is re-asked — and API
        errors as :meth:`llm_call` does, without re-asking. :class:`StrictSchemaError` (a
        ``ValueError``) is raised before anything is sent for a model strict mode cannot
        express.
        """
        check_max_retries(max_retries)
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
            check_idempotency_key(_reask_key(idempotency_key, max_retries))
        total = self.deadline if isinstance(deadline, NotGiven) else check_deadline(deadline)
        response_format = response_format_for(response_model, strict=strict)
        deadline_at = None if total is None else self._clock() + total
        calls: list[LLMCallResponse] = []

        async def call(conversation: Sequence[ChatMessage | MessageParam]) -> LLMCallResponse:
            remaining: float | None = None
            if deadline_at is not None:
                remaining = deadline_at - self._clock()
                if remaining <= 0:
                    raise APITimeoutError(
                        f"Deadline of {total:g}s exceeded for structured_call "
                        f"after {len(calls)} call(s)"
                    )
            key = idempotency_key
            if key is not None and calls:
                key = _reask_key(key, len(calls))
            call_params: CallParams = {
                **params,
                "messages": conversation,
                "response_format": response_format,
                "tools": None,
                "tool_choice": None,
            }
            response = await self.llm_call(
                job_id=job_id,
                idempotency_key=key,
                timeout=timeout,
                deadline=remaining,
                **call_params,
            )
            calls.append(response)
            return response

        result = await run_structured_call(call, params["messages"], response_model, max_retries)
        set_request_id(result, request_id_of(calls[-1]))
        return result

    def stream_structured(
        self,
        *,
        job_id: str,
        response_model: type[_ModelT],
        strict: bool = True,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        **params: Unpack[StructuredCallParams],
    ) -> StructuredStream[_ModelT]:
        """Like :meth:`structured_call`, streamed: partial objects as the JSON arrives, then the
        validated ``response_model`` instance as the last item. Not a coroutine; prefer
        ``async with``, which always closes the connection::

            async with client.stream_structured(
                job_id=job.job_id, messages=[...], response_model=Person
            ) as stream:
                async for snapshot in stream:
                    print(snapshot.model_dump(exclude_none=True))
            person = stream.final

        One call, no re-ask: an answer that does not validate raises
        :class:`StructuredOutputError`. Opening is retried as :meth:`stream`'s (with the
        client's ``max_retries``). See :class:`StructuredStream`.
        """
        response_format = response_format_for(response_model, strict=strict)
        call_params: CallParams = {
            **params,
            "response_format": response_format,
            "tools": None,
            "tool_choice": None,
        }
        chat_stream = self.stream(
            job_id=job_id,
            idempotency_key=idempotency_key,
            timeout=timeout,
            deadline=deadline,
            **call_params,
        )
        return StructuredStream(chat_stream, response_model)

    # -- credits and usage -------------------------------------------------------------------

    async def get_balance(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CreditBalance:
        """The team's credits; ``credits_available`` is how many more jobs it can open now."""
        options = RequestOptions(timeout, max_retries, deadline)
        return await self._request(_endpoints.GET_BALANCE, options=options)

    async def get_usage(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> TeamUsage:
        """Usage analytics of this team, one row per job type: jobs, completed, failed, calls,
        tokens, cost and credits; optionally only for jobs created in ``[since, until)``."""
        options = RequestOptions(timeout, max_retries, deadline)
        return await self._request(
            _endpoints.GET_TEAM_USAGE,
            params={"team_id": self.team_id},
            query={"since": since, "until": until},
            options=options,
        )

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> JobList:
        """One page of this team's jobs, newest first; pass ``page.next_cursor`` as ``cursor``
        for the next one (see :meth:`iter_jobs` to walk them all)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return await self._request(
            _endpoints.LIST_TEAM_JOBS,
            params={"team_id": self.team_id},
            query={"status": status, "limit": limit, "cursor": cursor},
            options=options,
        )

    async def list_transactions(
        self,
        *,
        kind: CreditTransactionKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CreditTransactionList:
        """One page of this team's credit ledger, newest first: every grant, charge, refill
        and adjustment with the balance after it."""
        options = RequestOptions(timeout, max_retries, deadline)
        return await self._request(
            _endpoints.LIST_TRANSACTIONS,
            params={"team_id": self.team_id},
            query={"kind": kind, "limit": limit, "cursor": cursor},
            options=options,
        )

    async def iter_jobs(
        self, *, status: JobStatus | None = None, page_size: int = 100
    ) -> AsyncIterator[Job]:
        """Every job of this team, newest first, fetched a page at a time."""
        cursor: str | None = None
        while True:
            page = await self.list_jobs(status=status, limit=page_size, cursor=cursor)
            for job in page.jobs:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


class SaasLiteLLMClientWithRawResponse:
    """``client.with_raw_response``: every method of the client that answers one response
    model, answering a :class:`RawResponse` of it instead (streams already expose theirs as
    ``stream.response``)."""

    def __init__(self, client: SaasLiteLLMClient) -> None:
        self.create_job = async_raw_response(client.create_job)
        self.get_job = async_raw_response(client.get_job)
        self.complete_job = async_raw_response(client.complete_job)
        self.llm_call = async_raw_response(client.llm_call)
        self.create_and_call = async_raw_response(client.create_and_call)
        self.get_balance = async_raw_response(client.get_balance)
        self.get_usage = async_raw_response(client.get_usage)
        self.list_jobs = async_raw_response(client.list_jobs)
        self.list_transactions = async_raw_response(client.list_transactions)


def _reask_key(key: str, reask: int) -> str:
    return f"{key}-reask-{reask}"
