"""SQL for recorded LLM calls.

A call is written with one upsert keyed by its id: once when it ends (:func:`finish_call`, which
also moves its job's running totals, in the same statement), and for a streamed call also at
checkpoints while it streams (status ``streaming``, :func:`checkpoint`), so that a crash loses at
most the tokens since the last checkpoint. :func:`interrupt` closes the calls whose server is
gone and adds what they had streamed to their jobs.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any, TypedDict, cast

import sqlalchemy as sa

from .._money import usd
from . import rate_limits_sql
from ._database import Database, Row, Statement
from ._util import dumps, stamp, utcnow
from .schema import calls

__all__ = [
    "BILLABLE",
    "CallRecord",
    "CallRow",
    "Finished",
    "JobTotals",
    "checkpoint",
    "drop_call",
    "finish_call",
    "get_call",
    "interrupt",
    "job_figures",
    "list_calls",
]

BILLABLE = ("success", "cancelled")
"""Statuses of a call that got its client something: they make a job chargeable."""

_COLUMNS = [c.name for c in calls.columns if c.name != "rolled_up"]  # the sweep's alone
_UPSERT = (  # column names from the schema; every value is a bound parameter
    f"INSERT INTO llm_calls ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
    "ON CONFLICT (call_id, created_at) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in ("call_id", "created_at"))
    # a call closed already (interrupted by the sweep) stays as it was closed
    + " WHERE llm_calls.status = 'streaming'"
)
_CHECKPOINT = Statement(_UPSERT)
_FINISH = Statement(_UPSERT + " RETURNING call_id")
_FINISH_STREAMING = Statement(  # the end of a call whose row a checkpoint wrote: never inserts
    "UPDATE llm_calls SET "  # noqa: S608
    + ", ".join(f"{c} = :{c}" for c in _COLUMNS if c not in ("call_id", "created_at"))
    + " WHERE call_id = :call_id AND created_at = :created_at AND status = 'streaming'"
    " RETURNING call_id"
)
_JOB_COLUMNS = (
    "status",
    "credits_held",
    "inflight_calls",
    "inflight_tokens",
    "inflight_cost_micros",
    "used_tokens",
    "used_cost_micros",
    "used_calls",
    "cap_tokens",
    "cap_cost_micros",
    "settled_at",
)
_APPLY = (  # the call's end on its job: it is no longer in flight, and what it used is added
    "UPDATE jobs SET "
    "inflight_calls = CASE WHEN inflight_calls > :counted "
    "THEN inflight_calls - :counted ELSE 0 END, "
    "inflight_tokens = CASE WHEN inflight_tokens > :reserved_tokens "
    "THEN inflight_tokens - :reserved_tokens ELSE 0 END, "
    "inflight_cost_micros = CASE WHEN inflight_cost_micros > :reserved_cost "
    "THEN inflight_cost_micros - :reserved_cost ELSE 0 END, "
    "inflight_until = CASE WHEN inflight_calls > :counted THEN inflight_until END, "
    "used_tokens = used_tokens + :total_tokens, "
    "used_cost_micros = used_cost_micros + :client_cost_micros, "
    "used_calls = used_calls + :billable "
    "WHERE job_id = :job_id"
)
_APPLY_RETURNING = " RETURNING " + ", ".join(_JOB_COLUMNS)
_DEFAULTS: dict[str, Any] = {
    "deployment": None,
    "provider": None,
    "streamed": False,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "provider_cost_micros": 0,
    "client_cost_micros": 0,
    "latency_ms": 0.0,
    "finish_reason": None,
    "purpose": None,
    "error_type": None,
    "error_message": None,
    "alive_until": None,
    "attempts": None,
    "request_content": None,
    "response_content": None,
    "key_id": None,
}


class CallRecord(TypedDict):
    """What a service records of a call (:func:`checkpoint`, :func:`finish_call`): the columns
    of ``llm_calls``, with its ``metadata`` as an object. ``created_at`` is when the call
    started, the same in each of its writes (with ``call_id``, the row's key)."""

    call_id: str
    created_at: dt.datetime
    job_id: str
    team_id: str
    model_alias: str
    deployment: str
    provider: str
    status: str
    streamed: bool
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    provider_cost_micros: int
    client_cost_micros: int
    latency_ms: float
    finish_reason: str | None
    purpose: str | None
    error_type: str | None
    error_message: str | None
    metadata: dict[str, Any] | None
    alive_until: dt.datetime | None
    attempts: list[Any] | None
    """The deployments tried (``routing.Attempt``), in order."""
    request_content: str | None
    """Kept only for a team with ``store_content`` (bounded by the service)."""
    response_content: str | None
    key_id: str | None
    """The virtual key that made the call (``None``: no key did)."""


class JobTotals(TypedDict):
    """A job's totals right after a call's end was applied to it (:data:`_JOB_COLUMNS`, as the
    driver reads them: the hot path copies nothing)."""

    status: str
    credits_held: int
    inflight_calls: int
    inflight_tokens: int
    inflight_cost_micros: int
    used_tokens: int
    used_cost_micros: int
    used_calls: int
    cap_tokens: int | None
    cap_cost_micros: int | None
    settled_at: dt.datetime | str | None
    """Only ever tested against ``None`` (SQLite reads a timestamp as text here)."""


class CallRow(TypedDict):
    """A recorded call as a job's detail lists it."""

    call_id: str
    model: str
    deployment: str | None
    status: str
    streamed: bool
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    provider_cost_usd: float | None
    """``None`` but for the operator."""
    client_cost_usd: float
    latency_ms: float
    finish_reason: str | None
    purpose: str | None
    error_type: str | None
    error_message: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Finished:
    """What recording a call's end did."""

    job: JobTotals | None
    """Its job's totals after it (``None``: the call had been closed already, by the sweep of
    a server that thought it dead, and nothing changed)."""
    kept: bool
    """Whether the response was kept for its Idempotency-Key (``False`` also without one)."""


def _row(values: dict[str, Any], metadata: dict[str, Any] | None) -> dict[str, Any]:
    if "created_at" not in values:  # with call_id, the key each write of the call finds
        raise TypeError("a call's record needs its created_at (when it started)")
    row = {**_DEFAULTS, **values, "metadata": dumps(metadata)}
    if row["attempts"] is not None:
        row["attempts"] = json.dumps(row["attempts"])
    return row


_ALIVE = Statement(
    "UPDATE jobs SET inflight_until = :alive_until_job WHERE job_id = :job_id "
    "AND inflight_calls > 0 AND (inflight_until IS NULL OR inflight_until < :alive_until_job)"
)


async def checkpoint(
    db: Database,
    *,
    alive_until_job: dt.datetime,
    metadata: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Save a streaming call's progress (status ``streaming``: its job's totals do not move
    until it ends), and keep its job's calls in flight alive until ``alive_until_job``."""
    params = {**_row(values, metadata), "alive_until_job": alive_until_job}
    await db.run_atomic([(_CHECKPOINT, params, False), (_ALIVE, params, False)])


_DROP = Statement(
    _APPLY.replace(":total_tokens", "0")
    .replace(":client_cost_micros", "0")
    .replace(":billable", "0")
    + _APPLY_RETURNING
)


async def drop_call(
    db: Database, job_id: str, *, reserved_tokens: int, reserved_cost_micros: int
) -> JobTotals | None:
    """Take a call that never ran off its job's calls in flight (nothing recorded); the job's
    totals after it."""
    rows = await db.run(
        _DROP,
        {
            "job_id": job_id,
            "reserved_tokens": reserved_tokens,
            "reserved_cost": reserved_cost_micros,
            "counted": 1,  # only a counted call is dropped (calls.abandon)
        },
    )
    return _totals(rows[0]) if rows else None


def _totals(row: Row) -> JobTotals:
    return cast(JobTotals, row)  # a record of _JOB_COLUMNS: the shape already


async def finish_call(
    db: Database,
    *,
    reserved_tokens: int,
    reserved_cost_micros: int,
    counted: bool = True,
    checkpointed: bool = False,
    metadata: dict[str, Any] | None = None,
    keep: tuple[Statement, dict[str, Any]] | None = None,
    rate_window: int | None = None,
    **values: Any,
) -> Finished:
    """Record a call's end and, for a call ``counted`` in flight on its job, apply it to the
    job, atomically: the call is no longer in flight (its worst case, ``reserved_*``, leaves
    the job's in-flight totals) and its tokens, client cost and (if billable) itself join the
    job's used totals. A call not counted (see ``services.calls``) writes its record alone: the
    job's row is not touched, so concurrent calls of one job do not queue on its lock. ``keep``
    keeps the response for the request's Idempotency-Key in the same transaction, if the key is
    still the request's; ``rate_window``, the team's rate-limit window the call was counted in,
    to which its tokens are added. A ``checkpointed`` call (its row was written while it
    streamed) only updates that row: if it is gone (closed by the sweep, then removed by
    retention) nothing is written again. Every call of every job comes here: on PostgreSQL it is
    one statement (a ``WITH`` of the upsert, the job's update, the tokens and the keep), on
    SQLite one transaction on the event loop's thread."""
    row = _row(values, metadata)
    params = {
        **row,
        "reserved_tokens": reserved_tokens,
        "reserved_cost": reserved_cost_micros,
        "billable": 1 if row["status"] in BILLABLE else 0,
        "counted": 1,
    }
    if keep is not None and params.keys() & keep[1].keys():
        raise ValueError(f"parameters named twice: {sorted(params.keys() & keep[1].keys())}")
    rate = rate_window is not None and bool(row["total_tokens"])
    if rate:
        params["rate_window"] = rate_window
    record = _FINISH_STREAMING if checkpointed else _FINISH
    if db.backend == "postgresql":
        if not counted and keep is None and not rate:
            await db.run(record, params)
            return Finished(job=None, kept=False)
        result = await db.run(
            _finish_statement(keep[0] if keep else None, apply=counted, record=record, rate=rate),
            {**params, **(keep[1] if keep else {})},
        )
        found = result[0]
        job = {c: found[c] for c in _JOB_COLUMNS} if counted and found["recorded"] else None
        return Finished(job=None if job is None else _totals(job), kept=bool(found["kept"]))
    steps: list[tuple[Statement, dict[str, Any], bool]] = [(record, params, True)]
    if counted:
        steps.append((_apply_sqlite(), params, False))
    if rate:
        steps.append((rate_limits_sql.TOKENS_OF_CALL, params, False))
    if keep is not None:
        steps.append((keep[0], keep[1], False))
    if len(steps) == 1:
        await db.run(record, params)
        return Finished(job=None, kept=False)
    done = await db.run_atomic(steps)
    job_rows = done[1] if counted and len(done) > 1 else []
    return Finished(
        job=_totals(job_rows[0]) if job_rows else None,
        kept=keep is not None and len(done) == len(steps) and bool(done[-1]),
    )


@functools.cache
def _apply_sqlite() -> Statement:
    return Statement(_APPLY + _APPLY_RETURNING)


@functools.cache
def _finish_statement(
    keep: Statement | None, *, apply: bool, record: Statement, rate: bool = False
) -> Statement:
    """The upsert, its job's update (``apply``), its tokens in its team's rate-limit window
    (``rate``) and ``keep`` as one PostgreSQL statement: data-modifying ``WITH`` parts all run,
    in one transaction, whatever the outer query reads."""
    parts = [f"recorded AS ({record.sql})"]
    if apply:
        parts.append(f"job AS ({_APPLY} AND EXISTS (SELECT 1 FROM recorded){_APPLY_RETURNING})")  # noqa: S608
    if rate:
        tokens = rate_limits_sql.TOKENS_OF_CALL.sql
        parts.append(f"rated AS ({tokens} AND EXISTS (SELECT 1 FROM recorded))")  # noqa: S608
    if keep is not None:
        parts.append(f"kept AS ({keep.sql})")
    count_kept = "(SELECT count(*) FROM kept)" if keep is not None else "0"
    select = f"SELECT (SELECT count(*) FROM recorded) AS recorded, {count_kept} AS kept"  # noqa: S608
    if apply:
        select += ", job.* FROM (SELECT 1) AS one LEFT JOIN job ON TRUE"
    return Statement(f"WITH {', '.join(parts)} {select}")


async def interrupt(db: Database, *, now: dt.datetime | None = None) -> int:
    """Close the streamed calls whose server stopped checkpointing them: ``failed``, error type
    ``interrupted``, their tokens as of the last checkpoint, which join their jobs' used totals
    (the job's in-flight count is its own sweep's: ``jobs_sql.forget_inflight``). Returns how
    many."""
    rows = await db.fetch_all(
        calls.select()
        .where(calls.c.status == "streaming", calls.c.alive_until < (now or utcnow()))
        .limit(500)
    )
    closed = 0
    for r in rows:
        async with db.transaction():
            done = await db.fetch_one(
                calls.update()
                .where(
                    calls.c.call_id == r["call_id"],
                    calls.c.created_at == r["created_at"],
                    calls.c.status == "streaming",
                )
                .values(
                    status="failed",
                    error_type="interrupted",
                    error_message="the server stopped while streaming this call; its tokens "
                    "are counted up to the last checkpoint",
                    alive_until=None,
                )
                .returning(calls.c.total_tokens, calls.c.client_cost_micros)
            )
            if done is None:
                continue
            await db.execute(
                "UPDATE jobs SET used_tokens = used_tokens + :tokens, "
                "used_cost_micros = used_cost_micros + :cost WHERE job_id = :job_id",
                {
                    "tokens": int(done["total_tokens"]),
                    "cost": int(done["client_cost_micros"]),
                    "job_id": r["job_id"],
                },
            )
            closed += 1
    return closed


_CONTENT = ("attempts", "request_content", "response_content")
_LISTED = [c for c in calls.columns if c.name not in _CONTENT]
"""What a job's list of calls reads: not their content (up to 128 KiB a call)."""


def _call_row(r: Row, operator: bool) -> CallRow:
    return CallRow(
        call_id=r["call_id"],
        model=r["model_alias"],
        deployment=r["deployment"],
        status=r["status"],
        streamed=bool(r["streamed"]),
        prompt_tokens=r["prompt_tokens"],
        completion_tokens=r["completion_tokens"],
        total_tokens=r["total_tokens"],
        cost_usd=usd(r["client_cost_micros"]),
        provider_cost_usd=usd(r["provider_cost_micros"]) if operator else None,
        client_cost_usd=usd(r["client_cost_micros"]),
        latency_ms=r["latency_ms"],
        finish_reason=r["finish_reason"],
        purpose=r["purpose"],
        error_type=r["error_type"],
        error_message=r["error_message"],
        created_at=stamp(r["created_at"]),
    )


async def list_calls(db: Database, job_id: str, *, operator: bool = True) -> list[CallRow]:
    """A job's calls, oldest first; ``operator=False`` leaves out what is the operator's
    alone (the provider's cost: with a markup, the team's cost shows the margin)."""
    rows = await db.fetch_all(
        sa.select(*_LISTED)
        .where(calls.c.job_id == job_id)
        .order_by(calls.c.created_at, calls.c.call_id)
    )
    return [_call_row(r, operator) for r in rows]


class CallDetailRow(CallRow):
    """One call, all of it (``GET /api/jobs/{job_id}/calls/{call_id}``)."""

    job_id: str
    team_id: str
    provider: str | None
    attempts: list[dict[str, Any]]
    request_content: str | None
    response_content: str | None


async def get_call(
    db: Database, job_id: str, call_id: str, *, team_id: str | None, operator: bool
) -> CallDetailRow | None:
    """A call of a job (``team_id``: only if it is that team's), with its content."""
    query = calls.select().where(calls.c.call_id == call_id, calls.c.job_id == job_id)
    if team_id is not None:
        query = query.where(calls.c.team_id == team_id)
    r = await db.fetch_one(query)
    if r is None:
        return None
    return CallDetailRow(
        **_call_row(r, operator),
        job_id=r["job_id"],
        team_id=r["team_id"],
        provider=r["provider"],
        attempts=json.loads(r["attempts"]) if r["attempts"] else [],
        request_content=r["request_content"],
        response_content=r["response_content"],
    )


class JobFigures(TypedDict):
    """What a jobs page shows of each job's calls."""

    calls: int
    tokens: int
    client_cost_micros: int
    provider_cost_micros: int
    first_error: str | None
    """The first failed call's error (type: message)."""


async def job_figures(db: Database, job_ids: list[str]) -> dict[str, JobFigures]:
    """The calls' figures of a page of jobs (each found by ``ix_llm_calls_job``)."""
    if not job_ids:
        return {}
    sums = await db.fetch_all(
        sa.select(
            calls.c.job_id,
            sa.func.count().label("calls"),
            sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.client_cost_micros), 0).label("client"),
            sa.func.coalesce(sa.func.sum(calls.c.provider_cost_micros), 0).label("provider"),
        )
        .where(calls.c.job_id.in_(job_ids))
        .group_by(calls.c.job_id)
    )
    first = calls.alias("first")
    earliest = (
        sa.select(sa.func.min(first.c.created_at))
        .where(first.c.job_id == calls.c.job_id, first.c.status == "failed")
        .scalar_subquery()
    )
    errors = await db.fetch_all(
        sa.select(calls.c.job_id, calls.c.error_type, calls.c.error_message).where(
            calls.c.job_id.in_(job_ids), calls.c.status == "failed", calls.c.created_at == earliest
        )
    )
    out = {
        r["job_id"]: JobFigures(
            calls=int(r["calls"]),
            tokens=int(r["tokens"]),
            client_cost_micros=int(r["client"]),
            provider_cost_micros=int(r["provider"]),
            first_error=None,
        )
        for r in sums
    }
    for r in errors:
        if r["job_id"] in out and out[r["job_id"]]["first_error"] is None:
            out[r["job_id"]]["first_error"] = f"{r['error_type']}: {r['error_message'] or ''}"
    return out
