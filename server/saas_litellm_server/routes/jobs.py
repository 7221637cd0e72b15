"""Team endpoints of the job lifecycle: create, inspect, call, complete.

Logic in ``services.jobs`` and ``services.calls``; auth, parsing and idempotency come from each
endpoint's row of the endpoint table.
"""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import (
    CreateAndCallRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCreateRequest,
    JobDetail,
    LLMCallDetail,
    LLMCallRequest,
    LLMCallResponse,
    endpoints,
)

from .._responses import json_response
from ..services import calls, jobs, shortcut
from ._operation import APIRequest, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]


async def create_job(req: APIRequest[JobCreateRequest, None]) -> Job:
    return await jobs.create_job(req.db, req.team, req.body, now=req.runtime.clock())


async def get_job(req: APIRequest[None, None]) -> JobDetail:
    return await jobs.get_job(req.db, req.team, req.path["job_id"])


async def get_call(req: APIRequest[None, None]) -> LLMCallDetail:
    team = req.principal.team
    return await jobs.get_call(
        req.db,
        req.path["job_id"],
        req.path["call_id"],
        team_id=None if team is None else team.team_id,
    )


async def llm_call(req: APIRequest[LLMCallRequest, None]) -> LLMCallResponse:
    return await calls.llm_call(
        req.runtime, req.team, req.path["job_id"], req.body, claim=req.claim
    )


async def llm_call_stream(req: APIRequest[LLMCallRequest, None]) -> calls.CallEvents:
    # Everything that can refuse the call does so here, as a JSON error, before any SSE byte.
    prepared = await calls.prepare_call(
        req.runtime, req.team, req.path["job_id"], req.body, claim=req.claim
    )
    return calls.stream_call(req.runtime, prepared)


async def embeddings(req: APIRequest[EmbeddingsRequest, None]) -> EmbeddingsResponse:
    return await calls.embeddings(
        req.runtime, req.team, req.path["job_id"], req.body, claim=req.claim
    )


async def complete_job(req: APIRequest[JobCompleteRequest, None]) -> JobCompletion:
    return await jobs.complete_job(req.db, req.team, req.path["job_id"], req.body)


def _parts(body: CreateAndCallRequest) -> tuple[JobCreateRequest, LLMCallRequest]:
    """The job and the call a create-and-call body describes (``metadata`` goes on both)."""
    job = JobCreateRequest(
        team_id=body.team_id, job_type=body.job_type, metadata=body.metadata, user_id=body.user_id
    )
    return job, LLMCallRequest(
        **{name: getattr(body, name) for name in LLMCallRequest.model_fields}
    )


async def create_and_call(req: APIRequest[CreateAndCallRequest, None]) -> Response:
    job, body = _parts(req.body)
    result = await shortcut.create_and_call(req.runtime, req.team, job, body, claim=req.claim)
    response = json_response(result)
    response.headers[shortcut.JOB_ID_HEADER] = result.job_id
    return response


async def create_and_call_stream(
    req: APIRequest[CreateAndCallRequest, None],
) -> EventStreamResponse:
    job, body = _parts(req.body)
    single = await shortcut.open_single_call(req.runtime, req.team, job, body, claim=req.claim)
    return EventStreamResponse(
        shortcut.stream_single_call(req.runtime, single),
        headers={shortcut.JOB_ID_HEADER: single.job_id},
    )


routes = [
    api_route(endpoints.CREATE_JOB, create_job),
    api_route(endpoints.GET_JOB, get_job),
    api_route(endpoints.GET_CALL, get_call),
    api_route(endpoints.LLM_CALL, llm_call),
    api_route(endpoints.LLM_CALL_STREAM, llm_call_stream),
    api_route(endpoints.EMBEDDINGS, embeddings),
    api_route(endpoints.COMPLETE_JOB, complete_job),
    api_route(endpoints.CREATE_AND_CALL, create_and_call),
    api_route(endpoints.CREATE_AND_CALL_STREAM, create_and_call_stream),
]
