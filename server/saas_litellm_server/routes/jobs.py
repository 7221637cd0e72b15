"""Team endpoints of the job lifecycle: create, inspect, call, complete.

Logic in ``services.jobs`` and ``services.calls``; auth, parsing and idempotency come from each
endpoint's :class:`Operation`.
"""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import (
    CreateAndCallRequest,
    CreateAndCallResponse,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    LLMCallRequest,
    LLMCallResponse,
)

from .._responses import json_response
from ..services import calls, jobs, shortcut
from ._operation import Call, Operation, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]


async def create_job(call: Call[JobCreateRequest, None]) -> Job:
    return await jobs.create_job(call.db, call.team, call.body, now=call.runtime.clock())


async def get_job(call: Call[None, None]) -> JobDetail:
    return await jobs.get_job(call.db, call.team, call.path["job_id"])


async def llm_call(call: Call[LLMCallRequest, None]) -> LLMCallResponse:
    return await calls.llm_call(call.runtime, call.team, call.path["job_id"], call.body)


async def llm_call_stream(call: Call[LLMCallRequest, None]) -> calls.CallEvents:
    # Everything that can refuse the call does so here, as a JSON error, before any SSE byte.
    prepared = await calls.prepare_call(call.runtime, call.team, call.path["job_id"], call.body)
    return calls.stream_call(call.runtime, prepared)


async def complete_job(call: Call[JobCompleteRequest, None]) -> JobCompletion:
    return await jobs.complete_job(call.db, call.team, call.path["job_id"], call.body)


def _parts(body: CreateAndCallRequest) -> tuple[JobCreateRequest, LLMCallRequest]:
    """The job and the call a create-and-call body describes (``metadata`` goes on both)."""
    job = JobCreateRequest(
        team_id=body.team_id, job_type=body.job_type, metadata=body.metadata, user_id=body.user_id
    )
    return job, LLMCallRequest(
        **{name: getattr(body, name) for name in LLMCallRequest.model_fields}
    )


async def create_and_call(call: Call[CreateAndCallRequest, None]) -> Response:
    job, body = _parts(call.body)
    result = await shortcut.create_and_call(call.runtime, call.team, job, body)
    response = json_response(result)
    response.headers[shortcut.JOB_ID_HEADER] = result.job_id
    return response


async def create_and_call_stream(call: Call[CreateAndCallRequest, None]) -> EventStreamResponse:
    job, body = _parts(call.body)
    single = await shortcut.open_single_call(call.runtime, call.team, job, body)
    return EventStreamResponse(
        shortcut.stream_single_call(call.runtime, single),
        headers={shortcut.JOB_ID_HEADER: single.job_id},
    )


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
            errors=(
                (
                    402,
                    "insufficient_credits: no credit available to reserve; the body says "
                    "credits_remaining, credits_reserved and credits_available",
                ),
            ),
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
            errors=((409, "conflict: the job is already settled the other way"),),
            idempotent=True,
            description="`completed` spends the job's credit if one of its calls succeeded and "
            "otherwise releases it (`costs.credit_reason` says why); `failed` releases it. "
            "Repeating the same status returns the same result; the other status is 409.",
        ),
        complete_job,
    ),
    api_route(
        Operation(
            "POST",
            "/api/jobs/create-and-call",
            summary="Create a job, make one LLM call in it and settle it",
            auth="team",
            tag="jobs",
            response=CreateAndCallResponse,
            body=CreateAndCallRequest,
            errors=_CALL_ERRORS,
            idempotent=True,
            keeps_own_response=True,  # kept with the job's settlement
            names_job=True,
            description=_SHORTCUT + "An upstream failure fails the job and answers the error "
            "llm-call answers.",
        ),
        create_and_call,
    ),
    api_route(
        Operation(
            "POST",
            "/api/jobs/create-and-call-stream",
            summary="Create a job, make one streamed LLM call in it and settle it (SSE)",
            auth="team",
            tag="jobs",
            response=None,
            body=CreateAndCallRequest,
            errors=_CALL_ERRORS,
            sse=True,
            idempotent=True,
            keeps_own_response=True,
            names_job=True,
            description=_SHORTCUT + "The events of llm-call-stream; the `done` event carries "
            "the settled job's `costs`. An `error` event, or the client leaving, fails the job.",
        ),
        create_and_call_stream,
    ),
]
