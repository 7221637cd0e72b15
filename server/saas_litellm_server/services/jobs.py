"""The job lifecycle and its credits.

Creating a job reserves one credit (and copies the team's budget mode onto the job); closing it
settles the reservation — one used credit, or in a consumption mode what its calls used (see
``services.billing``) — if it completed with a billable call (one that succeeded, or a stream
cut by its client after content reached it; a job that got nothing costs nothing); otherwise,
and when the job fails, the reservation is released. A job closed while calls of it are still
in flight is settled when the last of them ends, so that they are charged too. Each step is a
conditional write inside one transaction whose first statement is a write, so it holds under any
concurrency: twelve concurrent creates with five credits open exactly five jobs, and a hundred
concurrent completions of one job settle it once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from saas_litellm_models import (
    Job,
    JobCompleteRequest,
    JobCompletion,
    JobCosts,
    JobCreateRequest,
    JobDetail,
    JobList,
    JobListQuery,
    JobSearchQuery,
    LLMCallDetail,
    LLMCallRecord,
)

from .._money import micros_of, usd
from .._runtime import TeamContext
from ..errors import Conflict, InsufficientCredits, NotFound, PermissionDenied
from ..store import Database, calls_sql, jobs_sql, teams_sql, usage_sql
from ..store._util import utcnow
from . import billing, refills
from .pagination import page, position

logger = logging.getLogger("saas_litellm_server")

__all__ = [
    "JobLine",
    "check_can_open",
    "complete_job",
    "create_job",
    "get_call",
    "get_job",
    "get_open_job",
    "job_lines",
    "list_jobs",
    "search_jobs",
    "settle_abandoned",
    "settle_unsettled",
]


def _check_active(team: TeamContext) -> None:
    if team.status != "active":
        raise PermissionDenied(f"team {team.team_id!r} is suspended")


def check_can_open(team: TeamContext, team_id: str) -> None:
    """Refuse a job for another team than the key's, or for a suspended team."""
    if team_id != team.team_id:
        raise PermissionDenied(
            "team_id does not match the team of the virtual key", param="team_id"
        )
    _check_active(team)


async def create_job(
    db: Database,
    team: TeamContext,
    body: JobCreateRequest,
    *,
    now: dt.datetime | None = None,
    then: Callable[[Job], Awaitable[None]] | None = None,
) -> Job:
    """Open a job: reserve one credit (402 if none is available, after applying an
    auto-refill that is due at ``now``) and copy the team's budget settings onto it. ``then``
    runs in the same transaction once the job exists: if it raises, the job never was (the
    single-call shortcut counts its call in flight there, so that a refused call leaves no
    job behind)."""
    check_can_open(team, body.team_id)
    limits = _limits(body)
    for attempt in range(2):
        async with db.transaction():
            settings = await teams_sql.reserve_credit(db, team.team_id)
            if settings is not None:
                row = await jobs_sql.insert_job(
                    db,
                    job_id=str(uuid.uuid4()),
                    team_id=team.team_id,
                    job_type=body.job_type,
                    metadata=body.metadata,
                    user_id=body.user_id,
                    budget=settings,
                    limits=limits,
                    caps=billing.Budget.of_team(settings).limited(**limits).caps(1),
                )
                job = Job.model_validate(row)
                if then is not None:
                    await then(job)
                return job
        if attempt:
            break
        # No credit available. An auto-refill may be due (the sweep may not have run yet):
        # apply it, then try once more — also when a concurrent request or another process
        # applied it first, whose credits this request may use just as well.
        await refills.refill_team(db, team.team_id, now or utcnow())
    balance = await teams_sql.get_team(db, team.team_id)
    raise InsufficientCredits(
        team.team_id,
        credits_remaining=0 if balance is None else balance["credits_remaining"],
        credits_reserved=0 if balance is None else balance["credits_reserved"],
    )


def _limits(body: JobCreateRequest) -> dict[str, int]:
    """The job's limits as the store keeps them (USD in whole micro-dollars, rounded down: a
    cap is never above what was asked)."""
    if body.limits is None:
        return {}
    limits = body.limits
    out = {"max_tokens": limits.max_tokens, "max_credits": limits.max_credits}
    if limits.max_cost_usd is not None:
        out["max_cost_micros"] = micros_of(limits.max_cost_usd, floor=True)
    return {k: v for k, v in out.items() if v is not None}


async def _require_job(db: Database, team: TeamContext, job_id: str) -> jobs_sql.JobRow:
    row = await jobs_sql.get_job(db, job_id, team.team_id)
    if row is None:
        raise NotFound(f"job {job_id!r} not found")
    return row


async def get_open_job(db: Database, team: TeamContext, job_id: str) -> jobs_sql.JobStart:
    """The job, if this team may still make calls on it."""
    _check_active(team)
    if team.looked_up_job == job_id:  # read together with the key
        if team.job is None:
            raise NotFound(f"job {job_id!r} not found")
        row = team.job
    else:
        row = await _require_job(db, team, job_id)
    if row["status"] not in jobs_sql.OPEN_STATUSES:
        raise Conflict(f"job {job_id!r} is already {row['status']}; it takes no more calls")
    return row


NO_SUCCESSFUL_CALL = "no successful call"
JOB_FAILED = "job failed"
SETTLING = "calls in flight: settled when they end"


def _credit_reason(row: jobs_sql.JobRow) -> str | None:
    """Why a closed job spent no credit (``None``: it did, or it is still open)."""
    if row["credit_applied"] or row["status"] in jobs_sql.OPEN_STATUSES:
        return None
    if row["settled_at"] is None:
        return SETTLING
    return NO_SUCCESSFUL_CALL if row["status"] == "completed" else JOB_FAILED


async def _costs(db: Database, team_id: str, row: jobs_sql.JobRow) -> JobCosts:
    remaining = row["credits_remaining_after"]
    if remaining is None:  # not settled: report the team's current figure
        team = await teams_sql.get_team(db, team_id)
        remaining = 0 if team is None else team["credits_remaining"]
    return JobCosts(
        **await usage_sql.job_costs(db, row),
        credit_applied=row["credit_applied"],
        credit_reason=_credit_reason(row),
        credits_remaining=remaining,
        credits_charged=row["credits_charged"],
        credits_reserved=row["credits_held"],
    )


async def get_job(
    db: Database, team: TeamContext, job_id: str, *, operator: bool = False
) -> JobDetail:
    """The job with its calls; ``operator`` shows what only the operator sees (each call's
    provider cost: the team's own key sees its own cost, never the margin)."""
    row = await _require_job(db, team, job_id)
    call_rows = await calls_sql.list_calls(db, job_id, operator=operator)
    return JobDetail.model_validate(
        {
            **row,
            "calls": [LLMCallRecord.model_validate(c) for c in call_rows],
            "costs": await _costs(db, team.team_id, row),
        }
    )


async def complete_job(
    db: Database, team: TeamContext, job_id: str, body: JobCompleteRequest
) -> JobCompletion:
    """Close the job once; a repeat with the same status replays the first result. The job is
    settled now if no call of it is in flight, else by the end of the last one."""
    metadata = None
    if body.metadata is not None:
        current = await _require_job(db, team, job_id)
        metadata = {**current["metadata"], **body.metadata}
    async with db.transaction():
        row = await jobs_sql.close_job(
            db,
            job_id,
            team.team_id,
            status=body.status,
            error_message=body.error_message,
            metadata=metadata,
        )
        if row is not None and row["inflight_calls"] == 0:
            settled = await billing.settle_closed(db, team.team_id, job_id, now=utcnow())
            if settled is not None:
                row = settled[0]
    if row is None:  # not open: closed before, by this status (a replay) or the other
        row = await _require_job(db, team, job_id)
        if row["status"] != body.status:
            raise Conflict(
                f"job {job_id!r} is already {row['status']}; it cannot become {body.status}",
                param="status",
            )
    return JobCompletion(
        job_id=job_id,
        status=row["status"],
        completed_at=row["completed_at"],
        costs=await _costs(db, team.team_id, row),
    )


async def list_jobs(db: Database, team_id: str, query: JobListQuery) -> JobList:
    """A team's jobs: the cross-team search, narrowed to the team."""
    search = JobSearchQuery(
        team_id=team_id, status=query.status, limit=query.limit, cursor=query.cursor
    )
    return await search_jobs(db, search)


async def _search(
    db: Database, query: JobSearchQuery
) -> tuple[Sequence[jobs_sql.JobRow], str | None]:
    rows = await jobs_sql.list_jobs(
        db,
        query.team_id,
        organization_id=query.organization_id,
        status=query.status,
        job_type=query.job_type,
        since=query.since,
        until=query.until,
        model=query.model,
        has_errors=query.has_errors,
        limit=query.limit + 1,
        after=position(query.cursor),
    )
    return page(rows, query.limit, "job_id")


async def search_jobs(db: Database, query: JobSearchQuery) -> JobList:
    """Jobs across teams (admin), newest first, filtered by every parameter ``query`` gives."""
    shown, next_cursor = await _search(db, query)
    return JobList(jobs=[Job.model_validate(r) for r in shown], next_cursor=next_cursor)


@dataclass(frozen=True)
class JobLine:
    """A job as the operator's jobs page lists it: with its calls' figures."""

    job: Job
    calls: int
    tokens: int
    cost_usd: float
    provider_cost_usd: float
    credits_charged: int
    error: str | None
    """The job's error, or its first failed call's (type: message)."""


async def job_lines(db: Database, query: JobSearchQuery) -> tuple[list[JobLine], str | None]:
    """:func:`search_jobs`'s page, each job with its calls' figures (one more statement for
    the page's sums, one for its first errors)."""
    shown, next_cursor = await _search(db, query)
    figures = await calls_sql.job_figures(db, [r["job_id"] for r in shown])
    lines = []
    for r in shown:
        f = figures.get(r["job_id"])
        lines.append(
            JobLine(
                job=Job.model_validate(r),
                calls=f["calls"] if f else 0,
                tokens=f["tokens"] if f else 0,
                cost_usd=usd(f["client_cost_micros"]) if f else 0.0,
                provider_cost_usd=usd(f["provider_cost_micros"]) if f else 0.0,
                credits_charged=r["credits_charged"],
                error=r["error_message"] or (f["first_error"] if f else None),
            )
        )
    return lines, next_cursor


async def get_call(
    db: Database, job_id: str, call_id: str, *, team_id: str | None
) -> LLMCallDetail:
    """One call of a job, all of it. ``team_id``: the team's own key asks — only its own
    calls (another team's is not found, as its jobs are not) and never the provider's cost;
    ``None``: the operator."""
    row = await calls_sql.get_call(db, job_id, call_id, team_id=team_id, operator=team_id is None)
    if row is None:
        raise NotFound(f"call {call_id!r} of job {job_id!r} not found")
    return LLMCallDetail.model_validate(row)


async def settle_abandoned(db: Database, *, ttl: float, batch: int = 500) -> int:
    """Close jobs idle (no call made, none in flight) for longer than ``ttl`` seconds, as their
    owner should have: completed if any call was billable, failed (reservation released)
    otherwise (completing the latter would be free too, but "failed" says it never got
    anything). Safe to run in every process at once: each job is closed by exactly one
    conditional update."""
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=ttl)
    settled = 0
    for row in await jobs_sql.abandoned(db, cutoff, batch):
        status: Literal["completed", "failed"] = "completed" if row["succeeded"] else "failed"
        team = TeamContext(team_id=row["team_id"], status="active", default_model=None)
        body = JobCompleteRequest(
            status=status, error_message=f"abandoned: no activity for {ttl:g} s"
        )
        try:
            await complete_job(db, team, row["job_id"], body)
        except (Conflict, NotFound):
            continue  # closed by its owner (or another process) in the meantime
        settled += 1
    return settled


async def settle_unsettled(db: Database, now: dt.datetime, *, batch: int = 500) -> int:
    """Settle the closed jobs whose settlement was left undone (the process that ended their
    last call stopped first), and drop the calls in flight that outlived every deadline (their
    process died: ``calls_sql.interrupt`` has recorded what they streamed), settling their job if
    it is closed. Safe to run in every process at once. Returns how many jobs it settled."""
    count = 0
    for row in await jobs_sql.unsettled(db, now, batch):
        if await jobs_sql.forget_inflight(db, row["job_id"], now):
            logger.warning(
                "job %s: dropped its calls in flight, whose server stopped", row["job_id"]
            )
        if await billing.settle(db, row["team_id"], row["job_id"]) is not None:
            count += 1
    return count
