"""The single-call job: open a job, make one call in it and settle it, in one request.

Serves ``POST /api/jobs/create-and-call``, ``…/create-and-call-stream``, and
``/v1/chat/completions`` and ``/v1/embeddings`` without ``X-Job-Id``. It is the job lifecycle of
``services.jobs`` and the call of ``services.calls``, in order; nothing of theirs is redone here:

- everything that can refuse the call (team, model, rate limit, then the credit reservation
  of the job and of the call's worst case) does so before the job exists, or in the
  transaction that creates it, so a refusal leaves no job behind;
- the call is made and recorded like any llm-call (fallbacks, tokens, cost, disconnects);
- the job is then *completed* (charged by the team's mode) when the call succeeded, or when its
  stream was cut by the client after content reached it (what was delivered is paid for), and
  *failed* (the reservation released) when it did not succeed, when the client left before any
  content, or when the request was cancelled or superseded by a retry of its Idempotency-Key
  (whose answer the client gets instead).

The response an Idempotency-Key keeps is kept in the transaction that settles the job, not with
the call's record, so that a replay reports the job's costs exactly as the first answer did.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from saas_litellm_models import (
    CreateAndCallResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCosts,
    JobCreateRequest,
    LLMCallRequest,
    StreamDone,
    StreamErrorEvent,
)

from .._runtime import Runtime, TeamContext
from ..errors import APIError, Conflict
from . import calls, idempotency, jobs

__all__ = [
    "JOB_ID_HEADER",
    "KeepSettled",
    "SingleCall",
    "create_and_call",
    "create_and_embed",
    "open_single_call",
    "stream_single_call",
]

KeepSettled = Callable[[CreateAndCallResponse], bytes]
"""What the Idempotency-Key keeps of a settled single call (the body a replay sends)."""

JOB_ID_HEADER = "X-Job-Id"


def as_json(response: CreateAndCallResponse) -> bytes:
    return response.model_dump_json().encode()


@dataclass(frozen=True)
class SingleCall:
    """A single-call job, open, and its call, prepared."""

    team: TeamContext
    job: Job
    call: calls.PreparedCall

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def kept(self, body: bytes) -> bytes:
        """The response to keep for a replay, which names the job (``X-Job-Id``) too."""
        return idempotency.with_headers({JOB_ID_HEADER: self.job_id}, body)


async def open_single_call(
    runtime: Runtime,
    team: TeamContext,
    job: JobCreateRequest,
    body: calls.CallBody,
    *,
    params: dict[str, Any] | None = None,
    claim: idempotency.Claim | None = None,
) -> SingleCall:
    """Check the call, then open its job and count the call in flight on it, in one
    transaction (402 when no credit is left to reserve for either: then there is no job).
    ``claim``: the request's Idempotency-Key, under which the settlement is kept."""
    jobs.check_can_open(team, job.team_id)
    admitted = await calls.admit(runtime, team, body)
    prepared: list[calls.PreparedCall] = []

    async def first_call(created: Job) -> None:
        prepared.append(
            await calls.prepare_call(
                runtime,
                team,
                created.job_id,
                body,
                params=params,
                admitted=admitted,
                claim=claim,
            )
        )

    created = await jobs.create_job(runtime.db, team, job, now=runtime.clock(), then=first_call)
    return SingleCall(team, created, prepared[0])


_LEFT = "the request ended before the call did (the client disconnected)"
_SUPERSEDED = (
    "the request's Idempotency-Key was taken over by a retry, whose answer stands; this one "
    "was never given"
)


def _why(exc: BaseException, job_id: str) -> str:
    """Why the call failed; an :class:`APIError`, which answers the request, also names the
    job (``X-Job-Id``)."""
    if isinstance(exc, APIError):
        exc.headers.setdefault(JOB_ID_HEADER, job_id)
        return exc.message
    return _LEFT


async def _fail(runtime: Runtime, team: TeamContext, job_id: str, reason: str) -> None:
    """Fail the job, releasing its credit (shielded: it must happen, also when cancelled)."""
    body = JobCompleteRequest(status="failed", error_message=reason.replace("\x00", "")[:4000])
    with anyio.CancelScope(shield=True), contextlib.suppress(Conflict):
        # (a Conflict: closed already, by the sweep: nothing to release)
        await jobs.complete_job(runtime.db, team, job_id, body)


async def _complete(runtime: Runtime, single: SingleCall) -> JobCompletion:
    body = JobCompleteRequest(status="completed")
    return await jobs.complete_job(runtime.db, single.team, single.job_id, body)


async def create_and_call(
    runtime: Runtime,
    team: TeamContext,
    job: JobCreateRequest,
    body: LLMCallRequest,
    *,
    params: dict[str, Any] | None = None,
    keep: KeepSettled = as_json,
    claim: idempotency.Claim | None = None,
) -> CreateAndCallResponse:
    """One job, one call, settled; an upstream failure fails the job and raises as llm-call
    does. ``keep`` renders the response the Idempotency-Key keeps."""
    single = await open_single_call(runtime, team, job, body, params=params, claim=claim)
    answer = await _run(runtime, single, calls.run_call(runtime, single.call, keep=None))

    def settled(completion: JobCompletion) -> CreateAndCallResponse:
        return CreateAndCallResponse(**dict(answer), costs=completion.costs)

    return settled(await _settle_kept(runtime, single, lambda c: keep(settled(c))))


async def create_and_embed(
    runtime: Runtime,
    team: TeamContext,
    job: JobCreateRequest,
    body: EmbeddingsRequest,
    *,
    params: dict[str, Any] | None = None,
    keep: calls.KeepEmbeddings = calls.as_json,
    claim: idempotency.Claim | None = None,
) -> tuple[EmbeddingsResponse, str]:
    """One job, one embeddings call, settled as :func:`create_and_call` settles its call;
    returns the answer and the job's id."""
    single = await open_single_call(runtime, team, job, body, params=params, claim=claim)
    answer = await _run(runtime, single, calls.run_embeddings(runtime, single.call, keep=None))
    await _settle_kept(runtime, single, lambda _: keep(answer))
    return answer, single.job_id


_T = TypeVar("_T")


async def _run(runtime: Runtime, single: SingleCall, call: Awaitable[_T]) -> _T:
    """The single call's answer; a failure fails its job (and raises as the call does)."""
    try:
        return await call
    except BaseException as exc:
        await _fail(runtime, single.team, single.job_id, _why(exc, single.job_id))
        raise


async def _settle_kept(
    runtime: Runtime, single: SingleCall, render: Callable[[JobCompletion], bytes]
) -> JobCompletion:
    """Complete the job of a single call that succeeded, keeping ``render``-ed answer for the
    request's Idempotency-Key in the same transaction."""
    try:
        return await idempotency.keeping(
            runtime.db,
            single.call.claim,
            lambda: _complete(runtime, single),
            lambda c: single.kept(render(c)),
        )
    except idempotency.Superseded:
        # The key's lease lapsed and a retry took it over: this answer is never given (the
        # retry's is), so its job must not cost anything.
        await _fail(runtime, single.team, single.job_id, _SUPERSEDED)
        raise


def stream_single_call(
    runtime: Runtime, single: SingleCall, *, keep: calls.KeepStream = calls.as_sse
) -> calls.CallEvents:
    """The call's events as ``stream_call`` sends them, the ``done`` event carrying the
    settled job's ``costs``. An ``error`` event fails the job; the consumer leaving completes
    it once content reached it (the call is ``cancelled``, billed), fails it before. ``keep``
    renders the stream the Idempotency-Key keeps, with the settlement."""

    async def events() -> AsyncGenerator[calls.StreamEvent, None]:
        # The events sent are kept only to render a replay (an Idempotency-Key's): a stream
        # without a key holds no copy of what it sent.
        replayable = idempotency.awaits_response(single.call.claim)
        sent: list[calls.StreamEvent] = []
        delivered = settled = False
        try:
            async with contextlib.aclosing(
                calls.stream_call(runtime, single.call, keep=None)
            ) as stream:
                async for event in stream:
                    if isinstance(event, StreamDone):
                        costs = await _settle(runtime, single, sent, event, keep)
                        settled = True
                        yield event.model_copy(update={"costs": costs})
                        return
                    if isinstance(event, StreamErrorEvent):
                        await _settle_failure(runtime, single, sent, event, keep)
                        settled = True
                        yield event
                        return
                    delivered = True
                    if replayable:
                        sent.append(event)
                    yield event
        finally:
            if not settled:
                if delivered:  # the call is recorded (cancelled): what was delivered is paid for
                    with anyio.CancelScope(shield=True):
                        await _complete(runtime, single)
                else:
                    await _fail(runtime, single.team, single.job_id, _LEFT)

    async def never_started() -> None:
        await calls.abandon(runtime, single.call)
        await _fail(runtime, single.team, single.job_id, _LEFT)

    return calls.CallEvents(events(), never_started)


async def _settle(
    runtime: Runtime,
    single: SingleCall,
    sent: list[calls.StreamEvent],
    done: StreamDone,
    keep: calls.KeepStream,
) -> JobCosts:
    with anyio.CancelScope(shield=True):  # the call is recorded: its job must settle
        try:
            completion = await idempotency.keeping(
                runtime.db,
                single.call.claim,
                lambda: _complete(runtime, single),
                lambda c: single.kept(keep([*sent, done.model_copy(update={"costs": c.costs})])),
            )
        except idempotency.Superseded:
            # A retry took the key over; what was streamed reached the client all the same.
            completion = await _complete(runtime, single)
    return completion.costs


async def _settle_failure(
    runtime: Runtime,
    single: SingleCall,
    sent: list[calls.StreamEvent],
    error: StreamErrorEvent,
    keep: calls.KeepStream,
) -> None:
    with anyio.CancelScope(shield=True):
        await idempotency.keeping(
            runtime.db,
            single.call.claim,
            lambda: _fail(runtime, single.team, single.job_id, error.error.message),
            lambda _: single.kept(keep([*sent, error])),
        )
