"""How a call on the ``/v1`` surfaces (OpenAI's chat completions and responses, Anthropic's
messages) binds to a job: with ``X-Job-Id`` it is made in that open job, exactly as llm-call
makes it (``services.calls``); without, it is a single-call job of its own (``services.shortcut``),
whose ``job_type`` is ``X-Job-Type``. Every answer names its job in ``X-Job-Id``. What differs
between the surfaces is only how the answer is written: a :class:`CallWire`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from saas_litellm_models import (
    JOB_ID_PATTERN,
    JobCreateRequest,
    LLMCallRequest,
    LLMCallResponse,
)

from .._responses import json_response
from ..errors import APIError, NotFound, ValidationFailed
from ..services import calls, shortcut
from ..services.idempotency import with_headers
from ._operation import APIRequest
from ._sse import EventStreamResponse

__all__ = ["JOB_ID", "JOB_TYPE", "CallWire", "bound_call", "single_job", "valid_job_id"]

JOB_ID = shortcut.JOB_ID_HEADER
JOB_TYPE = "X-Job-Type"
_UUID = re.compile(JOB_ID_PATTERN)


class CallWire(Protocol):
    """How one request's answer is written on its surface (``_openai_wire``,
    ``_responses_api_wire``, ``_anthropic_wire``)."""

    def answer(self, response: LLMCallResponse) -> BaseModel: ...
    def render(self, response: LLMCallResponse) -> bytes: ...
    def encode(self, event: BaseModel, sequence: int) -> bytes: ...
    def render_stream(self, events: Sequence[calls.StreamEvent]) -> bytes: ...


def single_job(
    req: APIRequest[Any, None],
    default_type: str,
    *,
    metadata: dict[str, Any] | None = None,
    user: str | None = None,
) -> JobCreateRequest:
    """The single-call job of a request without ``X-Job-Id``: ``X-Job-Type`` (default
    ``default_type``); ``metadata`` and ``user`` as the job's."""
    job_type = req.request.headers.get(JOB_TYPE, default_type)
    try:
        return JobCreateRequest(
            team_id=req.team.team_id, job_type=job_type, metadata=metadata, user_id=user
        )
    except ValidationError as exc:
        reason = exc.errors(include_url=False, include_input=False)[0]["msg"]
        raise ValidationFailed(f"{JOB_TYPE}: {reason}", param=JOB_TYPE) from None


def valid_job_id(job_id: str) -> str:
    """``job_id`` as sent in ``X-Job-Id``; one that cannot name a job is a 404."""
    if not _UUID.match(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found", param=JOB_ID)
    return job_id


async def bound_call(
    req: APIRequest[Any, None],
    request: LLMCallRequest,
    params: dict[str, Any],
    wire: CallWire,
    *,
    stream: bool,
    job: JobCreateRequest | None = None,
) -> Response | EventStreamResponse:
    """The call, in the job ``X-Job-Id`` names or else in the single-call job ``job``."""
    job_id = req.request.headers.get(JOB_ID)
    if job_id is None:
        assert job is not None, "a call without X-Job-Id needs its single-call job"
        return await _in_single_call_job(req, job, request, params, wire, stream=stream)
    valid_job_id(job_id)
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
    wire: CallWire,
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
        return EventStreamResponse(events, encode=wire.encode, headers=named)
    answer = await calls.llm_call(
        rt,
        team,
        job_id,
        request,
        params=params,
        keep=lambda done: with_headers(named, wire.render(done)),
        claim=req.claim,
    )
    return json_named(wire.answer(answer), job_id)


async def _in_single_call_job(
    req: APIRequest[Any, None],
    job: JobCreateRequest,
    request: LLMCallRequest,
    params: dict[str, Any],
    wire: CallWire,
    *,
    stream: bool,
) -> Response | EventStreamResponse:
    """The call, in a job of its own: settled when it ends (``services.shortcut``)."""
    rt, team = req.runtime, req.team
    if stream:
        single = await shortcut.open_single_call(
            rt, team, job, request, params=params, claim=req.claim
        )
        events = shortcut.stream_single_call(rt, single, keep=wire.render_stream)
        return EventStreamResponse(events, encode=wire.encode, headers={JOB_ID: single.job_id})
    settled = await shortcut.create_and_call(
        rt, team, job, request, params=params, keep=wire.render, claim=req.claim
    )
    return json_named(wire.answer(settled), settled.job_id)


def json_named(answer: BaseModel, job_id: str) -> Response:
    """``answer`` as JSON, naming its job."""
    response = json_response(answer)
    response.headers[JOB_ID] = job_id
    return response
