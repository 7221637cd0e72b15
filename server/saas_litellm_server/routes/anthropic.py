"""Anthropic's Messages API: ``POST /v1/messages``.

The anthropic SDK (and what is built on it) works with ``base_url=<server>`` (no ``/v1``: the
SDK adds it) and the team's virtual key as its ``api_key``, which it sends as ``x-api-key``
(``Authorization: Bearer`` works too; ``routes._http.bearer``). ``anthropic-version`` and
``anthropic-beta`` are accepted, whatever their value, and not required. The request becomes an
llm-call (``MessagesRequest.to_llm_call``) bound to a job as ``/v1/chat/completions`` binds one
(``_job_binding``): a Messages call is a call like any other — recorded, billed, rate-limited,
kept for its Idempotency-Key. ``_anthropic_wire`` writes the answers as Anthropic's objects and
events; errors take Anthropic's shape (``_responses``).
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.responses import Response

from saas_litellm_models import MessagesRequest, endpoints

from .._anthropic_wire import MessagesWire
from ..errors import InvalidRequest, ValidationFailed
from ._job_binding import JOB_ID, bound_call, single_job
from ._operation import APIRequest, api_route
from ._sse import EventStreamResponse

__all__ = ["routes"]

DEFAULT_JOB_TYPE = "chat"


async def messages(req: APIRequest[MessagesRequest, None]) -> Response | EventStreamResponse:
    body = req.body
    refused = body.unsupported()
    if refused is not None:
        raise InvalidRequest(refused[1], param=refused[0])
    try:
        request = body.to_llm_call()
    except ValidationError as exc:  # what the turns become is out of bounds (too many messages)
        reason = exc.errors(include_url=False, include_input=False)[0]["msg"]
        raise ValidationFailed(f"messages: {reason}", param="messages") from None
    params = body.forwarded()
    job = None
    if JOB_ID not in req.request.headers:
        job = single_job(req, DEFAULT_JOB_TYPE, user=body.user)
    wire = MessagesWire(model=body.model)
    return await bound_call(req, request, params, wire, stream=bool(body.stream), job=job)


routes = [api_route(endpoints.ANTHROPIC_MESSAGES, messages)]
