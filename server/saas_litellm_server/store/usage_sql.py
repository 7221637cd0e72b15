"""Every aggregate of usage and spend, in SQL: a job's calls (``services.jobs``, the job's
webhook), usage per job type of a team or an organization (``services.teams``), and the
operator's overview — totals, calls and spend per day and per model, top teams by spend
(``services.stats``). The services only shape what these return."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

import sqlalchemy as sa

from .._money import usd
from ._database import Database, Row
from .jobs_sql import JobRow, job_filter
from .schema import calls, jobs, organizations, teams

__all__ = [
    "CallTotalsRow",
    "CreditTotals",
    "JobCallTotals",
    "JobTypeUsageRow",
    "calls_by_day",
    "calls_by_model",
    "credit_totals",
    "job_costs",
    "job_count",
    "top_teams",
    "usage_by_job_type",
]

# Literal SQL, not bound parameters: asyncpg would type a bare parameter as text.
_ONE: sa.ColumnClause[int] = sa.literal_column("1", sa.Integer)
_ZERO: sa.ColumnClause[int] = sa.literal_column("0", sa.Integer)


class CallTotalsRow(TypedDict):
    """Calls of one day, one model alias or one team (``label``): how many, how many failed,
    tokens and client cost."""

    label: str
    calls: int
    errors: int
    tokens: int
    cost_micros: int


class CreditTotals(TypedDict):
    organizations: int
    teams: int
    suspended_teams: int
    credits_allocated: int
    credits_used: int
    credits_reserved: int


class JobCallTotals(TypedDict):
    """A job's calls, as its costs show them."""

    total_calls: int
    successful_calls: int
    failed_calls: int
    cancelled_calls: int
    calls_in_flight: int
    total_tokens: int
    total_cost_usd: float
    avg_latency_ms: float


class JobTypeUsageRow(TypedDict):
    job_type: str
    jobs: int
    completed: int
    failed: int
    credits: int
    calls: int
    tokens: int
    cost_usd: float


def _day(db: Database, column: Any) -> Any:
    """The UTC day of a timestamp as ``YYYY-MM-DD`` (SQLite stores UTC text)."""
    if db.backend == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")


def _call_filter(
    team_id: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> list[Any]:
    where: list[Any] = []
    if team_id is not None:
        where.append(calls.c.team_id == team_id)
    if since is not None:
        where.append(calls.c.created_at >= since)
    if until is not None:
        where.append(calls.c.created_at < until)
    return where


def _errors() -> Any:
    return sa.func.coalesce(
        sa.func.sum(sa.case((calls.c.status == "failed", _ONE), else_=_ZERO)), 0
    )


def _call_row(r: Row, key: str) -> CallTotalsRow:
    return CallTotalsRow(
        label=str(r[key]),
        calls=int(r["calls"]),
        errors=int(r["errors"]),
        tokens=int(r["tokens"]),
        cost_micros=int(r["cost_micros"]),
    )


def _call_columns() -> list[Any]:
    return [
        sa.func.count().label("calls"),
        _errors().label("errors"),
        sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
        sa.func.coalesce(sa.func.sum(calls.c.client_cost_micros), 0).label("cost_micros"),
    ]


async def calls_by_day(
    db: Database, *, team_id: str | None, since: dt.datetime, until: dt.datetime | None = None
) -> list[CallTotalsRow]:
    """Per UTC day (``YYYY-MM-DD``) with calls: calls, failed calls, tokens and cost, oldest
    day first."""
    day = _day(db, calls.c.created_at).label("day")
    rows = await db.fetch_all(
        sa.select(day, *_call_columns())
        .where(*_call_filter(team_id, since, until))
        .group_by(day)
        .order_by(day)
    )
    return [_call_row(r, "day") for r in rows]


async def calls_by_model(
    db: Database,
    *,
    team_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None = None,
) -> list[CallTotalsRow]:
    """Per model alias asked for: calls, failed calls, tokens and cost, costliest first."""
    rows = await db.fetch_all(
        sa.select(calls.c.model_alias, *_call_columns())
        .where(*_call_filter(team_id, since, until))
        .group_by(calls.c.model_alias)
        .order_by(sa.desc("cost_micros"), calls.c.model_alias)
    )
    return [_call_row(r, "model_alias") for r in rows]


async def top_teams(db: Database, *, since: dt.datetime | None, limit: int) -> list[CallTotalsRow]:
    """The teams that spent most (calls' cost) since ``since``."""
    rows = await db.fetch_all(
        sa.select(calls.c.team_id, *_call_columns())
        .where(*_call_filter(None, since, None))
        .group_by(calls.c.team_id)
        .order_by(sa.desc("cost_micros"), calls.c.team_id)
        .limit(limit)
    )
    return [_call_row(r, "team_id") for r in rows]


async def credit_totals(db: Database) -> CreditTotals:
    """Live organizations and teams, and the teams' credits allocated, used and reserved."""
    live = teams.c.deleted_at.is_(None)
    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("teams"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_allocated), 0).label("allocated"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_used), 0).label("used"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_reserved), 0).label("reserved"),
            sa.func.coalesce(
                sa.func.sum(sa.case((teams.c.status == "suspended", _ONE), else_=_ZERO)), 0
            ).label("suspended"),
        ).where(live)
    )
    orgs = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(organizations)
        .where(organizations.c.deleted_at.is_(None))
    )
    assert row is not None
    return CreditTotals(
        organizations=int(orgs or 0),
        teams=int(row["teams"]),
        suspended_teams=int(row["suspended"]),
        credits_allocated=int(row["allocated"]),
        credits_used=int(row["used"]),
        credits_reserved=int(row["reserved"]),
    )


async def job_count(db: Database, *, since: dt.datetime) -> int:
    """Jobs created at or after ``since``."""
    value = await db.fetch_val(
        sa.select(sa.func.count()).select_from(jobs).where(jobs.c.created_at >= since)
    )
    return int(value or 0)


async def job_costs(db: Database, job: JobRow) -> JobCallTotals:
    """The job's calls: counts by status, average latency, tokens and client cost, from its
    recorded calls (a call still ``streaming`` counts only once it ends). Not from the job's
    running totals: a job_based job's calls after its first billable one do not move them."""

    def count_if(status: str) -> Any:
        return sa.func.coalesce(
            sa.func.sum(sa.case((calls.c.status == status, _ONE), else_=_ZERO)), 0
        )

    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("total_calls"),
            count_if("success").label("successful_calls"),
            count_if("failed").label("failed_calls"),
            count_if("cancelled").label("cancelled_calls"),
            sa.func.coalesce(sa.func.avg(calls.c.latency_ms), 0.0).label("avg_latency_ms"),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((calls.c.status == "streaming", _ZERO), else_=calls.c.total_tokens)
                ),
                0,
            ).label("tokens"),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (calls.c.status == "streaming", _ZERO), else_=calls.c.client_cost_micros
                    )
                ),
                0,
            ).label("cost_micros"),
        ).where(calls.c.job_id == job["job_id"])
    )
    assert row is not None
    return JobCallTotals(
        total_calls=int(row["total_calls"]),
        successful_calls=int(row["successful_calls"]),
        failed_calls=int(row["failed_calls"]),
        cancelled_calls=int(row["cancelled_calls"]),
        calls_in_flight=job["inflight_calls"],
        total_tokens=int(row["tokens"]),
        total_cost_usd=usd(int(row["cost_micros"])),
        avg_latency_ms=round(float(row["avg_latency_ms"]), 3),
    )


async def usage_by_job_type(
    db: Database,
    team_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    *,
    organization_id: str | None = None,
) -> list[JobTypeUsageRow]:
    """Per job type: jobs, completed, failed, credits spent, and the calls' tokens and cost
    (of one team's jobs, or of an organization's teams' jobs)."""
    where = job_filter(team_id, organization_id, since, until)

    def count_if(cond: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, _ONE), else_=_ZERO)), 0)

    job_rows = await db.fetch_all(
        sa.select(
            jobs.c.job_type,
            sa.func.count().label("jobs"),
            count_if(jobs.c.status == "completed").label("completed"),
            count_if(jobs.c.status == "failed").label("failed"),
            sa.func.coalesce(sa.func.sum(jobs.c.credits_charged), 0).label("credits"),
        )
        .where(*where)
        .group_by(jobs.c.job_type)
        .order_by(jobs.c.job_type)
    )
    call_rows = await db.fetch_all(
        sa.select(
            jobs.c.job_type,
            sa.func.count(calls.c.call_id).label("calls"),
            sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
            sa.func.coalesce(sa.func.sum(calls.c.client_cost_micros), 0).label("cost_micros"),
        )
        .select_from(jobs.join(calls, calls.c.job_id == jobs.c.job_id))
        .where(*where)
        .group_by(jobs.c.job_type)
    )
    by_type = {r["job_type"]: r for r in call_rows}
    out = []
    for r in job_rows:
        c = by_type.get(r["job_type"], {})
        out.append(
            JobTypeUsageRow(
                job_type=r["job_type"],
                jobs=int(r["jobs"]),
                completed=int(r["completed"]),
                failed=int(r["failed"]),
                credits=int(r["credits"]),
                calls=int(c.get("calls", 0)),
                tokens=int(c.get("tokens", 0)),
                cost_usd=usd(int(c.get("cost_micros", 0))),
            )
        )
    return out
