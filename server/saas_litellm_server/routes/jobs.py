"""Team endpoints of the job lifecycle: create, inspect, call, complete.

Authorized by the team's virtual key (``_http.require_team``); logic in ``services.jobs`` and
``services.calls``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from saas_litellm_models import JobCompleteRequest, JobCreateRequest, LLMCallRequest

from ..services import calls, jobs
from ._http import job_id_param, json_response, parse_body, require_team, runtime
from ._idempotency import idempotent
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
    team = await require_team(request)
    job_id = job_id_param(request)

    async def handle() -> Response:
        body = await parse_body(request, LLMCallRequest)
        return json_response(await calls.llm_call(runtime(request), team, job_id, body))

    return await idempotent(request, team.team_id, handle)


async def llm_call_stream(request: Request) -> EventStreamResponse:
    team = await require_team(request)
    job_id = job_id_param(request)
    body = await parse_body(request, LLMCallRequest)
    rt = runtime(request)
    prepared = await calls.prepare_call(rt, team, job_id, body)  # refusals are JSON errors
    return EventStreamResponse(calls.stream_call(rt, prepared))


async def complete_job(request: Request) -> Response:
    team = await require_team(request)
    job_id = job_id_param(request)

    async def handle() -> Response:
        body = await parse_body(request, JobCompleteRequest)
        return json_response(await jobs.complete_job(runtime(request).db, team, job_id, body))

    return await idempotent(request, team.team_id, handle)


routes = [
    Route("/api/jobs/create", create_job, methods=["POST"]),
    Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/api/jobs/{job_id}/llm-call", llm_call, methods=["POST"]),
    Route("/api/jobs/{job_id}/llm-call-stream", llm_call_stream, methods=["POST"]),
    Route("/api/jobs/{job_id}/complete", complete_job, methods=["POST"]),
]
