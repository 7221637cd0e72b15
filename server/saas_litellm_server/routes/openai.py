"""The OpenAI-compatible surface: ``POST /v1/chat/completions``, ``POST /v1/responses``,
``POST /v1/embeddings`` and ``GET /v1/models``.

The openai SDK (and everything built on it) works with ``base_url=<server>/v1`` and the team's
virtual key as its ``api_key``. Auth, parsing and Idempotency-Key come from each endpoint's
row of the endpoint table, as on the native API; errors take OpenAI's shape (``_responses``). A call
with ``X-Job-Id`` is made in that job, exactly as llm-call makes it (``services.calls``); one
without is a single-call job of its own (``services.shortcut``). ``_openai_wire`` writes the
answers as OpenAI's objects; ``_responses_api_wire`` as the Responses API's (a Responses request
is a chat call, bound, made, recorded and billed by the same path).
"""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import (
    ChatCompletionRequest,
    EmbeddingsResponse,
    OpenAIEmbeddingsRequest,
    OpenAIModelList,
    ResponseCreateRequest,
    endpoints,
)

from .._openai_wire import Wire
from .._responses_api_wire import ResponsesWire
from ..errors import APIError, InvalidRequest, UnsupportedParameter
from ..services import calls, catalog, shortcut
from ..services.idempotency import with_headers
from ._job_binding import JOB_ID, bound_call, json_named, single_job, valid_job_id
from ._operation import APIRequest, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]

DEFAULT_JOB_TYPE = "chat"
EMBEDDINGS_JOB_TYPE = "embeddings"


async def list_models(req: APIRequest[None, None]) -> OpenAIModelList:
    return await catalog.team_models(req.db, req.team.team_id)


async def chat_completions(
    req: APIRequest[ChatCompletionRequest, None],
) -> Response | EventStreamResponse:
    body = req.body
    refused = body.unsupported()
    if refused is not None:
        raise InvalidRequest(refused[1], param=refused[0])
    request, params = body.to_llm_call(), body.forwarded()
    wire = Wire(model=body.model, include_usage=body.include_usage)
    job = None
    if JOB_ID not in req.request.headers:
        job = single_job(req, DEFAULT_JOB_TYPE, metadata=body.metadata, user=body.user)
    return await bound_call(req, request, params, wire, stream=bool(body.stream), job=job)


async def responses(
    req: APIRequest[ResponseCreateRequest, None],
) -> Response | EventStreamResponse:
    """``POST /v1/responses``: the Responses API, stateless, as a chat call bound to a job as
    :func:`chat_completions` binds one."""
    body = req.body
    refused = body.unsupported()
    if refused is not None:
        param, why = refused
        if param == "previous_response_id":
            raise UnsupportedParameter(why, param=param)
        raise InvalidRequest(why, param=param)
    request, params = body.to_llm_call(), body.forwarded()
    job = None
    if JOB_ID not in req.request.headers:
        job = single_job(req, DEFAULT_JOB_TYPE, metadata=body.metadata, user=body.user)
    wire = ResponsesWire(request=body)
    return await bound_call(req, request, params, wire, stream=bool(body.stream), job=job)


async def embeddings(req: APIRequest[OpenAIEmbeddingsRequest, None]) -> Response:
    """``POST /v1/embeddings``: the job binding of :func:`chat_completions`, an embeddings
    call (``services.calls.run_embeddings``) in it; vectors as base64 when asked."""
    body = req.body
    refused = body.unsupported()
    if refused is not None:
        raise InvalidRequest(refused[1], param=refused[0])
    request, params = body.to_embeddings(), body.forwarded()

    def render(answer: EmbeddingsResponse) -> EmbeddingsResponse:
        return answer.as_base64() if body.encoding_format == "base64" else answer

    job_id = req.request.headers.get(JOB_ID)
    if job_id is None:
        job = single_job(req, EMBEDDINGS_JOB_TYPE, metadata=body.metadata, user=body.user)
        answer, job_id = await shortcut.create_and_embed(
            req.runtime,
            req.team,
            job,
            request,
            params=params,
            keep=lambda a: _embeddings_json(render(a)),
            claim=req.claim,
        )
        return json_named(render(answer), job_id)
    valid_job_id(job_id)
    named = {JOB_ID: job_id}
    try:
        answer = await calls.embeddings(
            req.runtime,
            req.team,
            job_id,
            request,
            params=params,
            keep=lambda a: with_headers(named, _embeddings_json(render(a))),
            claim=req.claim,
        )
    except APIError as exc:
        exc.headers.setdefault(JOB_ID, job_id)
        raise
    return json_named(render(answer), job_id)


def _embeddings_json(answer: EmbeddingsResponse) -> bytes:
    return answer.model_dump_json().encode()


routes = [
    api_route(endpoints.OPENAI_LIST_MODELS, list_models),
    api_route(endpoints.OPENAI_CHAT_COMPLETIONS, chat_completions),
    api_route(endpoints.OPENAI_RESPONSES, responses),
    api_route(endpoints.OPENAI_EMBEDDINGS, embeddings),
]
