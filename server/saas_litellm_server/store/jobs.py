"""SQL for jobs: insert, look up, and the one-way status transitions."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

import sqlalchemy as sa

from ._database import Database, Row, Statement
from ._util import dumps, loads, newest_first, utc, utcnow
from .schema import calls, jobs, teams

__all__ = [
    "OPEN_STATUSES",
    "JobRow",
    "abandoned",
    "begin_call",
    "close_job",
    "end_call",
    "get_job",
    "has_successful_call",
    "insert_job",
    "job_costs",
    "job_row",
    "list_jobs",
    "mark_in_progress",
    "record_settlement",
    "set_held",
    "spent",
    "usage_by_job_type",
]

OPEN_STATUSES = ("pending", "in_progress")
# Literal SQL, not bound parameters: asyncpg would type a bare parameter as text.
_ONE: sa.ColumnClause[int] = sa.literal_column("1", sa.Integer)
_ZERO: sa.ColumnClause[int] = sa.literal_column("0", sa.Integer)


class JobRow(TypedDict):
    """A job as the store hands it to the services (JSON decoded, timestamps aware)."""

    job_id: str
    team_id: str
    job_type: str
    status: str
    metadata: dict[str, Any]
    user_id: str | None
    error_message: str | None
    credit_applied: bool
    credits_remaining_after: int | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    budget_mode: str
    tokens_per_credit: int | None
    credits_per_dollar: float | None
    markup_percent: float
    limits: dict[str, Any] | None
    credits_held: int
    credits_charged: int


_LIMITS = ("max_tokens", "max_cost_usd", "max_credits")


def _limits(row: Row) -> dict[str, Any] | None:
    limits = {k: row[f"limit_{k}"] for k in _LIMITS if row.get(f"limit_{k}") is not None}
    return limits or None


def job_row(row: Row) -> JobRow:
    """A job from a raw row of the ``jobs`` table."""
    return _job(row)


def _job(row: Row) -> JobRow:
    created_at = utc(row["created_at"])
    assert created_at is not None
    return JobRow(
        job_id=row["job_id"],
        team_id=row["team_id"],
        job_type=row["job_type"],
        status=row["status"],
        metadata=loads(row["metadata"]),
        user_id=row["user_id"],
        error_message=row["error_message"],
        credit_applied=bool(row["credit_applied"]),
        credits_remaining_after=row["credits_remaining_after"],
        created_at=created_at,
        completed_at=utc(row["completed_at"]),
        budget_mode=row.get("budget_mode") or "job_based",
        tokens_per_credit=row.get("tokens_per_credit"),
        credits_per_dollar=row.get("credits_per_dollar"),
        markup_percent=float(row.get("markup_percent") or 0.0),
        limits=_limits(row),
        credits_held=int(row.get("credits_held") or 0),
        credits_charged=int(row.get("credits_charged") or 0),
    )


async def insert_job(
    db: Database,
    *,
    job_id: str,
    team_id: str,
    job_type: str,
    metadata: dict[str, Any] | None,
    user_id: str | None,
    budget: Row | None = None,
    limits: dict[str, Any] | None = None,
) -> JobRow:
    """Insert an open job holding the one credit its creation reserved; ``budget`` is the
    team's billing settings at that moment (the job keeps them)."""
    row = await db.fetch_one(
        jobs.insert()
        .values(
            job_id=job_id,
            team_id=team_id,
            job_type=job_type,
            status="pending",
            metadata=dumps(metadata),
            user_id=user_id,
            credit_applied=False,
            created_at=utcnow(),
            credits_held=1,
            **(budget or {}),
            **{f"limit_{k}": v for k, v in (limits or {}).items() if k in _LIMITS},
        )
        .returning(*jobs.c)
    )
    assert row is not None
    return _job(row)


_GET_JOB = Statement("SELECT * FROM jobs WHERE job_id = :job_id AND team_id = :team_id")
_MARK_IN_PROGRESS = Statement(
    "UPDATE jobs SET status = 'in_progress' WHERE job_id = :job_id AND status = 'pending'"
)


async def get_job(db: Database, job_id: str, team_id: str) -> JobRow | None:
    """The job, only if it belongs to ``team_id``: another team's job does not exist."""
    row = await db.run_one(_GET_JOB, {"job_id": job_id, "team_id": team_id})
    return _job(row) if row else None


async def list_jobs(
    db: Database,
    team_id: str | None,
    *,
    status: str | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
    organization_id: str | None = None,
    job_type: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[JobRow]:
    """A page of jobs (of one team, or of every team), newest first; ``after`` is the last
    (created_at, job_id) seen."""
    query = jobs.select().where(*_job_filter(team_id, organization_id, since, until))
    if status is not None:
        query = query.where(jobs.c.status == status)
    if job_type is not None:
        query = query.where(jobs.c.job_type == job_type)
    rows = await db.fetch_all(
        newest_first(query, jobs.c.created_at, jobs.c.job_id, after=after, limit=limit)
    )
    return [_job(r) for r in rows]


def _job_filter(
    team_id: str | None,
    organization_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[Any]:
    """Jobs of a team and/or an organization's teams, created in ``[since, until)``."""
    where: list[Any] = []
    if team_id is not None:
        where.append(jobs.c.team_id == team_id)
    if organization_id is not None:
        where.append(
            jobs.c.team_id.in_(
                sa.select(teams.c.team_id).where(teams.c.organization_id == organization_id)
            )
        )
    if since is not None:
        where.append(jobs.c.created_at >= since)
    if until is not None:
        where.append(jobs.c.created_at < until)
    return where


async def abandoned(db: Database, idle_since: dt.datetime, limit: int) -> list[Row]:
    """Open jobs with no activity since ``idle_since`` (created before it, and no call made or
    still streaming after it), with whether any of their calls succeeded."""
    succeeded = (
        sa.select(calls.c.call_id)
        .where(calls.c.job_id == jobs.c.job_id, calls.c.status == "success")
        .exists()
    )
    active = (
        sa.select(calls.c.call_id)
        .where(
            calls.c.job_id == jobs.c.job_id,
            sa.or_(calls.c.created_at >= idle_since, calls.c.status == "streaming"),
        )
        .exists()
    )
    return await db.fetch_all(
        sa.select(jobs.c.job_id, jobs.c.team_id, succeeded.label("succeeded"))
        .where(jobs.c.status.in_(OPEN_STATUSES), jobs.c.created_at < idle_since, ~active)
        .order_by(jobs.c.created_at)
        .limit(limit)
    )


async def has_successful_call(db: Database, job_id: str) -> bool:
    row = await db.fetch_one(
        sa.select(
            sa.select(calls.c.call_id)
            .where(calls.c.job_id == job_id, calls.c.status == "success")
            .exists()
            .label("succeeded")
        )
    )
    return row is not None and bool(row["succeeded"])


async def mark_in_progress(db: Database, job_id: str) -> None:
    await db.run(_MARK_IN_PROGRESS, {"job_id": job_id}, fetch=False)


async def close_job(
    db: Database,
    job_id: str,
    team_id: str,
    *,
    status: str,
    error_message: str | None,
    metadata: dict[str, Any] | None,
) -> JobRow | None:
    """Move an open job to ``status``; ``None`` when it was not open (or not this team's)."""
    values: dict[str, Any] = {
        "status": status,
        "completed_at": utcnow(),
        "error_message": error_message,
    }
    if metadata is not None:
        values["metadata"] = dumps(metadata)
    row = await db.fetch_one(
        jobs.update()
        .where(
            jobs.c.job_id == job_id,
            jobs.c.team_id == team_id,
            jobs.c.status.in_(OPEN_STATUSES),
        )
        .values(**values)
        .returning(*jobs.c)
    )
    return _job(row) if row else None


async def record_settlement(
    db: Database, job_id: str, *, credits_charged: int, credits_remaining: int
) -> None:
    """Keep what completion did, so that repeating it can return the same result; the job
    holds nothing any more."""
    await db.execute(
        jobs.update()
        .where(jobs.c.job_id == job_id)
        .values(
            credit_applied=credits_charged > 0,
            credits_charged=credits_charged,
            credits_remaining_after=credits_remaining,
            credits_held=0,
            inflight_tokens=0,
            inflight_cost_usd=0.0,
        )
    )


async def begin_call(db: Database, job_id: str, tokens: int, cost_usd: float) -> Row | None:
    """Count a call's worst case as in flight on its open job (and mark the job in progress);
    as the transaction's first write it also locks the job's row, so that calls of one job
    reserve one after the other. The job's held credits and in-flight totals after it, or
    ``None`` when the job is no longer open."""
    return await db.fetch_one(
        jobs.update()
        .where(jobs.c.job_id == job_id, jobs.c.status.in_(OPEN_STATUSES))
        .values(
            status="in_progress",
            inflight_tokens=jobs.c.inflight_tokens + tokens,
            inflight_cost_usd=jobs.c.inflight_cost_usd + cost_usd,
        )
        .returning(jobs.c.credits_held, jobs.c.inflight_tokens, jobs.c.inflight_cost_usd)
    )


async def end_call(db: Database, job_id: str, tokens: int, cost_usd: float) -> Row | None:
    """A call's worst case is no longer in flight (its real figure is recorded); as
    :func:`begin_call`, ``None`` when the job was closed meanwhile (closing released it)."""
    return await db.fetch_one(
        jobs.update()
        .where(jobs.c.job_id == job_id, jobs.c.status.in_(OPEN_STATUSES))
        .values(
            inflight_tokens=jobs.c.inflight_tokens - tokens,
            inflight_cost_usd=jobs.c.inflight_cost_usd - cost_usd,
        )
        .returning(jobs.c.credits_held, jobs.c.inflight_tokens, jobs.c.inflight_cost_usd)
    )


async def set_held(db: Database, job_id: str, credits: int) -> None:
    await db.execute(jobs.update().where(jobs.c.job_id == job_id).values(credits_held=credits))


async def spent(db: Database, job_id: str) -> tuple[int, float, bool]:
    """What the job's recorded calls used: tokens, client cost in USD, and whether any
    succeeded (every call counts, failed and cut-short ones too: their tokens were used)."""
    ok = sa.case((calls.c.status == "success", _ONE), else_=_ZERO)
    row = await db.fetch_one(
        sa.select(
            sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.client_cost_usd), 0.0).label("cost"),
            sa.func.coalesce(sa.func.sum(ok), 0).label("succeeded"),
        ).where(calls.c.job_id == job_id)
    )
    assert row is not None
    return int(row["tokens"]), float(row["cost"]), int(row["succeeded"]) > 0


async def job_costs(db: Database, job_id: str) -> Row:
    """Aggregates over the job's calls."""
    ok = sa.case((calls.c.status == "success", _ONE), else_=_ZERO)
    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("total_calls"),
            sa.func.coalesce(sa.func.sum(ok), 0).label("successful_calls"),
            sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("total_tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.cost_usd), 0.0).label("total_cost_usd"),
            sa.func.coalesce(sa.func.avg(calls.c.latency_ms), 0.0).label("avg_latency_ms"),
        ).where(calls.c.job_id == job_id)
    )
    assert row is not None
    total = int(row["total_calls"])
    successful = int(row["successful_calls"])
    return {
        "total_calls": total,
        "successful_calls": successful,
        "failed_calls": total - successful,
        "total_tokens": int(row["total_tokens"]),
        "total_cost_usd": round(float(row["total_cost_usd"]), 10),
        "avg_latency_ms": round(float(row["avg_latency_ms"]), 3),
    }


async def usage_by_job_type(
    db: Database,
    team_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    *,
    organization_id: str | None = None,
) -> list[Row]:
    """Per job type: jobs, completed, failed, credits spent, and the calls' tokens and cost
    (of one team's jobs, or of an organization's teams' jobs)."""
    job_filter = _job_filter(team_id, organization_id, since, until)

    def count_if(cond: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, _ONE), else_=_ZERO)), 0)

    job_rows = await db.fetch_all(
        sa.select(
            jobs.c.job_type,
            sa.func.count().label("jobs"),
            count_if(jobs.c.status == "completed").label("completed"),
            count_if(jobs.c.status == "failed").label("failed"),
            count_if(jobs.c.credit_applied == sa.true()).label("credits"),
        )
        .where(*job_filter)
        .group_by(jobs.c.job_type)
        .order_by(jobs.c.job_type)
    )
    call_rows = await db.fetch_all(
        sa.select(
            jobs.c.job_type,
            sa.func.count(calls.c.call_id).label("calls"),
            sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.cost_usd), 0.0).label("cost_usd"),
        )
        .select_from(jobs.join(calls, calls.c.job_id == jobs.c.job_id))
        .where(*job_filter)
        .group_by(jobs.c.job_type)
    )
    by_type = {r["job_type"]: r for r in call_rows}
    out = []
    for r in job_rows:
        c = by_type.get(r["job_type"], {})
        out.append(
            {
                "job_type": r["job_type"],
                "jobs": int(r["jobs"]),
                "completed": int(r["completed"]),
                "failed": int(r["failed"]),
                "credits": int(r["credits"]),
                "calls": int(c.get("calls", 0)),
                "tokens": int(c.get("tokens", 0)),
                "cost_usd": round(float(c.get("cost_usd", 0.0)), 10),
            }
        )
    return out
