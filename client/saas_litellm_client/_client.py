"""The team client: jobs, LLM calls, credits — everything a virtual key may do.

``_sync_client`` is generated from this module by ``scripts/unasync.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel
from typing_extensions import Unpack

from saas_litellm_models import ChatMessage, JobLimits, LLMCallResponse

from ._core import DEFAULT_BASE_URL, ENV_BASE_URL, _from_env, split_options
from ._endpoint_methods import TeamEndpoints, TeamEndpointsWithRawResponse
from ._exceptions import APITimeoutError, SaasLiteLLMError
from ._jobs import JobContext, JobHandle
from ._params import CallParamsWithOptions, StructuredCallParamsWithOptions
from ._request_id import request_id_of, set_request_id
from ._retry import check_idempotency_key
from ._structured import check_max_reasks, response_format_for
from ._structured_calls import StructuredStream, run_structured_call
from ._types import DEFAULT_MAX_RETRIES, NOT_GIVEN, MessageParam, NotGiven, TimeoutTypes

__all__ = ["SaasLiteLLMClient", "SaasLiteLLMClientWithRawResponse"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)

ENV_TEAM_ID = "SAAS_LITELLM_TEAM_ID"
ENV_VIRTUAL_KEY = "SAAS_LITELLM_VIRTUAL_KEY"


class SaasLiteLLMClient(TeamEndpoints):
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

    # -- structured outputs ------------------------------------------------------------------

    async def structured_call(
        self,
        *,
        job_id: str,
        response_model: type[_ModelT],
        max_reasks: int = 2,
        strict: bool = True,
        **params: Unpack[StructuredCallParamsWithOptions],
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
        errors, up to ``max_reasks`` times (so at most ``1 + max_reasks`` calls, each an
        ordinary ``llm_call`` of the job). The other arguments are those of :meth:`llm_call`
        (:class:`StructuredCallParams`: all but ``response_format``, ``tools`` and
        ``tool_choice``) and its options.

        ``max_retries``, as everywhere, is how often each call is retried on network and
        server errors; ``deadline`` bounds the whole structured call, re-asks included. With
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
        check_max_reasks(max_reasks)
        fields, options = split_options(params)
        idempotency_key = options.idempotency_key
        if idempotency_key is not None:
            check_idempotency_key(_reask_key(idempotency_key, max_reasks))
        deadline = options.deadline
        total = self.deadline if isinstance(deadline, NotGiven) else deadline
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
            call_params: CallParamsWithOptions = {
                **fields,  # type: ignore[typeddict-item]  # StructuredCallParams' fields
                "messages": conversation,
                "response_format": response_format,
                "tools": None,
                "tool_choice": None,
                "idempotency_key": key,
                "timeout": options.timeout,
                "max_retries": options.max_retries,
                "deadline": remaining,
            }
            response = await self.llm_call(job_id=job_id, **call_params)
            calls.append(response)
            return response

        result = await run_structured_call(call, params["messages"], response_model, max_reasks)
        set_request_id(result, request_id_of(calls[-1]))
        return result

    def stream_structured(
        self,
        *,
        job_id: str,
        response_model: type[_ModelT],
        strict: bool = True,
        **params: Unpack[StructuredCallParamsWithOptions],
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
        call_params: CallParamsWithOptions = {
            **params,
            "response_format": response_format,
            "tools": None,
            "tool_choice": None,
        }
        chat_stream = self.stream(job_id=job_id, **call_params)
        return StructuredStream(chat_stream, response_model)


class SaasLiteLLMClientWithRawResponse(TeamEndpointsWithRawResponse):
    """``client.with_raw_response``: every method of the client that answers one response
    model, answering a :class:`RawResponse` of it instead (streams already expose theirs as
    ``stream.response``)."""


def _reask_key(key: str, reask: int) -> str:
    return f"{key}-reask-{reask}"
