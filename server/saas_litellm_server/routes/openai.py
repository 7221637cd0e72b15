"""The OpenAI-compatible surface: ``POST /v1/chat/completions``, ``POST /v1/responses``,
``POST /v1/embeddings`` and ``GET /v1/models``.

The openai SDK (and everything built on it) works with ``base_url=<server>/v1`` and the team's
virtual key as its ``api_key``. Auth, parsing and Idempotency-Key come from each endpoint's
row of the endpoint table, as on the native API; errors take OpenAI's shape (``_responses``). A call
with ``X-Job-Id`` is made in that job, exactly as llm-call makes it (``services.calls``); one
without is a single-call job of its own (``services.shortcut``). ``_openai_wire`` writes the
answers as OpenAI's objects; ``_responses_api_wire`` as the Responses API's (a Responses request
is a chat call, made, recorded and billed by the same path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from saas_litellm_models import (
    JOB_ID_PATTERN,
    ChatCompletionRequest,
    EmbeddingsResponse,
    JobCreateRequest,
    LLMCallRequest,
    LLMCallResponse,
    OpenAIEmbeddingsRequest,
    OpenAIModelList,
    ResponseCreateRequest,
    endpoints,
)

from .._openai_wire import Wire
from .._responses import json_response
from .._responses_api_wire import ResponsesWire
from ..errors import APIError, InvalidRequest, NotFound, UnsupportedParameter, ValidationFailed
from ..services import calls, catalog, shortcut
from ..services.idempotency import with_headers
from ._operation import APIRequest, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]

JOB_ID = shortcut.JOB_ID_HEADER
JOB_TYPE = "X-Job-Type"
DEFAULT_JOB_TYPE = "chat"
EMBEDDINGS_JOB_TYPE = "embeddings"
_UUID = re.compile(JOB_ID_PATTERN)


async def list_models(req: APIRequest[None, None]) -> OpenAIModelList:
    return await catalog.team_models(req.db, req.team.team_id)


class _JobFields(Protocol):
    @property
    def metadata(self) -> dict[str, Any] | None: ...
    @property
    def user(self) -> str | None: ...


def _single_job(
    req: APIRequest[Any, None], default_type: str = DEFAULT_JOB_TYPE
) -> JobCreateRequest:
    """The single-call job of a request without ``X-Job-Id``: ``X-Job-Type`` (default
    ``default_type``); the request's ``metadata`` and ``user`` as the job's."""
    job_type = req.request.headers.get(JOB_TYPE, default_type)
    body: _JobFields = req.body
    try:
        return JobCreateRequest(
            team_id=req.team.team_id,
            job_type=job_type,
            metadata=body.metadata,
            user_id=body.user,
        )
    except ValidationError as exc:
        reason = exc.errors(include_url=False, include_input=False)[0]["msg"]
        raise ValidationFailed(f"{JOB_TYPE}: {reason}", param=JOB_TYPE) from None


class _Answers(Protocol):
    """How one request's answer is written: a chat completion (``_openai_wire.Wire``) or a
    Responses API ``response`` (``_responses_api_wire.ResponsesWire``)."""

    def completion(self, response: LLMCallResponse) -> BaseModel: ...
    def render(self, response: LLMCallResponse) -> bytes: ...
    def render_stream(self, events: Sequence[calls.StreamEvent]) -> bytes: ...
    def stream_encode(self) -> Callable[[BaseModel, int], bytes]: ...


async def chat_completions(
    req: APIRequest[ChatCompletionRequest, None],
) -> Response | EventStreamResponse:
    body = req.body
    refused = body.unsupported()
    if refused is not None:
        raise InvalidRequest(refused[1], param=refused[0])
    wire = Wire(model=body.model, include_usage=body.include_usage)
    return await _call(req, body.to_llm_call(), body.forwarded(), wire, stream=bool(body.stream))


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
    wire = ResponsesWire(request=body)
    return await _call(req, body.to_llm_call(), body.forwarded(), wire, stream=bool(body.stream))


async def _call(
    req: APIRequest[Any, None],
    request: LLMCallRequest,
    params: dict[str, Any],
    wire: _Answers,
    *,
    stream: bool,
) -> Response | EventStreamResponse:
    job_id = req.request.headers.get(JOB_ID)
    if job_id is None:
        return await _in_single_call_job(req, request, params, wire, stream=stream)
    if not _UUID.match(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found", param=JOB_ID)
    try:
        return await _in_job(req, job_id, request, params, wire, stream=stream)
    except APIError as exc:
        exc.headers.setdefault(JOB_ID, job_id)  # an error in the job names it too
        raise


async def _in_job(
    req: APIRequest[Any, None],
    job_id: str,
    request: LLMCallRequest,
    params: dict[str, Any],
    wire: _Answers,
    *,
    stream: bool,
) -> Response | EventStreamResponse:
    """The call, recorded in the open job ``job_id`` (as llm-call records it)."""
    rt, team = req.runtime, req.team
    named = {JOB_ID: job_id}  # kept with the response: a replay names the job too
    if stream:
        prepared = await calls.prepare_call(
            rt, team, job_id, request, params=params, claim=req.claim
        )
        events = calls.stream_call(
            rt, prepared, keep=lambda sent: with_headers(named, wire.render_stream(sent))
        )
        return EventStreamResponse(events, encode=wire.stream_encode(), headers=named)
    answer = await calls.llm_call(
        rt,
        team,
        job_id,
        request,
        params=params,
        keep=lambda done: with_headers(named, wire.render(done)),
        claim=req.claim,
    )
    return _json(wire.completion(answer), job_id)


async def _in_single_call_job(
    req: APIRequest[Any, None],
    request: LLMCallRequest,
    params: dict[str, Any],
    wire: _Answers,
    *,
    stream: bool,
) -> Response | EventStreamResponse:
    """The call, in a job of its own: settled when it ends (``services.shortcut``)."""
    rt, team = req.runtime, req.team
    job = _single_job(req)
    if stream:
        single = await shortcut.open_single_call(
            rt, team, job, request, params=params, claim=req.claim
        )
        events = shortcut.stream_single_call(rt, single, keep=wire.render_stream)
        return EventStreamResponse(
            events, encode=wire.stream_encode(), headers={JOB_ID: single.job_id}
        )
    settled = await shortcut.create_and_call(
        rt, team, job, request, params=params, keep=wire.render, claim=req.claim
    )
    return _json(wire.completion(settled), settled.job_id)


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
        job = _single_job(req, EMBEDDINGS_JOB_TYPE)
        answer, job_id = await shortcut.create_and_embed(
            req.runtime,
            req.team,
            job,
            request,
            params=params,
            keep=lambda a: _embeddings_json(render(a)),
            claim=req.claim,
        )
        return _json(render(answer), job_id)
    if not _UUID.match(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found", param=JOB_ID)
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
    return _json(render(answer), job_id)


def _embeddings_json(answer: EmbeddingsResponse) -> bytes:
    return answer.model_dump_json().encode()


def _json(answer: BaseModel, job_id: str) -> Response:
    response = json_response(answer)
    response.headers[JOB_ID] = job_id
    return response


routes = [
    api_route(endpoints.OPENAI_LIST_MODELS, list_models),
    api_route(endpoints.OPENAI_CHAT_COMPLETIONS, chat_completions),
    api_route(endpoints.OPENAI_EMBEDDINGS, embeddings),
    api_route(endpoints.OPENAI_RESPONSES, responses),
]
