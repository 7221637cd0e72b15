"""LLM calls of a job: route, call the upstream, record the call whatever happened.

A call is a chat call (``LLMCallRequest``: :func:`run_call`, :func:`stream_call`) or an
embeddings call (``EmbeddingsRequest``: :func:`run_embeddings`, to an alias in ``embedding``
mode); both are prepared, billed and recorded the same way.

A call is counted in flight on its job before it goes upstream (with its worst case, which the
job's credits must cover: ``services.billing``) and recorded exactly once when it ends —
succeeded, failed upstream, or (streaming) cut by the client — with the deployment used,
tokens, cost and latency, in the statement that takes it off the job's calls in flight. A
stream the client cut after content reached it is ``cancelled``: a used call, billed for its
tokens (counted by their upper bound when the upstream could not report them). Streamed calls
are recorded before their final event is sent, and from a shielded ``finally`` when the client
goes away, so that a job is never left with an unaccounted call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from saas_litellm_models import (
    Embedding,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbeddingsUsage,
    LLMCallRequest,
    LLMCallResponse,
    StreamChunk,
    StreamDone,
    StreamErrorDetail,
    StreamErrorEvent,
    ToolCall,
    Usage,
)

from .. import _metrics
from .._money import pico_to_micros
from .._runtime import Runtime, TeamContext
from .._sse_text import encode_event
from .._timing import add_upstream, tracer
from ..providers import (
    EmbeddingResult,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResult,
    bound_usage,
)
from ..store import DatabaseUnavailable, calls_sql
from . import billing, idempotency, rate_limits, routing
from .jobs import get_open_job

logger = logging.getLogger("saas_litellm_server")

__all__ = [
    "CONTENT_LIMIT",
    "Admission",
    "CallEvents",
    "KeepEmbeddings",
    "KeepResponse",
    "KeepStream",
    "PreparedCall",
    "StreamEvent",
    "abandon",
    "admit",
    "embeddings",
    "llm_call",
    "prepare_call",
    "run_call",
    "run_embeddings",
    "stream_call",
]

StreamEvent = StreamChunk | StreamDone | StreamErrorEvent

CONTENT_LIMIT = 65_536
"""The most characters kept of a call's request, and of its response, for a team with
``store_content`` (each cut there, marked by :data:`_CUT`)."""
_CUT = "\n[… cut: the rest is not kept]"


def _bounded(text: str) -> str:
    return text if len(text) <= CONTENT_LIMIT else text[:CONTENT_LIMIT] + _CUT


KeepResponse = Callable[[LLMCallResponse], bytes]
"""What a call's Idempotency-Key keeps of its response (the body a replay sends)."""
KeepEmbeddings = Callable[[EmbeddingsResponse], bytes]
"""What an embeddings call's Idempotency-Key keeps of its response."""
KeepStream = Callable[[Sequence[StreamEvent]], bytes]
"""What a streamed call's Idempotency-Key keeps of its events (the stream a replay sends)."""


CallBody = LLMCallRequest | EmbeddingsRequest
"""What a call asks for: a chat answer or embeddings."""


def as_json(response: LLMCallResponse | EmbeddingsResponse) -> bytes:
    return response.model_dump_json().encode()


def as_sse(events: Sequence[StreamEvent]) -> bytes:
    return b"".join(encode_event(e, i) for i, e in enumerate(events, start=1))


@dataclass(frozen=True)
class Admission:
    """A call the team may make now: its route, and the rate-limit window it was counted in
    (``None``: the team has no limits)."""

    route: routing.ResolvedAlias
    window_id: int | None


@dataclass(frozen=True)
class PreparedCall:
    """A call that passed every check: its job is open and its model allowed."""

    team: TeamContext
    job_id: str
    route: routing.ResolvedAlias
    body: CallBody
    messages: list[dict[str, Any]]
    """A chat call's messages (OpenAI's wire format); empty for an embeddings call."""
    params: dict[str, Any]
    window_id: int | None = None
    """The rate-limit window the call was counted in (``None``: the team has no limits)."""
    budget: billing.Budget = billing.JOB_BASED
    """The job's billing settings and limits."""
    worst: billing.WorstCase = billing.NOTHING
    """The worst case the call counts in flight on its job (nothing for a job_based job
    without limits)."""
    claim: idempotency.Claim | None = None
    """The request's hold on its Idempotency-Key (``None``: it sent none): the response is
    kept under it, with the call's record."""
    texts: list[str] | None = None
    """An embeddings call's texts (``None``: a chat call)."""
    counted: bool = True
    """Whether the call is counted in flight on its job. A call of a job_based job without
    limits that has had a billable call already is not: whatever it does, the job costs one
    credit if completed and nothing if failed, so its end cannot change the charge (and the
    hot path of multi-call jobs keeps to two statements)."""


async def admit(runtime: Runtime, team: TeamContext, body: CallBody) -> Admission:
    """The checks of a call that need no job: the model (allowed, of the call's mode,
    triable), the rate limit."""
    mode = "embedding" if isinstance(body, EmbeddingsRequest) else "chat"
    route = await routing.resolve(runtime, team, body.model, mode)
    routing.ensure_triable(runtime, route)
    return Admission(route, await rate_limits.admit(runtime, team))


async def prepare_call(
    runtime: Runtime,
    team: TeamContext,
    job_id: str,
    body: CallBody,
    *,
    params: dict[str, Any] | None = None,
    admitted: Admission | None = None,
    claim: idempotency.Claim | None = None,
) -> PreparedCall:
    """Everything that can refuse a call, done before any upstream work (or any SSE byte); the
    last step counts the call in flight on its job with its worst case (which the job's credits
    must cover, in the consumption modes and with limits). ``params`` are further upstream
    parameters (the OpenAI surface's ``seed``, ``user``…); ``admitted``, a call already
    :func:`admit`-ted (the single-call shortcut checks it before it opens the job); ``claim``,
    the request's Idempotency-Key, under which the response is kept. The caller
    must run the call (:func:`run_call`, :func:`stream_call`) or :func:`abandon` it."""
    job = await get_open_job(runtime.db, team, job_id)
    if admitted is None:
        admitted = await admit(runtime, team, body)
    texts: list[str] | None = None
    messages: list[dict[str, Any]] = []
    if isinstance(body, EmbeddingsRequest):
        texts = body.texts
    else:
        messages = [m.model_dump(exclude_none=True) for m in body.messages]
    upstream = {**body.upstream_params(), **(params or {})}
    budget = billing.Budget.of(job)
    worst = billing.worst_case(runtime, budget, admitted.route, messages, upstream, texts=texts)
    # One output limit goes upstream, under one name: the bound the reservation assumes
    limit = worst.completion_tokens or billing.output_limit(upstream)
    if limit is not None:
        billing.set_output_limit(upstream, limit)
    counted = budget.checked or job["used_calls"] == 0
    if counted:
        until = _first_deadline(runtime, admitted.route)
        await billing.begin_call(runtime.db, team.team_id, job_id, budget, worst, until)
    return PreparedCall(
        team=team,
        job_id=job_id,
        route=admitted.route,
        body=body,
        messages=messages,
        params=upstream,
        window_id=admitted.window_id,
        budget=budget,
        worst=worst,
        claim=claim,
        texts=texts,
        counted=counted,
    )


_GRACE = dt.timedelta(seconds=10)
"""Beyond a call's slowest possible course, before the sweep counts it dead."""


def _first_deadline(runtime: Runtime, route: routing.ResolvedAlias) -> dt.datetime:
    """Until when a call that just began is alive without any news: every deployment of its
    route tried, each silent for its whole timeout, twice over (a stream's checkpoints move it
    on as it goes)."""
    timeouts = sum(d.timeout or runtime.settings.upstream_timeout for d in route.deployments)
    return dt.datetime.now(dt.timezone.utc) + 2 * dt.timedelta(seconds=timeouts) + _GRACE


async def abandon(runtime: Runtime, call: PreparedCall) -> None:
    """A prepared call that will never run (its stream was never started): take it off its
    job's calls in flight, recording nothing."""
    if not call.counted:
        return
    job = await calls_sql.drop_call(
        runtime.db,
        call.job_id,
        reserved_tokens=call.worst.tokens,
        reserved_cost_micros=call.worst.cost_micros,
    )
    if job is not None:
        await billing.after_call(runtime.db, call.team.team_id, call.job_id, call.budget, job)


class CallEvents:
    """A call's events, for an SSE response: an async generator that, when it is closed before
    it ever started (the client left before the response began), still ends its call."""

    def __init__(
        self, events: AsyncGenerator[Any, None], unstarted: Callable[[], Awaitable[None]]
    ) -> None:
        self._events = events
        self._unstarted: Callable[[], Awaitable[None]] | None = unstarted

    def __aiter__(self) -> CallEvents:
        return self

    async def __anext__(self) -> Any:
        self._unstarted = None
        return await self._events.__anext__()

    async def aclose(self) -> None:
        unstarted, self._unstarted = self._unstarted, None
        if unstarted is not None:
            with anyio.CancelScope(shield=True):
                await unstarted()
        await self._events.aclose()


_RESOLVE_SECONDS = 300.0
"""How long a lost call record is retried (after that, the sweep's deadline applies)."""
_resolving: set[asyncio.Task[None]] = set()
"""The resolvers running (held, so that they are not garbage-collected)."""


class _Recorder:
    """The one record of one call, written exactly once: by :meth:`finish` when the call ends,
    or on leaving the ``async with`` block without it (the client went away, the server is
    stopping) as failed with what was streamed so far. While a stream runs, its progress is
    saved at checkpoints (status ``streaming``), so that a crash loses at most one interval."""

    def __init__(self, runtime: Runtime, call: PreparedCall, *, streamed: bool) -> None:
        self.runtime, self.call, self.streamed = runtime, call, streamed
        self.call_id = str(uuid.uuid4())
        self.created_at = dt.datetime.now(dt.timezone.utc)
        """When it started: its record's ``created_at`` in every write (part of its key)."""
        self.fallback = routing.Fallback(runtime, call.route, call.team.team_id)
        self.pieces: list[str] = []
        """What was streamed so far."""
        self.answer: str | None = None
        """A plain call's response text (a stream's is its pieces), kept if its team asks."""
        self.done = False
        self.lost = False
        """Its record could not be written (the database was away): a resolver will."""
        self._next_checkpoint = 0.0
        self._checkpointed = False
        """A checkpoint wrote its row: its end updates that row, never inserts one."""
        self.metrics = _metrics.current()

    async def __aenter__(self) -> _Recorder:
        if self.streamed and self.metrics is not None:
            self.metrics.open_streams.inc()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.streamed and self.metrics is not None:
            self.metrics.open_streams.dec()
        if self.done or self.lost:
            return
        status = "failed"
        if self.streamed:
            reason = "client_disconnected"
            message = f"the client disconnected after {len(self.pieces)} chunks"
            if self.pieces:  # content reached the client: a used call
                status = "cancelled"
            usage: Usage | None = self.usage_so_far()
        else:
            reason, message = "cancelled", "the request ended before the upstream answered"
            usage = None
        with anyio.CancelScope(shield=True):
            await self.finish(usage, error_type=reason, error_message=message, status=status)

    def _resolve_later(self) -> None:
        """The call's record was lost with the database (its request answers 503, outcome
        unknown): once the database is back, record it as what its client got — ``cancelled``
        with what was streamed (billed), or ``failed`` with nothing (no answer was given) — so
        that its job does not count it in flight until the sweep's deadline. A no-op if the
        lost write committed after all (a call's end is recorded once:
        ``calls_sql.finish_call``)."""
        if self.lost:
            return
        self.lost = True
        cut = self.streamed and bool(self.pieces)
        usage = self.usage_so_far() if cut else None

        async def resolve() -> None:
            deadline = time.monotonic() + _RESOLVE_SECONDS
            while True:
                try:
                    await self.finish(
                        usage,
                        status="cancelled" if cut else "failed",
                        error_type="database_unavailable",
                        error_message="the database was unavailable when the call ended",
                    )
                    return
                except DatabaseUnavailable:
                    if time.monotonic() > deadline:
                        logger.warning("call %s: its end could not be recorded", self.call_id)
                        return  # the sweep drops it from its job's calls in flight
                    await anyio.sleep(0.5)

        task = asyncio.ensure_future(resolve())
        _resolving.add(task)
        task.add_done_callback(_resolving.discard)

    def usage_so_far(self) -> Usage:
        """What the call used up to now, as far as the server can tell: the upper bound of its
        prompt and of what was streamed (the upstream reports usage only at the end)."""
        return bound_usage(self.call.messages, self.call.params, "".join(self.pieces))

    def _row(
        self,
        usage: Usage,
        *,
        status: str,
        finish_reason: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        alive_until: dt.datetime | None = None,
    ) -> calls_sql.CallRecord:
        call, deployment = self.call, self.fallback.deployment
        request_content, response_content = self._content()
        pico = routing.cost_pico(deployment, usage.prompt_tokens, usage.completion_tokens)
        return {
            "call_id": self.call_id,
            "created_at": self.created_at,
            "job_id": call.job_id,
            "team_id": call.team.team_id,
            "model_alias": call.route.alias,
            "deployment": deployment.model,
            "provider": deployment.provider,
            "status": status,
            "streamed": self.streamed,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "provider_cost_micros": pico_to_micros(pico),
            "client_cost_micros": call.budget.client_micros(pico),
            "latency_ms": round(self.fallback.latency_ms, 3),
            "finish_reason": finish_reason,
            "purpose": call.body.purpose,
            "error_type": error_type,
            "error_message": error_message,
            "metadata": call.body.metadata,
            "alive_until": alive_until,
            "attempts": list(self.fallback.tried),
            "request_content": request_content,
            "response_content": response_content,
            "key_id": call.team.key_id,
        }

    def _content(self) -> tuple[str | None, str | None]:
        """The call's content, for a team that keeps it (nothing at all otherwise): the
        request's messages (an embeddings call's texts) as JSON, and the text of the response
        so far (a stream's: what reached its client)."""
        call = self.call
        if not call.team.store_content:
            return None, None
        asked = call.texts if call.texts is not None else call.messages
        answer = self.answer if self.answer is not None else "".join(self.pieces) or None
        request = _bounded(json.dumps(asked, ensure_ascii=False, default=str))
        return request, None if answer is None else _bounded(answer)

    async def checkpoint(self) -> None:
        """Save a streaming call's progress, at most every ``stream_checkpoint_seconds``, and
        keep it alive on its job."""
        now = time.monotonic()
        if now < self._next_checkpoint:
            return
        settings = self.runtime.settings
        self._next_checkpoint = now + settings.stream_checkpoint_seconds
        # Alive until the next checkpoint is overdue: a live stream is silent for at most its
        # upstream timeout, and checkpoints at its first chunk after that.
        silence = self.fallback.deployment.timeout or settings.upstream_timeout
        alive = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
            seconds=2 * settings.stream_checkpoint_seconds + silence
        )
        row = self._row(self.usage_so_far(), status="streaming", alive_until=alive)
        try:
            await calls_sql.checkpoint(self.runtime.db, alive_until_job=alive, **row)
            self._checkpointed = True
        except DatabaseUnavailable:  # best effort: the stream goes on, the next one may work
            logger.warning("could not checkpoint streamed call %s", self.call_id)

    def _observe(self, row: calls_sql.CallRecord, usage: Usage) -> None:
        """Count the call just recorded in the metrics (when they are on)."""
        if self.metrics is not None:
            self.metrics.call_finished(
                alias=row["model_alias"],
                deployment=row["deployment"],
                status=row["status"],
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_micros=row["provider_cost_micros"],
                latency_seconds=row["latency_ms"] / 1000,
            )

    async def finish(
        self,
        usage: Usage | None = None,
        *,
        keep: bytes | None = None,
        finish_reason: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        status: str | None = None,
    ) -> None:
        """The call's one final record, applied to its job (which it may settle); ``keep`` is
        the response to keep for its Idempotency-Key, committed together with the record."""
        usage = usage or Usage()
        row = self._row(
            usage,
            status=status or ("failed" if error_type else "success"),
            finish_reason=finish_reason,
            error_type=error_type,
            error_message=error_message,
        )
        call = self.call
        claim = self.call.claim
        step = idempotency.keep_step(claim, keep) if keep is not None else None
        try:
            done = await calls_sql.finish_call(
                self.runtime.db,
                reserved_tokens=call.worst.tokens,
                reserved_cost_micros=call.worst.cost_micros,
                counted=call.counted,
                checkpointed=self._checkpointed,
                keep=step,
                rate_window=call.window_id,
                **row,
            )
        except DatabaseUnavailable:
            self._resolve_later()
            raise
        self.done = True
        self._observe(row, usage)
        if done.job is not None:
            await billing.after_call(
                self.runtime.db,
                call.team.team_id,
                call.job_id,
                call.budget,
                done.job,
                self.call_id,
            )
        if step is not None and claim is not None:
            if not done.kept:
                # A retry took the key over (this request's lease lapsed): the call happened
                # all the same and is recorded, but its response is the retry's to give.
                raise idempotency.superseded(claim)
            claim.kept = True


async def llm_call(
    runtime: Runtime,
    team: TeamContext,
    job_id: str,
    body: LLMCallRequest,
    *,
    params: dict[str, Any] | None = None,
    keep: KeepResponse | None = as_json,
    claim: idempotency.Claim | None = None,
) -> LLMCallResponse:
    call = await prepare_call(runtime, team, job_id, body, params=params, claim=claim)
    return await run_call(runtime, call, keep=keep)


async def run_call(
    runtime: Runtime, call: PreparedCall, *, keep: KeepResponse | None = as_json
) -> LLMCallResponse:
    """Call the upstream (with fallbacks) and record the call. ``keep`` renders the response
    the request's Idempotency-Key keeps with the record (``None``: the caller keeps one
    later, with a further effect)."""
    async with _Recorder(runtime, call, streamed=False) as recorder:
        outcome = await _routed(runtime, recorder, lambda p, r: p.complete(r))
        response = LLMCallResponse(
            call_id=recorder.call_id,
            job_id=call.job_id,
            model=call.route.alias,
            response=outcome.message,
            usage=outcome.usage,
            latency_ms=round(recorder.fallback.latency_ms, 3),
        )
        recorder.answer = outcome.message.content
        await recorder.finish(
            outcome.usage,
            keep=_kept(call, keep, response),
            finish_reason=outcome.message.finish_reason,
        )
        return response


async def embeddings(
    runtime: Runtime,
    team: TeamContext,
    job_id: str,
    body: EmbeddingsRequest,
    *,
    params: dict[str, Any] | None = None,
    keep: KeepEmbeddings | None = as_json,
    claim: idempotency.Claim | None = None,
) -> EmbeddingsResponse:
    """An embeddings call in the open job ``job_id`` (as :func:`llm_call` makes a chat call)."""
    call = await prepare_call(runtime, team, job_id, body, params=params, claim=claim)
    return await run_embeddings(runtime, call, keep=keep)


async def run_embeddings(
    runtime: Runtime, call: PreparedCall, *, keep: KeepEmbeddings | None = as_json
) -> EmbeddingsResponse:
    """Ask the upstream for the embeddings of a prepared call's texts (with fallbacks) and
    record the call as :func:`run_call` records one: its prompt tokens are its total (priced at
    the input price), it has no completion tokens."""
    assert call.texts is not None, "an embeddings call has texts"
    async with _Recorder(runtime, call, streamed=False) as recorder:
        outcome = await _routed(runtime, recorder, lambda p, r: p.embed(r))
        tokens = outcome.usage.prompt_tokens
        response = EmbeddingsResponse(
            data=[Embedding(index=i, embedding=v) for i, v in enumerate(outcome.vectors)],
            model=call.route.alias,
            usage=EmbeddingsUsage(prompt_tokens=tokens, total_tokens=tokens),
            call_id=recorder.call_id,
        )
        await recorder.finish(
            Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens),
            keep=_kept(call, keep, response),
        )
        return response


_Answer = TypeVar("_Answer", ProviderResult, EmbeddingResult)
_Response = TypeVar("_Response", LLMCallResponse, EmbeddingsResponse)


def _kept(
    call: PreparedCall, keep: Callable[[_Response], bytes] | None, response: _Response
) -> bytes | None:
    """The response to keep for the call's Idempotency-Key (``None``: nothing to keep now)."""
    if keep is None or not idempotency.awaits_response(call.claim):
        return None
    return keep(response)


async def _routed(
    runtime: Runtime,
    recorder: _Recorder,
    ask: Callable[[Provider, ProviderRequest], Awaitable[_Answer]],
) -> _Answer:
    """The answer of the first deployment of the call's route that gives one (``ask``: what
    a provider is asked, a completion or embeddings), each attempt traced and timed (the
    upstream's part of ``Server-Timing``). When none answers, the call is recorded as failed
    and the team's error raised."""
    call, fallback = recorder.call, recorder.fallback
    traced = tracer()
    for deployment, provider in fallback:
        request = routing.provider_request(
            runtime, deployment, call.messages, call.params, texts=call.texts
        )
        span = None
        if traced is not None:
            span = traced.upstream(request, call.job_id, call.team.team_id)
            request = span.request
        started = time.perf_counter()
        try:
            outcome = await ask(provider, request)
            if span is not None:
                finish = (
                    outcome.message.finish_reason if isinstance(outcome, ProviderResult) else None
                )
                span.answered(outcome.model, outcome.usage, finish)
        except ProviderError as exc:
            if span is not None:
                span.end(exc)
            if fallback.failed(exc):
                continue
            break
        finally:
            add_upstream(time.perf_counter() - started)
            if span is not None:
                span.end()  # cancelled (no-op when it ended above)
        fallback.succeeded()
        return outcome
    error = fallback.upstream_error()
    await recorder.finish(error_type=error.error_type, error_message=error.message)
    raise error


def stream_call(
    runtime: Runtime, call: PreparedCall, *, keep: KeepStream | None = as_sse
) -> CallEvents:
    """Stream a prepared call as SSE events: chunks as they arrive, then ``done`` or ``error``.

    Falls back to the next deployment only while nothing has been sent. If the consumer stops
    early (client disconnect), the upstream iteration is closed, which cancels its request, and
    the recorder records the call with what was streamed so far: ``cancelled`` (billed) once
    content was sent, ``failed`` before. The final event is kept for the request's
    Idempotency-Key together with the call's record, as the whole stream's text rendered by
    ``keep`` (``None``: the caller keeps it later).
    """
    return CallEvents(_stream(runtime, call, keep), lambda: abandon(runtime, call))


async def _stream(
    runtime: Runtime, call: PreparedCall, keep: KeepStream | None
) -> AsyncGenerator[StreamEvent, None]:
    traced = tracer()
    async with _Recorder(runtime, call, streamed=True) as recorder:
        fallback, pieces = recorder.fallback, recorder.pieces

        def sent_with(last: StreamEvent) -> bytes | None:
            if keep is None or not idempotency.awaits_response(call.claim):
                return None
            return keep([*(StreamChunk(content=p) for p in pieces), last])

        for deployment, provider in fallback:
            request = routing.provider_request(runtime, deployment, call.messages, call.params)
            finish: str | None = None
            usage: Usage | None = None
            tool_calls: list[ToolCall] | None = None
            model: str | None = None
            span = None
            if traced is not None:
                span = traced.upstream(request, call.job_id, call.team.team_id)
                request = span.request
            upstream = provider.stream(request)
            try:
                async for delta in upstream:
                    if delta.content:
                        pieces.append(delta.content)
                        yield StreamChunk(content=delta.content)
                        await recorder.checkpoint()
                    if delta.finish_reason is not None:
                        finish = delta.finish_reason
                    if delta.usage is not None:
                        usage = delta.usage
                    if delta.tool_calls:
                        tool_calls = delta.tool_calls
                    model = delta.model or model
                if span is not None:
                    span.answered(model, usage, finish)
            except ProviderError as exc:
                if span is not None:
                    span.end(exc)
                if fallback.failed(exc, may_fall_back=not pieces):
                    continue  # nothing sent yet: the next deployment may answer
                break
            finally:
                with anyio.CancelScope(shield=True):
                    await upstream.aclose()  # closing it cancels the upstream request
                if span is not None:
                    span.end()  # cancelled (no-op when it ended above)
            fallback.succeeded()
            usage = usage or recorder.usage_so_far()
            done = StreamDone(
                call_id=recorder.call_id,
                job_id=call.job_id,
                model=call.route.alias,
                finish_reason=finish,
                usage=usage,
                latency_ms=round(fallback.latency_ms, 3),
                tool_calls=tool_calls,
            )
            with anyio.CancelScope(shield=True):
                await recorder.finish(usage, keep=sent_with(done), finish_reason=finish)
            yield done
            return
        error = fallback.upstream_error()
        event = StreamErrorEvent(
            error=StreamErrorDetail(type=error.error_type, message=error.message)
        )
        with anyio.CancelScope(shield=True):
            await recorder.finish(
                recorder.usage_so_far() if pieces else None,
                keep=sent_with(event),
                error_type=error.error_type,
                error_message=error.message,
            )
        yield event
