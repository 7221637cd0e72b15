"""Team endpoints of the job lifecycle: create, inspect, call, complete.

Authorized by the team's virtual key (``_http.require_team``); logic in ``services.jobs`` and
``services.calls``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

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
from ._http import (
    job_id_param,
    json_response,
    parse_body,
    require_team,
    require_team_for_job,
    runtime,
)
from ._idempotency import idempotent, idempotent_stream
from ._operation import Operation, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]


async def create_job(request: Request) -> Response:
    team = await require_team(request)

    async def handle() -> Response:
        body = await parse_body(request, JobCreateRequest)
        return json_response(await jobs.create_job(runtime(request).db, team, body), 201)

    return await idempotent(request, team.team_id, handle)


async def get_job(request: Request) -> Response:
    team = await require_team(request)
    job_id = job_id_param(request)
    return json_response(await jobs.get_job(runtime(request).db, team, job_id))


async def llm_call(request: Request) -> Response:
    team = await require_team_for_job(request)
    job_id = job_id_param(request)

    async def handle() -> Response:
        body = await parse_body(request, LLMCallRequest)
        return json_response(await calls.llm_call(runtime(request), team, job_id, body))

    # The call keeps its response itself, with its record: no transaction around the upstream.
    return await idempotent(request, team.team_id, handle, transaction=False)


async def llm_call_stream(request: Request) -> Response | EventStreamResponse:
    team = await require_team_for_job(request)
    job_id = job_id_param(request)

    async def handle() -> EventStreamResponse:
        body = await parse_body(request, LLMCallRequest)
        rt = runtime(request)
        prepared = await calls.prepare_call(rt, team, job_id, body)  # refusals are JSON errors
        return EventStreamResponse(calls.stream_call(rt, prepared))

    return await idempotent_stream(request, team.team_id, handle)


async def complete_job(request: Request) -> Response:
    team = await require_team(request)
    job_id = job_id_param(request)

    async def handle() -> Response:
        body = await parse_body(request, JobCompleteRequest)
        return json_response(await jobs.complete_job(runtime(request).db, team, job_id, body))

    return await idempotent(request, team.team_id, handle)


_CALL_ERRORS = (400, 402, 403, 409, 429, 502, 504)

routes = [
    api_route(
        "/api/jobs/create",
        create_job,
        "POST",
        Operation(
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
    ),
    api_route(
        "/api/jobs/{job_id}",
        get_job,
        "GET",
        Operation(
            summary="Get a job with its calls and costs",
            auth="team",
            tag="jobs",
            response=JobDetail,
        ),
    ),
    api_route(
        "/api/jobs/{job_id}/llm-call",
        llm_call,
        "POST",
        Operation(
            summary="Make an LLM call within a job",
            auth="team",
            tag="jobs",
            response=LLMCallResponse,
            body=LLMCallRequest,
            errors=_CALL_ERRORS,
            idempotent=True,
        ),
    ),
    api_route(
        "/api/jobs/{job_id}/llm-call-stream",
        llm_call_stream,
        "POST",
        Operation(
            summary="Make a streamed LLM call within a job (Server-Sent Events)",
            auth="team",
            tag="jobs",
            response=None,
            body=LLMCallRequest,
            errors=_CALL_ERRORS,
            sse=True,
            idempotent=True,
            description="Each event has `event: <type>`, `id: <sequence>` and one `data:` line "
            "holding a StreamChunk, then one StreamDone, or one StreamErrorEvent instead of done.",
        ),
    ),
    api_route(
        "/api/jobs/{job_id}/complete",
        complete_job,
        "POST",
        Operation(
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
    ),
]
