"""Every aggregate of usage and spend, in SQL: a job's calls (``services.jobs``, the job's
webhook), usage per job type of a team or an organization (``services.teams``), and the
operator's overview — totals, calls and spend per day and per model, top teams by spend
(``services.stats``). The services only shape what these return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa

from .._money import usd
from ._database import Database, Row
from .jobs_sql import JobRow
from .rollups_sql import SUMS
from .schema import call_rollups, calls, job_rollups, jobs, key_rollups, organizations, teams

__all__ = [
    "GROUPS",
    "CallTotalsRow",
    "CreditTotals",
    "JobCallTotals",
    "JobTypeUsageRow",
    "KeyTotalsRow",
    "ReportRow",
    "calls_by_day",
    "calls_by_key",
    "calls_by_model",
    "credit_totals",
    "job_costs",
    "job_count",
    "top_teams",
    "usage_by_job_type",
    "usage_report",
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


class KeyTotalsRow(TypedDict):
    """Calls one virtual key made (``key_id`` ``""``: calls recorded before keys were)."""

    key_id: str
    calls: int
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


def _midnight(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class _Window:
    """A ``[since, until)`` window cut into the whole UTC days the rollups answer (from
    ``first`` to ``end``; ``whole`` is false when there is none) and the parts of days at its
    ends that only raw calls can answer (``edges``: exact while those calls are kept)."""

    first: dt.datetime | None
    end: dt.datetime | None
    edges: tuple[tuple[dt.datetime | None, dt.datetime | None], ...]
    whole: bool = True

    @classmethod
    def of(cls, since: dt.datetime | None, until: dt.datetime | None) -> _Window:
        if since is not None and until is not None and since >= until:
            return cls(None, None, (), whole=False)
        first = None
        if since is not None:
            first = _midnight(since)
            if first < since:
                if first.date() == dt.date.max:
                    return cls(None, None, ((since, until),), whole=False)  # the last day
                first += dt.timedelta(days=1)
        end = _midnight(until) if until is not None else None
        if first is not None and end is not None and first >= end:
            return cls(None, None, ((since, until),), whole=False)  # within a day or two
        edges: list[tuple[dt.datetime | None, dt.datetime | None]] = []
        if since is not None and first is not None and since < first:
            edges.append((since, first))
        if until is not None and end is not None and end < until:
            edges.append((end, until))
        return cls(first, end, tuple(edges))

    def days(self, column: Any) -> list[Any]:
        """The whole days, on a rollup's ``day``."""
        where = []
        if self.first is not None:
            where.append(column >= self.first.date().isoformat())
        if self.end is not None:
            where.append(column < self.end.date().isoformat())
        return where


def _range(column: Any, lo: dt.datetime | None, hi: dt.datetime | None) -> list[Any]:
    where = []
    if lo is not None:
        where.append(column >= lo)
    if hi is not None:
        where.append(column < hi)
    return where


def _if(condition: Any) -> Any:
    return sa.case((condition, _ONE), else_=_ZERO)


def _scoped(query: Any, team: Any, organization: Any, scope: _Scope) -> Any:
    """``query`` narrowed to one team or one organization (its columns ``team`` and
    ``organization``)."""
    if scope.team_id is not None:
        query = query.where(team == scope.team_id)
    if scope.organization_id is not None:
        query = query.where(organization == scope.organization_id)
    return query


@dataclass(frozen=True)
class _Scope:
    team_id: str | None = None
    organization_id: str | None = None


def _rolled_and_raw(
    name: str,
    rolled: Any,
    day: Any,
    raw: Any,
    created_at: Any,
    rolled_up: Any,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Any:
    """The rows of ``[since, until)``: ``rolled`` (a rollup's, by its ``day``) for its whole
    days, ``raw`` (the same columns from the raw rows) not rolled up yet in those days, and
    ``raw`` of the parts of days at its ends. One statement reads them all, so a concurrent
    roll-up (which moves rows from raw to rolled up in one transaction) never shows twice."""
    window = _Window.of(since, until)
    parts = []
    if window.whole:
        parts += [
            rolled.where(*window.days(day)),
            raw.where(~rolled_up, *_range(created_at, window.first, window.end)),
        ]
    parts += [raw.where(*_range(created_at, lo, hi)) for lo, hi in window.edges]
    if not parts:
        parts.append(rolled.where(sa.false()))
    return sa.union_all(*parts).subquery(name)


def _calls(
    db: Database,
    *,
    team_id: str | None = None,
    organization_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Any:
    """Every ended call of the window, as rows of (day, team, organization, job type, model
    alias, sums)."""
    scope = _Scope(team_id, organization_id)
    r, c = call_rollups.c, calls.c
    rolled = sa.select(
        r.day, r.team_id, r.organization_id, r.job_type, r.model_alias, *(r[s] for s in SUMS)
    )
    raw = (
        sa.select(
            _day(db, c.created_at).label("day"),
            c.team_id,
            teams.c.organization_id,
            jobs.c.job_type,
            c.model_alias,
            _ONE.label("calls"),
            _if(c.status == "success").label("successes"),
            _if(c.status == "failed").label("failures"),
            c.prompt_tokens,
            c.completion_tokens,
            c.total_tokens,
            c.provider_cost_micros,
            c.client_cost_micros,
        )
        .select_from(
            calls.join(jobs, jobs.c.job_id == c.job_id).join(teams, teams.c.team_id == c.team_id)
        )
        .where(c.status != "streaming")
    )
    return _rolled_and_raw(
        "usage_calls",
        _scoped(rolled, r.team_id, r.organization_id, scope),
        r.day,
        _scoped(raw, c.team_id, teams.c.organization_id, scope),
        c.created_at,
        c.rolled_up,
        since,
        until,
    )


def _jobs(
    db: Database,
    *,
    team_id: str | None = None,
    organization_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Any:
    """Every job created in the window, as :func:`_calls` does for calls: (day, team,
    organization, job type, jobs, completed, failed, credits)."""
    scope = _Scope(team_id, organization_id)
    r, j = job_rollups.c, jobs.c
    rolled = sa.select(r.day, r.team_id, r.organization_id, r.job_type, *(r[s] for s in _JOB_SUMS))
    raw = sa.select(
        _day(db, j.created_at).label("day"),
        j.team_id,
        teams.c.organization_id,
        j.job_type,
        _ONE.label("jobs"),
        _if(j.status == "completed").label("completed"),
        _if(j.status == "failed").label("failed"),
        j.credits_charged.label("credits"),
    ).select_from(jobs.join(teams, teams.c.team_id == j.team_id))
    return _rolled_and_raw(
        "usage_jobs",
        _scoped(rolled, r.team_id, r.organization_id, scope),
        r.day,
        _scoped(raw, j.team_id, teams.c.organization_id, scope),
        j.created_at,
        j.rolled_up,
        since,
        until,
    )


_JOB_SUMS = ("jobs", "completed", "failed", "credits")


def _keyed_calls(
    db: Database, *, team_id: str, since: dt.datetime | None, until: dt.datetime | None
) -> Any:
    """A team's ended calls of the window per virtual key and day, as :func:`_calls` reads
    calls: ``key_rollups`` for what is rolled up, the raw rows for the rest."""
    r, c = key_rollups.c, calls.c
    rolled = sa.select(r.day, r.key_id, r.calls, r.total_tokens, r.client_cost_micros).where(
        r.team_id == team_id
    )
    raw = sa.select(
        _day(db, c.created_at).label("day"),
        sa.func.coalesce(c.key_id, "").label("key_id"),
        _ONE.label("calls"),
        c.total_tokens,
        c.client_cost_micros,
    ).where(c.status != "streaming", c.team_id == team_id)
    return _rolled_and_raw(
        "usage_keys", rolled, r.day, raw, c.created_at, c.rolled_up, since, until
    )


async def calls_by_key(
    db: Database,
    *,
    team_id: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[KeyTotalsRow]:
    """Per virtual key of the team: calls, tokens and client cost, costliest first."""
    source = _keyed_calls(db, team_id=team_id, since=since, until=until)
    rows = await db.fetch_all(
        sa.select(
            source.c.key_id,
            _sum(source.c.calls).label("calls"),
            _sum(source.c.total_tokens).label("tokens"),
            _sum(source.c.client_cost_micros).label("cost_micros"),
        )
        .group_by(source.c.key_id)
        .order_by(sa.desc("cost_micros"), source.c.key_id)
    )
    return [
        KeyTotalsRow(
            key_id=str(r["key_id"]),
            calls=int(r["calls"]),
            tokens=int(r["tokens"]),
            cost_micros=int(r["cost_micros"]),
        )
        for r in rows
    ]


def _sum(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _call_row(r: Row, key: str) -> CallTotalsRow:
    return CallTotalsRow(
        label=str(r[key]),
        calls=int(r["calls"]),
        errors=int(r["errors"]),
        tokens=int(r["tokens"]),
        cost_micros=int(r["cost_micros"]),
    )


def _call_columns(source: Any) -> list[Any]:
    return [
        _sum(source.c.calls).label("calls"),
        _sum(source.c.failures).label("errors"),
        _sum(source.c.total_tokens).label("tokens"),
        _sum(source.c.client_cost_micros).label("cost_micros"),
    ]


async def calls_by_day(
    db: Database, *, team_id: str | None, since: dt.datetime, until: dt.datetime | None = None
) -> list[CallTotalsRow]:
    """Per UTC day (``YYYY-MM-DD``) with calls: calls, failed calls, tokens and cost, oldest
    day first."""
    source = _calls(db, team_id=team_id, since=since, until=until)
    rows = await db.fetch_all(
        sa.select(source.c.day, *_call_columns(source))
        .group_by(source.c.day)
        .order_by(source.c.day)
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
    source = _calls(db, team_id=team_id, since=since, until=until)
    rows = await db.fetch_all(
        sa.select(source.c.model_alias, *_call_columns(source))
        .group_by(source.c.model_alias)
        .order_by(sa.desc("cost_micros"), source.c.model_alias)
    )
    return [_call_row(r, "model_alias") for r in rows]


async def top_teams(db: Database, *, since: dt.datetime | None, limit: int) -> list[CallTotalsRow]:
    """The teams that spent most (calls' cost) since ``since``."""
    source = _calls(db, since=since)
    rows = await db.fetch_all(
        sa.select(source.c.team_id, *_call_columns(source))
        .group_by(source.c.team_id)
        .order_by(sa.desc("cost_micros"), source.c.team_id)
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
    """Per job type (of one team, or of an organization's teams): the jobs created in the
    window (how many, completed, failed, credits charged) and the calls made in it (how many,
    tokens, client cost), from the daily rollups and what is not rolled up yet."""
    scope = {"team_id": team_id, "organization_id": organization_id}
    job_source = _jobs(db, since=since, until=until, **scope)
    job_rows = await db.fetch_all(
        sa.select(
            job_source.c.job_type,
            _sum(job_source.c.jobs).label("jobs"),
            _sum(job_source.c.completed).label("completed"),
            _sum(job_source.c.failed).label("failed"),
            _sum(job_source.c.credits).label("credits"),
        ).group_by(job_source.c.job_type)
    )
    call_source = _calls(db, since=since, until=until, **scope)
    call_rows = await db.fetch_all(
        sa.select(
            call_source.c.job_type,
            _sum(call_source.c.calls).label("calls"),
            _sum(call_source.c.total_tokens).label("tokens"),
            _sum(call_source.c.client_cost_micros).label("cost_micros"),
        ).group_by(call_source.c.job_type)
    )
    by_type: dict[str, dict[str, int]] = {
        r["job_type"]: {
            "jobs": int(r["jobs"]),
            "completed": int(r["completed"]),
            "failed": int(r["failed"]),
            "credits": int(r["credits"]),
        }
        for r in job_rows
    }
    for r in call_rows:
        counts = by_type.setdefault(
            r["job_type"], {"jobs": 0, "completed": 0, "failed": 0, "credits": 0}
        )
        counts.update(
            calls=int(r["calls"]), tokens=int(r["tokens"]), cost_micros=int(r["cost_micros"])
        )
    return [
        JobTypeUsageRow(
            job_type=job_type,
            jobs=c["jobs"],
            completed=c["completed"],
            failed=c["failed"],
            credits=c["credits"],
            calls=c.get("calls", 0),
            tokens=c.get("tokens", 0),
            cost_usd=usd(c.get("cost_micros", 0)),
        )
        for job_type, c in sorted(by_type.items())
    ]


GROUPS = {
    "team": "team_id",
    "organization": "organization_id",
    "job_type": "job_type",
    "model": "model_alias",
    "day": "day",
}
"""A usage report's ``group_by``: the column of :func:`_calls` (and :func:`_jobs`) it groups."""


class ReportRow(TypedDict):
    """One group of a usage report: its calls' sums (``SUMS``) and, unless grouped by model
    (jobs have no model), its jobs' (``None`` then)."""

    group: str
    calls: int
    successes: int
    failures: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    provider_cost_micros: int
    client_cost_micros: int
    jobs: int | None
    completed: int | None
    failed: int | None
    credits: int | None


async def usage_report(
    db: Database, group_by: str, *, since: dt.datetime | None, until: dt.datetime | None
) -> list[ReportRow]:
    """Every team's usage in the window, one row per group (``GROUPS``), in the group's order:
    the same sources as every other usage figure."""
    column = GROUPS[group_by]
    call_source = _calls(db, since=since, until=until)
    call_rows = await db.fetch_all(
        sa.select(
            call_source.c[column].label("grp"), *(_sum(call_source.c[n]).label(n) for n in SUMS)
        ).group_by(call_source.c[column])
    )
    out: dict[str, ReportRow] = {}
    with_jobs = group_by != "model"
    nothing = 0 if with_jobs else None
    for r in call_rows:
        out[str(r["grp"])] = ReportRow(
            group=str(r["grp"]),
            **{n: int(r[n]) for n in SUMS},  # type: ignore[typeddict-item]
            jobs=nothing,
            completed=nothing,
            failed=nothing,
            credits=nothing,
        )
    if with_jobs:
        job_source = _jobs(db, since=since, until=until)
        job_rows = await db.fetch_all(
            sa.select(
                job_source.c[column].label("grp"),
                *(_sum(job_source.c[n]).label(n) for n in _JOB_SUMS),
            ).group_by(job_source.c[column])
        )
        for r in job_rows:
            row = out.setdefault(
                str(r["grp"]),
                ReportRow(
                    group=str(r["grp"]),
                    **dict.fromkeys(SUMS, 0),  # type: ignore[typeddict-item]
                    jobs=0,
                    completed=0,
                    failed=0,
                    credits=0,
                ),
            )
            for n in _JOB_SUMS:
                row[n] = int(r[n])  # type: ignore[literal-required]
    return [out[key] for key in sorted(out)]
