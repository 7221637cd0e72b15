"""SQL that keeps the daily rollups (``call_rollups``, ``job_rollups``, and ``key_rollups``: a
team's spend per virtual key, added in the same statement or transaction as ``call_rollups``):
usage figures are read from them plus the few rows not rolled up yet (``store.usage_sql``).

A row is rolled up once it can no longer change — a call once it ended (a call's record is
final then: ``calls_sql`` never rewrites an ended call), a job once it was settled — and exactly
once: the step that adds it to its day's sums marks it ``rolled_up`` in the same transaction. So
at any moment each ended call is in exactly one of the two places a usage query reads, whatever
runs concurrently (calls ending, streams checkpointing, other processes' sweeps). The one change
to a settled job, a late charge (``services.billing.charge_late``), moves its rollup too if it
was rolled up already (:func:`add_late_credits`).

Rolling up is the maintenance sweep's (:func:`roll_up`), in batches of :data:`BATCH` rows, so
that no transaction is long and the hot path is never slower for it.
"""

from __future__ import annotations

import datetime as dt

from ._database import Database

__all__ = [
    "BATCH",
    "KEY_SUMS",
    "SUMS",
    "add_late_credits",
    "day_sql",
    "roll_up",
    "roll_up_calls",
    "roll_up_jobs",
]

BATCH = 5000
"""Rows one transaction rolls up."""

_ROLLUP_LOCK_KEY = 0x5AA5_2011  # one sweep at a time rolls up (PostgreSQL; SQLite has one writer)


def day_sql(backend: str, column: str) -> str:
    """SQL for the UTC day of a timestamp column as ``YYYY-MM-DD`` (SQLite stores UTC text)."""
    if backend == "sqlite":
        return f"substr({column}, 1, 10)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _call_sums(prefix: str) -> str:
    """The sums a call adds to its rollup, over rows named ``prefix``."""
    p = prefix
    return (
        "count(*), "
        f"sum(CASE WHEN {p}.status = 'success' THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {p}.status = 'failed' THEN 1 ELSE 0 END), "
        f"sum({p}.prompt_tokens), sum({p}.completion_tokens), sum({p}.total_tokens), "
        f"sum({p}.provider_cost_micros), sum({p}.client_cost_micros)"
    )


SUMS = (
    "calls",
    "successes",
    "failures",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "provider_cost_micros",
    "client_cost_micros",
)
"""The sums of a ``call_rollups`` row (after its key)."""
_CALL_COLUMNS = "day, team_id, organization_id, job_type, model_alias, " + ", ".join(SUMS)
_CALL_ADD = (
    " ON CONFLICT (day, team_id, organization_id, job_type, model_alias) DO UPDATE SET "
    + ", ".join(f"{c} = call_rollups.{c} + excluded.{c}" for c in SUMS)
)
KEY_SUMS = ("calls", "total_tokens", "client_cost_micros")
"""The sums of a ``key_rollups`` row (after its key: day, team, virtual key)."""
_KEY_COLUMNS = "day, team_id, key_id, " + ", ".join(KEY_SUMS)
_KEY_ADD = " ON CONFLICT (day, team_id, key_id) DO UPDATE SET " + ", ".join(
    f"{c} = key_rollups.{c} + excluded.{c}" for c in KEY_SUMS
)


def _key_sums(prefix: str) -> str:
    """The sums a call adds to its key's rollup (no key: ``''``, a key column is never null)."""
    p = prefix
    return f"coalesce({p}.key_id, ''), count(*), sum({p}.total_tokens), sum({p}.client_cost_micros)"


_JOB_COLUMNS = "day, team_id, organization_id, job_type, jobs, completed, failed, credits"
_JOB_ADD = (
    " ON CONFLICT (day, team_id, organization_id, job_type) DO UPDATE SET "
    + ", ".join(f"{c} = job_rollups.{c} + excluded.{c}" for c in ("jobs", "completed", "failed"))
    + ", credits = job_rollups.credits + excluded.credits"
)
_JOB_SUMS = (
    "count(*), sum(CASE WHEN j.status = 'completed' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN j.status = 'failed' THEN 1 ELSE 0 END), sum(j.credits_charged)"
)


def _calls_postgres() -> str:
    day = day_sql("postgresql", "m.created_at")
    return (
        "WITH batch AS (SELECT call_id, created_at FROM llm_calls "  # noqa: S608
        "WHERE NOT rolled_up AND status <> 'streaming' ORDER BY created_at LIMIT :limit "
        "FOR UPDATE SKIP LOCKED), "
        "marked AS (UPDATE llm_calls c SET rolled_up = TRUE FROM batch b "
        "WHERE c.call_id = b.call_id AND c.created_at = b.created_at "
        "RETURNING c.created_at, c.job_id, c.team_id, c.key_id, c.model_alias, c.status, "
        "c.prompt_tokens, c.completion_tokens, c.total_tokens, c.provider_cost_micros, "
        "c.client_cost_micros), "
        f"added AS (INSERT INTO call_rollups ({_CALL_COLUMNS}) "
        f"SELECT {day}, m.team_id, t.organization_id, j.job_type, m.model_alias, "
        f"{_call_sums('m')} FROM marked m JOIN jobs j ON j.job_id = m.job_id "
        "JOIN teams t ON t.team_id = m.team_id "
        "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        f"{_CALL_ADD}), "
        f"keyed AS (INSERT INTO key_rollups ({_KEY_COLUMNS}) "
        f"SELECT {day}, m.team_id, {_key_sums('m')} FROM marked m "
        f"GROUP BY 1, 2, 3 ORDER BY 1, 2, 3{_KEY_ADD}) "
        "SELECT count(*) FROM marked"
    )


def _jobs_postgres() -> str:
    day = day_sql("postgresql", "j.created_at")
    return (
        "WITH marked AS (UPDATE jobs SET rolled_up = TRUE WHERE job_id IN ("  # noqa: S608
        "SELECT job_id FROM jobs WHERE NOT rolled_up AND settled_at IS NOT NULL "
        "ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED) "
        "RETURNING created_at, team_id, job_type, status, credits_charged), "
        f"added AS (INSERT INTO job_rollups ({_JOB_COLUMNS}) "
        f"SELECT {day}, j.team_id, t.organization_id, j.job_type, {_JOB_SUMS} "
        "FROM marked j JOIN teams t ON t.team_id = j.team_id "
        f"GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4{_JOB_ADD}) "
        "SELECT count(*) FROM marked"
    )


# SQLite: the batch (its rowids, in a fixed order) is read twice in one write transaction, in
# which nothing else can write: the sums, then the marks.
_CALL_BATCH = (
    "SELECT rowid FROM llm_calls WHERE NOT rolled_up AND status <> 'streaming' "
    "ORDER BY created_at, rowid LIMIT :limit"
)
_JOB_BATCH = (
    "SELECT rowid FROM jobs WHERE NOT rolled_up AND settled_at IS NOT NULL "
    "ORDER BY created_at, rowid LIMIT :limit"
)


def _calls_sqlite() -> list[str]:
    day = day_sql("sqlite", "c.created_at")
    return [
        f"INSERT INTO call_rollups ({_CALL_COLUMNS}) "  # noqa: S608
        f"SELECT {day}, c.team_id, t.organization_id, j.job_type, c.model_alias, "
        f"{_call_sums('c')} FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id "
        f"JOIN teams t ON t.team_id = c.team_id WHERE c.rowid IN ({_CALL_BATCH}) "
        f"GROUP BY 1, 2, 3, 4, 5{_CALL_ADD}",
        f"INSERT INTO key_rollups ({_KEY_COLUMNS}) "  # noqa: S608
        f"SELECT {day}, c.team_id, {_key_sums('c')} FROM llm_calls c "
        f"WHERE c.rowid IN ({_CALL_BATCH}) GROUP BY 1, 2, 3{_KEY_ADD}",
        f"SELECT count(*) FROM ({_CALL_BATCH})",  # noqa: S608
        f"UPDATE llm_calls SET rolled_up = 1 WHERE rowid IN ({_CALL_BATCH})",  # noqa: S608
    ]


def _jobs_sqlite() -> list[str]:
    day = day_sql("sqlite", "j.created_at")
    return [
        f"INSERT INTO job_rollups ({_JOB_COLUMNS}) "  # noqa: S608
        f"SELECT {day}, j.team_id, t.organization_id, j.job_type, {_JOB_SUMS} "
        f"FROM jobs j JOIN teams t ON t.team_id = j.team_id WHERE j.rowid IN ({_JOB_BATCH}) "
        f"GROUP BY 1, 2, 3, 4{_JOB_ADD}",
        f"SELECT count(*) FROM ({_JOB_BATCH})",  # noqa: S608
        f"UPDATE jobs SET rolled_up = 1 WHERE rowid IN ({_JOB_BATCH})",  # noqa: S608
    ]


async def _batch(db: Database, postgres: str, sqlite: list[str], limit: int) -> int:
    """One batch, one transaction; the rows it rolled up."""
    values = {"limit": limit}
    if db.backend == "postgresql":
        async with db.transaction():
            if not await db.fetch_val(f"SELECT pg_try_advisory_xact_lock({_ROLLUP_LOCK_KEY})"):
                return 0  # another process is rolling up: its sweep does it
            return int(await db.fetch_val(postgres, values) or 0)
    *sums, counted, mark = sqlite
    async with db.transaction():
        for statement in sums:  # a write first: SQLite's write lock
            await db.execute(statement, values)
        count = await db.fetch_val(counted, values)
        await db.execute(mark, values)
        return int(count or 0)


async def roll_up_calls(db: Database, *, limit: int = BATCH) -> int:
    """Roll up at most ``limit`` ended calls, the oldest first; how many."""
    return await _batch(db, _calls_postgres(), _calls_sqlite(), limit)


async def roll_up_jobs(db: Database, *, limit: int = BATCH) -> int:
    """Roll up at most ``limit`` settled jobs, the oldest first; how many."""
    return await _batch(db, _jobs_postgres(), _jobs_sqlite(), limit)


async def roll_up(db: Database, *, batches: int = 20) -> tuple[int, int]:
    """Roll up what ended since the last time, in at most ``batches`` batches of each kind
    (a backlog is taken over the next sweeps); the calls and jobs rolled up."""
    done = [0, 0]
    for i, step in enumerate((roll_up_calls, roll_up_jobs)):
        for _ in range(batches):
            n = await step(db)
            done[i] += n
            if n < BATCH:
                break
    return done[0], done[1]


async def add_late_credits(
    db: Database,
    *,
    job_id: str,
    team_id: str,
    job_type: str,
    created_at: dt.datetime | str,
    credits: int,
) -> None:
    """A settled job was charged ``credits`` more (inside the charging transaction, its row
    locked): if it was rolled up already, its day's rollup gets them too."""
    if not credits:
        return
    day = _day_of(created_at)
    await db.execute(
        f"INSERT INTO job_rollups ({_JOB_COLUMNS}) "  # noqa: S608
        "SELECT :day, t.team_id, t.organization_id, :job_type, 0, 0, 0, :credits "
        "FROM teams t JOIN jobs j ON j.job_id = :job_id AND j.rolled_up "
        f"WHERE t.team_id = :team_id{_JOB_ADD}",
        {
            "day": day,
            "job_type": job_type,
            "credits": credits,
            "job_id": job_id,
            "team_id": team_id,
        },
    )


def _day_of(created_at: dt.datetime | str) -> str:
    if isinstance(created_at, dt.datetime):
        if created_at.tzinfo is not None:
            created_at = created_at.astimezone(dt.timezone.utc)
        return created_at.date().isoformat()
    return created_at[:10]  # SQLite's UTC text
