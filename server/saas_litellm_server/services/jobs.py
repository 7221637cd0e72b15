"""The job lifecycle and its credits.

Creating a job reserves one credit (and copies the team's budget mode onto the job); completing
it settles the reservation — one used credit, or in a consumption mode what its calls used (see
``services.billing``) — if at least one of its calls succeeded (a job that got nothing costs
nothing); otherwise, and when the job fails, the reservation is released. Each step is a
conditional write inside one transaction whose first statement is a write, so it holds under any
concurrency: twelve concurrent creates with five credits open exactly five jobs, and a hundred
concurrent completions of one job settle it once.
"""

from __future__ import annotations

import datetime as dt
import uuid

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
    LLMCallRecord,
)

from .. import _metrics
from .._runtime import TeamContext
from ..errors import Conflict, InsufficientCredits, NotFound, PermissionDenied
from ..store import Database, calls, jobs, teams
from ..store._util import utcnow
from . import billing, refills, webhooks
from .pagination import page, position

__all__ = [
    "check_can_open",
    "complete_job",
    "create_job",
    "get_job",
    "get_open_job",
    "list_jobs",
    "search_jobs",
    "settle_abandoned",
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
    db: Database, team: TeamContext, body: JobCreateRequest, *, now: dt.datetime | None = None
) -> Job:
    """Open a job: reserve one credit (402 if none is available, after applying an
    auto-refill that is due at ``now``) and copy the team's budget settings onto it."""
    check_can_open(team, body.team_id)
    limits = body.limits.model_dump(exclude_none=True) if body.limits else None
    for attempt in range(2):
        async with db.transaction():
            budget = await teams.reserve_credit(db, team.team_id)
            if budget is not None:
                row = await jobs.insert_job(
                    db,
                    job_id=str(uuid.uuid4()),
                    team_id=team.team_id,
                    job_type=body.job_type,
                    metadata=body.metadata,
                    user_id=body.user_id,
                    budget=budget,
                    limits=limits,
                )
                return Job.model_validate(row)
        if attempt:
            break
        # No credit available. An auto-refill may be due (the sweep may not have run yet):
        # apply it, then try once more — also when a concurrent request or another process
        # applied it first, whose credits this request may use just as well.
        await refills.refill_team(db, team.team_id, now or utcnow())
    balance = await teams.get_team(db, team.team_id)
    raise InsufficientCredits(
        team.team_id,
        credits_remaining=0 if balance is None else balance["credits_remaining"],
        credits_reserved=0 if balance is None else balance["credits_reserved"],
    )


async def _require_job(db: Database, team: TeamContext, job_id: str) -> jobs.JobRow:
    row = await jobs.get_job(db, job_id, team.team_id)
    if row is None:
        raise NotFound(f"job {job_id!r} not found")
    return row


async def get_open_job(db: Database, team: TeamContext, job_id: str) -> jobs.JobRow:
    """The job, if this team may still make calls on it."""
    _check_active(team)
    if team.looked_up_job == job_id:  # read together with the key
        if team.job is None:
            raise NotFound(f"job {job_id!r} not found")
        row = jobs.job_row(team.job)
    else:
        row = await _require_job(db, team, job_id)
    if row["status"] not in jobs.OPEN_STATUSES:
        raise Conflict(f"job {job_id!r} is already {row['status']}; it takes no more calls")
    return row


NO_SUCCESSFUL_CALL = "no successful call"
JOB_FAILED = "job failed"


def _credit_reason(row: jobs.JobRow) -> str | None:
    """Why a closed job spent no credit (``None``: it did, or it is still open)."""
    if row["credit_applied"] or row["status"] in jobs.OPEN_STATUSES:
        return None
    return NO_SUCCESSFUL_CALL if row["status"] == "completed" else JOB_FAILED


async def _costs(db: Database, team_id: str, row: jobs.JobRow) -> JobCosts:
    remaining = row.get("credits_remaining_after")
    if remaining is None:  # still open: report the team's current figure
        team = await teams.get_team(db, team_id)
        remaining = 0 if team is None else team["credits_remaining"]
    return JobCosts(
        **await jobs.job_costs(db, row["job_id"]),
        credit_applied=row["credit_applied"],
        credit_reason=_credit_reason(row),
        credits_remaining=remaining,
        credits_charged=row.get("credits_charged", 0),
        credits_reserved=row.get("credits_held", 0),
    )


async def get_job(db: Database, team: TeamContext, job_id: str) -> JobDetail:
    row = await _require_job(db, team, job_id)
    call_rows = await calls.list_calls(db, job_id)
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
    """Close the job once; a repeat with the same status replays the first result."""
    metadata = None
    if body.metadata is not None:
        current = await _require_job(db, team, job_id)
        metadata = {**current["metadata"], **body.metadata}
    async with db.transaction():
        row = await jobs.close_job(
            db,
            job_id,
            team.team_id,
            status=body.status,
            error_message=body.error_message,
            metadata=metadata,
        )
        if row is not None:
            # The job is closed now, so no call can start on it; one still in flight when it
            # closed is not counted (as with every call finishing after completion).
            charged, remaining = await billing.settle_job(
                db, team.team_id, row, completed=body.status == "completed", now=utcnow()
            )
            await jobs.record_settlement(
                db, job_id, credits_charged=charged, credits_remaining=remaining
            )
            row = {
                **row,
                "credit_applied": charged > 0,
                "credits_charged": charged,
                "credits_held": 0,
                "credits_remaining_after": remaining,
            }
            await webhooks.job_settled(
                db, row, credits_charged=charged, credits_remaining=remaining
            )
    metrics = _metrics.current()
    if metrics is not None and row is not None:  # settled now, and committed
        metrics.charged(team.team_id, row["credits_charged"])
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


async def search_jobs(db: Database, query: JobSearchQuery) -> JobList:
    """Jobs across teams (admin), newest first, filtered by every parameter ``query`` gives."""
    rows = await jobs.list_jobs(
        db,
        query.team_id,
        organization_id=query.organization_id,
        status=query.status,
        job_type=query.job_type,
        since=query.since,
        until=query.until,
        limit=query.limit + 1,
        after=position(query.cursor),
    )
    shown, next_cursor = page(rows, query.limit, "job_id")
    return JobList(jobs=[Job.model_validate(r) for r in shown], next_cursor=next_cursor)


async def settle_abandoned(db: Database, *, ttl: float, batch: int = 500) -> int:
    """Settle jobs idle (no call made) for longer than ``ttl`` seconds, as their owner should
    have: completed (one credit) if any call succeeded, failed (reservation released) otherwise
    (completing the latter would be free too, but "failed" says it never got anything). Safe to
    run in every process at once: each job is closed by exactly one conditional update."""
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=ttl)
    settled = 0
    for row in await jobs.abandoned(db, cutoff, batch):
        status = "completed" if row["succeeded"] else "failed"
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
