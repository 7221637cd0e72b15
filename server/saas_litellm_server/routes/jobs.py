"""Team endpoints of the job lifecycle: create, inspect, call, complete.

Logic in ``services.jobs`` and ``services.calls``; auth, parsing and idempotency come from each
endpoint's :class:`Operation`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from saas_litellm_models import (
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    LLMCallRequest,
    LLMCallResponse,
)

from ..services import calls, jobs
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def create_job(call: Call[JobCreateRequest, None]) -> Job:
    return await jobs.create_job(call.db, call.team, call.body, now=call.runtime.clock())


async def get_job(call: Call[None, None]) -> JobDetail:
    return await jobs.get_job(call.db, call.team, call.path["job_id"])


async def llm_call(call: Call[LLMCallRequest, None]) -> LLMCallResponse:
    return await calls.llm_call(call.runtime, call.team, call.path["job_id"], call.body)


async def llm_call_stream(call: Call[LLMCallRequest, None]) -> AsyncGenerator[calls.StreamEvent]:
    # Everything that can refuse the call does so here, as a JSON error, before any SSE byte.
    prepared = await calls.prepare_call(call.runtime, call.team, call.path["job_id"], call.body)
    return calls.stream_call(call.runtime, prepared)


async def complete_job(call: Call[JobCompleteRequest, None]) -> JobCompletion:
    return await jobs.complete_job(call.db, call.team, call.path["job_id"], call.body)


_CALL_ERRORS = (400, 402, 403, 409, 429, 502, 504)

routes = [
    api_route(
        Operation(
            "POST",
            "/api/jobs/create",
            summary="Create a job",
            auth="team",
            tag="jobs",
            response=Job,
            body=JobCreateRequest,
            status=201,
            errors=(402,),
            idempotent=True,
            description="Reserves one credit until the job is closed: spent if it completes with a "
            "successful call, released otherwise; 402 (with the balance) when the team has none "
            "left to reserve.",
        ),
        create_job,
    ),
    api_route(
        Operation(
            "GET",
            "/api/jobs/{job_id}",
            summary="Get a job with its calls and costs",
            auth="team",
            tag="jobs",
            response=JobDetail,
        ),
        get_job,
    ),
    api_route(
        Operation(
            "POST",
            "/api/jobs/{job_id}/llm-call",
            summary="Make an LLM call within a job",
            auth="team",
            tag="jobs",
            response=LLMCallResponse,
            body=LLMCallRequest,
            errors=_CALL_ERRORS,
            idempotent=True,
            keeps_own_response=True,  # kept with the call's record: no transaction upstream
        ),
        llm_call,
    ),
    api_route(
        Operation(
            "POST",
            "/api/jobs/{job_id}/llm-call-stream",
            summary="Make a streamed LLM call within a job (Server-Sent Events)",
            auth="team",
            tag="jobs",
            response=None,
            body=LLMCallRequest,
            errors=_CALL_ERRORS,
            sse=True,
            idempotent=True,
            keeps_own_response=True,
            description="Each event has `event: <type>`, `id: <sequence>` and one `data:` line "
            "holding a StreamChunk, then one StreamDone, or one StreamErrorEvent instead of done.",
        ),
        llm_call_stream,
    ),
    api_route(
        Operation(
            "POST",
            "/api/jobs/{job_id}/complete",
            summary="Complete or fail a job",
            auth="team",
            tag="jobs",
            response=JobCompletion,
            body=JobCompleteRequest,
            errors=(409,),
            idempotent=True,
            description="`completed` spends the job's credit if one of its calls succeeded and "
            "otherwise releases it (`costs.credit_reason` says why); `failed` releases it. "
            "Repeating the same status returns the same result; the other status is 409.",
        ),
        complete_job,
    ),
]
