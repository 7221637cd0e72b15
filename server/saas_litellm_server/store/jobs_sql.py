"""SQL for jobs: insert, look up, the one-way status transitions, and the running totals of
their calls.

A job row carries what billing needs, so that a call costs the same however deep into its job
it is: the totals of its recorded calls (``used_*``), the worst cases of its calls in flight
(``inflight_*``), the credits it holds and the caps a call's worst case must fit. A call moves
them with one statement as it begins (:func:`begin_call`) and one as it ends (in
``calls_sql.finish_call``); no statement on a call's path reads the job's other calls.
Aggregates of a job's calls, and of jobs by type, are ``usage_sql``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

import sqlalchemy as sa

from .._money import usd
from . import rollups_sql
from ._database import Database, Row, Statement
from ._util import dumps, loads, newest_first, utc, utcnow
from .schema import calls, jobs, teams

if TYPE_CHECKING:
    from .teams_sql import BudgetSettings

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "AbandonedJob",
    "JobKey",
    "JobLimits",
    "JobRow",
    "abandoned",
    "admit_call",
    "alive_until",
    "begin_call",
    "claim_settlement",
    "close_job",
    "forget_inflight",
    "get_job",
    "insert_job",
    "job_filter",
    "job_row",
    "list_jobs",
    "lock",
    "record_settlement",
    "set_hold",
    "unsettled",
]

OPEN_STATUSES = ("pending", "in_progress")
CLOSED_STATUSES = ("completed", "failed")


class JobLimits(TypedDict, total=False):
    """A job's limits as the API shows them (those it has)."""

    max_tokens: int
    max_cost_usd: float
    max_credits: int


class JobKey(TypedDict):
    job_id: str
    team_id: str


class AbandonedJob(TypedDict):
    job_id: str
    team_id: str
    succeeded: bool
    """Whether a call of it was billable."""


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
    limits: JobLimits | None
    limit_max_tokens: int | None
    limit_max_cost_micros: int | None
    limit_max_credits: int | None
    credits_held: int
    credits_charged: int
    used_tokens: int
    used_cost_micros: int
    used_calls: int
    inflight_calls: int
    inflight_tokens: int
    inflight_cost_micros: int
    settled_at: dt.datetime | None


class JobStart(TypedDict):
    """What a call needs of its job to begin: whether it is open, its billing settings and
    limits, and whether it has had a billable call (:class:`JobRow` has these too)."""

    job_id: str
    status: str
    budget_mode: str
    tokens_per_credit: int | None
    credits_per_dollar: float | None
    markup_percent: float
    limit_max_tokens: int | None
    limit_max_cost_micros: int | None
    limit_max_credits: int | None
    used_calls: int


_LIMITS = ("max_tokens", "max_cost_micros", "max_credits")


def _limits(row: Row) -> JobLimits | None:
    limits = JobLimits()
    if row.get("limit_max_tokens") is not None:
        limits["max_tokens"] = int(row["limit_max_tokens"])
    if row.get("limit_max_cost_micros") is not None:
        limits["max_cost_usd"] = usd(int(row["limit_max_cost_micros"]))
    if row.get("limit_max_credits") is not None:
        limits["max_credits"] = int(row["limit_max_credits"])
    return limits or None


def job_row(row: Row) -> JobRow:
    """A job from a raw record of the ``jobs`` table (or of some of its columns)."""
    return _job(row)


def _int(row: Row, name: str) -> int:
    return int(row.get(name) or 0)


def _optional(row: Row, name: str) -> int | None:
    value = row.get(name)
    return None if value is None else int(value)


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
        limit_max_tokens=_optional(row, "limit_max_tokens"),
        limit_max_cost_micros=_optional(row, "limit_max_cost_micros"),
        limit_max_credits=_optional(row, "limit_max_credits"),
        credits_held=_int(row, "credits_held"),
        credits_charged=_int(row, "credits_charged"),
        used_tokens=_int(row, "used_tokens"),
        used_cost_micros=_int(row, "used_cost_micros"),
        used_calls=_int(row, "used_calls"),
        inflight_calls=_int(row, "inflight_calls"),
        inflight_tokens=_int(row, "inflight_tokens"),
        inflight_cost_micros=_int(row, "inflight_cost_micros"),
        settled_at=utc(row.get("settled_at")),
    )


async def insert_job(
    db: Database,
    *,
    job_id: str,
    team_id: str,
    job_type: str,
    metadata: dict[str, Any] | None,
    user_id: str | None,
    budget: BudgetSettings | None = None,
    limits: Mapping[str, int] | None = None,
    caps: tuple[int | None, int | None] = (None, None),
) -> JobRow:
    """Insert an open job holding the one credit its creation reserved; ``budget`` is the
    team's billing settings at that moment (the job keeps them), ``limits`` its caps (tokens,
    micro-dollars, credits), ``caps`` what its calls' worst cases must fit (see
    :func:`begin_call`)."""
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
            cap_tokens=caps[0],
            cap_cost_micros=caps[1],
            **(dict(budget) if budget is not None else {}),
            **{f"limit_{k}": v for k, v in (limits or {}).items() if k in _LIMITS},
        )
        .returning(*jobs.c)
    )
    assert row is not None
    return _job(row)


_GET_JOB = Statement("SELECT * FROM jobs WHERE job_id = :job_id AND team_id = :team_id")


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
    model: str | None = None,
    has_errors: bool | None = None,
) -> list[JobRow]:
    """A page of jobs (of one team, or of every team), newest first; ``after`` is the last
    (created_at, job_id) seen. ``model``: jobs with a call to that alias; ``has_errors``:
    jobs failed or with a failed call (``False``: the others) — each an ``EXISTS`` on the
    job's calls (``ix_llm_calls_job``)."""
    query = jobs.select().where(*job_filter(team_id, organization_id, since, until))
    if status is not None:
        query = query.where(jobs.c.status == status)
    if job_type is not None:
        query = query.where(jobs.c.job_type == job_type)
    if model is not None:
        query = query.where(
            sa.select(calls.c.call_id)
            .where(calls.c.job_id == jobs.c.job_id, calls.c.model_alias == model)
            .exists()
        )
    if has_errors is not None:
        failed_call = (
            sa.select(calls.c.call_id)
            .where(calls.c.job_id == jobs.c.job_id, calls.c.status == "failed")
            .exists()
        )
        erred = sa.or_(jobs.c.status == "failed", failed_call)
        query = query.where(erred if has_errors else sa.not_(erred))
    rows = await db.fetch_all(
        newest_first(query, jobs.c.created_at, jobs.c.job_id, after=after, limit=limit)
    )
    return [_job(r) for r in rows]


def job_filter(
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


async def abandoned(db: Database, idle_since: dt.datetime, limit: int) -> list[AbandonedJob]:
    """Open jobs with no activity since ``idle_since``: created before it, no call in flight
    and none recorded after it; with whether a call of theirs was billable."""
    active = (
        sa.select(calls.c.call_id)
        .where(calls.c.job_id == jobs.c.job_id, calls.c.created_at >= idle_since)
        .exists()
    )
    rows = await db.fetch_all(
        sa.select(jobs.c.job_id, jobs.c.team_id, (jobs.c.used_calls > 0).label("succeeded"))
        .where(
            jobs.c.status.in_(OPEN_STATUSES),
            jobs.c.created_at < idle_since,
            jobs.c.inflight_calls == 0,
            ~active,
        )
        .order_by(jobs.c.created_at)
        .limit(limit)
    )
    return [
        AbandonedJob(job_id=r["job_id"], team_id=r["team_id"], succeeded=bool(r["succeeded"]))
        for r in rows
    ]


async def close_job(
    db: Database,
    job_id: str,
    team_id: str,
    *,
    status: str,
    error_message: str | None,
    metadata: dict[str, Any] | None,
) -> JobRow | None:
    """Move an open job to ``status``; ``None`` when it was not open (or not this team's).
    No call can begin on it afterwards; calls in flight still end on it."""
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


async def claim_settlement(db: Database, job_id: str, now: dt.datetime) -> JobRow | None:
    """Mark a closed job with no call in flight as settled (call inside the settling
    transaction: it locks the job's row); ``None`` when it is not such a job, or was settled
    already (by completion, by its last call's end, by another process): one settles it."""
    row = await db.fetch_one(
        jobs.update()
        .where(
            jobs.c.job_id == job_id,
            jobs.c.status.in_(CLOSED_STATUSES),
            jobs.c.inflight_calls == 0,
            jobs.c.settled_at.is_(None),
        )
        .values(settled_at=now)
        .returning(*jobs.c)
    )
    return _job(row) if row else None


async def record_settlement(
    db: Database,
    job_id: str,
    *,
    credits_charged: int,
    credits_remaining: int,
    late: JobRow | None = None,
) -> None:
    """Keep what settlement did, so that repeating a completion returns the same result; the
    job holds nothing any more. ``late``: the settled job (its row locked) that a late call
    charges more, whose daily rollup, if it has one already, takes the difference."""
    await db.execute(
        jobs.update()
        .where(jobs.c.job_id == job_id)
        .values(
            credit_applied=credits_charged > 0,
            credits_charged=credits_charged,
            credits_remaining_after=credits_remaining,
            credits_held=0,
            cap_tokens=None,
            cap_cost_micros=None,
        )
    )
    if late is not None:
        await rollups_sql.add_late_credits(
            db,
            job_id=job_id,
            team_id=late["team_id"],
            job_type=late["job_type"],
            created_at=late["created_at"],
            credits=credits_charged - late["credits_charged"],
        )


async def unsettled(db: Database, now: dt.datetime, limit: int) -> list[JobKey]:
    """Jobs the maintenance sweep must look at: closed with no call in flight but not settled
    (the process that ended their last call stopped first), or with calls in flight past the
    time they could still be alive (their process died)."""
    rows = await db.fetch_all(
        sa.select(jobs.c.job_id, jobs.c.team_id)
        .where(
            jobs.c.settled_at.is_(None),
            sa.or_(
                sa.and_(jobs.c.status.in_(CLOSED_STATUSES), jobs.c.inflight_calls == 0),
                sa.and_(jobs.c.inflight_calls > 0, jobs.c.inflight_until < now),
            ),
        )
        .limit(limit)
    )
    return [JobKey(job_id=r["job_id"], team_id=r["team_id"]) for r in rows]


async def forget_inflight(db: Database, job_id: str, now: dt.datetime) -> bool:
    """Drop the calls in flight of a job whose calls outlived every deadline (their process is
    gone: nothing of theirs will be recorded now but their checkpoints); whether it had any."""
    row = await db.fetch_one(
        jobs.update()
        .where(
            jobs.c.job_id == job_id,
            jobs.c.settled_at.is_(None),
            jobs.c.inflight_calls > 0,
            jobs.c.inflight_until < now,
        )
        .values(inflight_calls=0, inflight_tokens=0, inflight_cost_micros=0, inflight_until=None)
        .returning(jobs.c.job_id)
    )
    return row is not None


_BEGIN_SQL = """
    UPDATE jobs SET status = 'in_progress', inflight_calls = inflight_calls + 1,
        inflight_tokens = inflight_tokens + :tokens,
        inflight_cost_micros = inflight_cost_micros + :cost,
        inflight_until = CASE WHEN inflight_until IS NULL OR inflight_until < :until
            THEN :until ELSE inflight_until END
    WHERE job_id = :job_id AND team_id = :team_id AND status IN ('pending', 'in_progress')
      AND (cap_tokens IS NULL OR used_tokens + inflight_tokens + :tokens <= cap_tokens)
      AND (cap_cost_micros IS NULL
           OR used_cost_micros + inflight_cost_micros + :cost <= cap_cost_micros)
    """
_BEGIN = Statement(_BEGIN_SQL + " RETURNING job_id")
# PostgreSQL: the same, committed without waiting for the WAL to reach the disk (the setting
# applies to the statement's own transaction). Losing it in a crash of PostgreSQL loses only the
# count of a call in flight, never credits (the checked path, which moves them, stays
# synchronous), and the call's end — synchronous — makes it durable anyway.
_BEGIN_PG = Statement(  # constant SQL, every value bound
    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) "  # noqa: S608
    + _BEGIN_SQL
    + " AND EXISTS (SELECT 1 FROM relaxed) RETURNING job_id"
)


async def begin_call(
    db: Database,
    job_id: str,
    team_id: str,
    *,
    tokens: int,
    cost_micros: int,
    until: dt.datetime,
) -> bool:
    """Count a call in flight on its open job with its worst case (``tokens``, client
    ``cost_micros``; 0 when nothing is reserved), alive until ``until``, if that worst case
    fits the job's caps (what its hold covers, its limits): one statement, the hot path.
    ``False`` when it does not fit or the job is not open: :func:`lock` and
    :func:`admit_call` then decide, in a transaction."""
    values = {
        "job_id": job_id,
        "team_id": team_id,
        "tokens": tokens,
        "cost": cost_micros,
        "until": until,
    }
    return bool(await db.run(_BEGIN_PG if db.backend == "postgresql" else _BEGIN, values))


_LOCK = Statement(  # a write, so that SQLite's transaction starts with one (see _database)
    "UPDATE jobs SET job_id = job_id WHERE job_id = :job_id AND team_id = :team_id RETURNING *"
)


async def lock(db: Database, job_id: str, team_id: str) -> JobRow | None:
    """The job, its row locked for the rest of the transaction (a write: see ``_database``)."""
    row = await db.run_one(_LOCK, {"job_id": job_id, "team_id": team_id})
    return _job(row) if row else None


_ADMIT = Statement(
    "UPDATE jobs SET status = 'in_progress', inflight_calls = inflight_calls + 1, "
    "inflight_tokens = inflight_tokens + :tokens, "
    "inflight_cost_micros = inflight_cost_micros + :cost, "
    "inflight_until = CASE WHEN inflight_until IS NULL OR inflight_until < :until "
    "THEN :until ELSE inflight_until END, "
    "credits_held = :held, cap_tokens = :cap_tokens, cap_cost_micros = :cap_cost "
    "WHERE job_id = :job_id"
)


async def admit_call(
    db: Database,
    job_id: str,
    *,
    tokens: int,
    cost_micros: int,
    until: dt.datetime,
    held: int,
    caps: tuple[int | None, int | None],
) -> None:
    """:func:`begin_call` for a job locked by :func:`lock`, its hold grown to ``held`` (the
    team's row already reserved the difference) and its caps to ``caps``."""
    values = {
        "job_id": job_id,
        "tokens": tokens,
        "cost": cost_micros,
        "until": until,
        "held": held,
        "cap_tokens": caps[0],
        "cap_cost": caps[1],
    }
    await db.run(_ADMIT, values, fetch=False)


_SET_HOLD = Statement(
    "UPDATE jobs SET credits_held = :held, cap_tokens = :cap_tokens, "
    "cap_cost_micros = :cap_cost WHERE job_id = :job_id"
)


async def set_hold(
    db: Database, job_id: str, held: int, caps: tuple[int | None, int | None]
) -> None:
    """A locked open job's hold (the team's row already moved the difference) and caps."""
    values = {"job_id": job_id, "held": held, "cap_tokens": caps[0], "cap_cost": caps[1]}
    await db.run(_SET_HOLD, values, fetch=False)


async def alive_until(db: Database, job_id: str, until: dt.datetime) -> None:
    """A call of the job in flight is alive until ``until`` (a stream's checkpoint)."""
    await db.execute(
        jobs.update()
        .where(
            jobs.c.job_id == job_id,
            jobs.c.inflight_calls > 0,
            sa.or_(jobs.c.inflight_until.is_(None), jobs.c.inflight_until < until),
        )
        .values(inflight_until=until)
    )
