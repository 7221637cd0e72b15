"""LLM calls of a job: route, call the upstream, record the call whatever happened.

Every call is recorded exactly once — succeeded, failed upstream, or (streaming) abandoned by
the client — with the deployment used, tokens, cost and latency. Streamed calls are recorded
before their final event is sent, and from a shielded ``finally`` when the client goes away, so
that a job is never left with an unaccounted call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import anyio

from saas_litellm_models import (
    LLMCallRequest,
    LLMCallResponse,
    StreamChunk,
    StreamDone,
    StreamErrorDetail,
    StreamErrorEvent,
    ToolCall,
    Usage,
)

from .._runtime import Runtime, TeamContext
from ..providers import Provider, ProviderError, ProviderResult
from ..providers._tokens import count_message_tokens, count_text_tokens
from ..store import calls, jobs
from . import rate_limits, routing
from .jobs import get_open_job

__all__ = ["PreparedCall", "llm_call", "prepare_call", "stream_call"]

StreamEvent = StreamChunk | StreamDone | StreamErrorEvent


@dataclass(frozen=True)
class PreparedCall:
    """A call that passed every check: its job is open and its model allowed."""

    team: TeamContext
    job_id: str
    route: routing.Route
    body: LLMCallRequest
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    window_id: int | None = None
    """The rate-limit window the call was counted in (``None``: the team has no limits)."""


async def prepare_call(
    runtime: Runtime, team: TeamContext, job_id: str, body: LLMCallRequest
) -> PreparedCall:
    """Everything that can refuse a call, done before any upstream work (or any SSE byte)."""
    job = await get_open_job(runtime.db, team, job_id)
    route = await routing.resolve(runtime, team, body.model)
    routing.ensure_triable(runtime, route)
    window_id = await rate_limits.admit(runtime, team)
    if job["status"] == "pending":
        await jobs.mark_in_progress(runtime.db, job_id)
    return PreparedCall(
        team=team,
        job_id=job_id,
        route=route,
        body=body,
        messages=[m.model_dump(exclude_none=True) for m in body.messages],
        params=body.upstream_params(),
        window_id=window_id,
    )


async def _record(
    runtime: Runtime,
    call: PreparedCall,
    *,
    call_id: str,
    deployment: routing.Deployment,
    latency_ms: float,
    streamed: bool,
    usage: Usage | None = None,
    finish_reason: str | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
) -> None:
    usage = usage or Usage()
    await calls.insert_call(
        runtime.db,
        call_id=call_id,
        job_id=call.job_id,
        team_id=call.team.team_id,
        model_alias=call.route.alias,
        deployment=deployment.model,
        provider=deployment.provider,
        status="failed" if error_type else "success",
        streamed=streamed,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=routing.cost_usd(deployment, usage.prompt_tokens, usage.completion_tokens),
        latency_ms=round(latency_ms, 3),
        finish_reason=finish_reason,
        purpose=call.body.purpose,
        error_type=error_type,
        error_message=error_message,
        metadata=call.body.metadata,
    )
    await rate_limits.record_tokens(runtime, call.team, call.window_id, usage.total_tokens)


async def llm_call(
    runtime: Runtime, team: TeamContext, job_id: str, body: LLMCallRequest
) -> LLMCallResponse:
    call = await prepare_call(runtime, team, job_id, body)

    async def attempt(provider: Provider, deployment: routing.Deployment) -> ProviderResult:
        request = routing.provider_request(runtime, deployment, call.messages, call.params)
        return await provider.complete(request)

    outcome, used = await routing.call_with_fallback(
        runtime, call.route, attempt, team_id=team.team_id
    )
    call_id = str(uuid.uuid4())
    if isinstance(outcome, ProviderError):
        error = routing.upstream_error(call.route.alias, outcome, used.attempts)
        await _record(
            runtime,
            call,
            call_id=call_id,
            deployment=used.deployment,
            latency_ms=used.latency_ms,
            streamed=False,
            error_type=error.error_type,
            error_message=error.message,
        )
        raise error
    await _record(
        runtime,
        call,
        call_id=call_id,
        deployment=used.deployment,
        latency_ms=used.latency_ms,
        streamed=False,
        usage=outcome.usage,
        finish_reason=outcome.message.finish_reason,
    )
    return LLMCallResponse(
        call_id=call_id,
        job_id=job_id,
        model=call.route.alias,
        response=outcome.message,
        usage=outcome.usage,
        latency_ms=round(used.latency_ms, 3),
    )


def _estimated_usage(call: PreparedCall, text: str) -> Usage:
    prompt, completion = count_message_tokens(call.messages), count_text_tokens(text)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _next(order: list[routing.Deployment], index: int) -> routing.Deployment | None:
    return order[index + 1] if index + 1 < len(order) else None


async def stream_call(runtime: Runtime, call: PreparedCall) -> AsyncGenerator[StreamEvent, None]:
    """Stream a prepared call as SSE events: chunks as they arrive, then ``done`` or ``error``.

    Falls back to the next deployment only while nothing has been sent. If the consumer stops
    early (client disconnect), the upstream iteration is closed, which cancels its request, and
    the call is recorded as failed with the tokens streamed so far.
    """
    call_id = str(uuid.uuid4())
    start = time.perf_counter()
    order = routing.plan(runtime, call.route)
    deployment = order[0]
    pieces: list[str] = []
    recorded = False
    attempts = 0
    try:
        last_error: ProviderError | None = None
        for index, deployment in enumerate(order):
            attempts += 1
            try:
                provider = routing.provider_for(runtime, deployment)
            except ProviderError as exc:
                last_error = exc
                routing.log_failure(
                    call.team.team_id, call.route.alias, deployment, exc, _next(order, index)
                )
                continue
            request = routing.provider_request(runtime, deployment, call.messages, call.params)
            finish: str | None = None
            usage: Usage | None = None
            tool_calls: list[ToolCall] | None = None
            upstream = provider.stream(request)
            try:
                async for delta in upstream:
                    if delta.content:
                        pieces.append(delta.content)
                        yield StreamChunk(content=delta.content)
                    if delta.finish_reason is not None:
                        finish = delta.finish_reason
                    if delta.usage is not None:
                        usage = delta.usage
                    if delta.tool_calls:
                        tool_calls = delta.tool_calls
            except ProviderError as exc:
                routing.report(runtime, deployment, exc)
                last_error = exc
                fallback = _next(order, index) if not pieces and exc.retryable else None
                routing.log_failure(call.team.team_id, call.route.alias, deployment, exc, fallback)
                if fallback is not None:
                    continue  # nothing sent yet: the next deployment may answer
                break
            finally:
                with anyio.CancelScope(shield=True):
                    await upstream.aclose()  # closing it cancels the upstream request
            routing.report(runtime, deployment, None)
            latency = (time.perf_counter() - start) * 1000
            usage = usage or _estimated_usage(call, "".join(pieces))
            recorded = True
            with anyio.CancelScope(shield=True):
                await _record(
                    runtime,
                    call,
                    call_id=call_id,
                    deployment=deployment,
                    latency_ms=latency,
                    streamed=True,
                    usage=usage,
                    finish_reason=finish,
                )
            yield StreamDone(
                call_id=call_id,
                job_id=call.job_id,
                model=call.route.alias,
                finish_reason=finish,
                usage=usage,
                latency_ms=round(latency, 3),
                tool_calls=tool_calls,
            )
            return
        assert last_error is not None
        error = routing.upstream_error(call.route.alias, last_error, attempts)
        recorded = True
        with anyio.CancelScope(shield=True):
            await _record(
                runtime,
                call,
                call_id=call_id,
                deployment=deployment,
                latency_ms=(time.perf_counter() - start) * 1000,
                streamed=True,
                usage=_estimated_usage(call, "".join(pieces)) if pieces else None,
                error_type=error.error_type,
                error_message=error.message,
            )
        yield StreamErrorEvent(
            error=StreamErrorDetail(type=error.error_type, message=error.message)
        )
    finally:
        if not recorded:  # the client went away (or the server is stopping) mid-stream
            with anyio.CancelScope(shield=True):
                await _record(
                    runtime,
                    call,
                    call_id=call_id,
                    deployment=deployment,
                    latency_ms=(time.perf_counter() - start) * 1000,
                    streamed=True,
                    usage=_estimated_usage(call, "".join(pieces)),
                    error_type="client_disconnected",
                    error_message=f"the client disconnected after {len(pieces)} chunks",
                )
