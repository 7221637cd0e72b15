"""The benchmark's databases: throw-away PostgreSQL databases, pre-filled ``llm_calls`` rows, and
the count of calls each server recorded."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = [
    "create_database",
    "drop_database",
    "postgres_reachable",
    "prefill_calls",
    "prefill_year",
    "recorded_calls",
    "with_database",
]

CALLS_PER_JOB = 10


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def postgres_reachable(url: str) -> str | None:
    """``None`` when PostgreSQL answers at ``url``, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        await conn.close()

    try:
        _run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def create_database(admin_url: str, name: str) -> str:
    """(Re)create database ``name``; return its URL."""
    _run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    _run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_JOBS = """
INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, created_at,
                  completed_at, settled_at)
SELECT md5('fill-job-' || g)::uuid::text, $1, 'prefill', 'completed', '{}', false,
       now() - make_interval(secs => g), now() - make_interval(secs => g),
       now() - make_interval(secs => g)
FROM generate_series(0, $2 - 1) AS g
"""
_CALLS = f"""
INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, deployment, provider, status,
                       streamed, prompt_tokens, completion_tokens, total_tokens,
                       provider_cost_micros, client_cost_micros, latency_ms, finish_reason,
                       metadata, created_at)
SELECT md5('fill-call-' || g)::uuid::text, md5('fill-job-' || (g / {CALLS_PER_JOB}))::uuid::text,
       $1, 'bench', 'fast', 'openai', 'success', false, 9, 12, 21, 32, 32, 1.5, 'stop', '{{}}',
       now() - make_interval(secs => g)
FROM generate_series(0, $2 - 1) AS g
"""


def prefill_calls(url: str, team_id: str, calls: int) -> float:
    """Insert ``calls`` llm_calls rows (and the jobs they belong to) for ``team_id`` straight in
    SQL, one a second back from now, the partitions of the months they reach created first
    (the server creates this month's and the next ones'); then VACUUM ANALYZE; return the
    seconds it took."""
    import datetime as dt

    from saas_litellm_server.store.retention_sql import month_start, partition_ddl

    now = dt.datetime.now(dt.timezone.utc)
    month, months = month_start(now - dt.timedelta(seconds=calls + 60)), []
    while month <= month_start(now):
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)

    async def fill() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            jobs = -(-calls // CALLS_PER_JOB)
            for month in months:
                await conn.execute(partition_ddl(month))
            async with conn.transaction():
                await conn.execute(_JOBS, team_id, jobs)
                await conn.execute(_CALLS, team_id, calls)
            await conn.execute("VACUUM ANALYZE jobs")
            await conn.execute("VACUUM ANALYZE llm_calls")
            await conn.execute("CHECKPOINT")  # now, rather than during the measurements
        finally:
            await conn.close()

    start = time.monotonic()
    _run(fill())
    return time.monotonic() - start


_COUNT = "SELECT streamed, status, count(*) FROM llm_calls WHERE team_id = {p} GROUP BY 1, 2"


def recorded_calls(database_url: str, team_id: str) -> dict[str, int]:
    """Rows in ``llm_calls`` for ``team_id`` by kind: ``{"call/success": n, "stream/failed": m}``,
    plus ``"all rows"`` (every team's)."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        with sqlite3.connect(path) as conn:
            rows = conn.execute(_COUNT.format(p="?"), (team_id,)).fetchall()
            total = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    else:

        async def fetch() -> tuple[list[Any], int]:
            conn = await asyncpg.connect(database_url, timeout=10)
            try:
                rows = await conn.fetch(_COUNT.format(p="$1"), team_id)
                total = await conn.fetchval("SELECT count(*) FROM llm_calls")
                return [tuple(r) for r in rows], int(total)
            finally:
                await conn.close()

        rows, total = _run(fetch())
    out = {f"{'stream' if streamed else 'call'}/{status}": int(n) for streamed, status, n in rows}
    out["all rows"] = int(total)
    return out


# -- a year of calls (bench/call_log.py) -----------------------------------------------------

YEAR_ALIASES = ("bench", "bench-mini", "bench-large")
YEAR_JOB_TYPES = ("summarize", "classify", "extract", "chat")
_YEAR_CHUNK = 1_000_000  # calls per INSERT (one transaction each)

# Call g (0 = the oldest) of job g / 10 starts at $3 + g * $4 seconds; its job was created a
# second before its first call. Rows $5 and over are the tail: not rolled up yet, in the last
# minute. Aliases, job types, statuses and tokens vary with g (about 2 % of calls failed, 2.5 %
# of jobs failed; every job settled).
_YEAR_JOBS = f"""
INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, credits_charged,
                  created_at, completed_at, settled_at, rolled_up)
SELECT md5('year-job-' || j)::uuid::text, $1,
       (ARRAY{list(YEAR_JOB_TYPES)!r})[j % {len(YEAR_JOB_TYPES)} + 1],
       CASE WHEN j % 40 = 3 THEN 'failed' ELSE 'completed' END, '{{}}', j % 40 <> 3,
       CASE WHEN j % 40 = 3 THEN 0 ELSE 1 END, at - interval '1 second', at + 10 * $4::interval,
       at + 10 * $4::interval, j * {CALLS_PER_JOB} < $5::bigint
FROM generate_series($2::bigint, $6::bigint - 1) AS j,
     LATERAL (SELECT $3::timestamptz + j * {CALLS_PER_JOB} * $4::interval AS at) AS t
"""
_YEAR_CALLS = f"""
INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, deployment, provider, status,
                       streamed, prompt_tokens, completion_tokens, total_tokens, latency_ms,
                       finish_reason, metadata, created_at, provider_cost_micros,
                       client_cost_micros, rolled_up)
SELECT md5('year-call-' || g)::uuid::text, md5('year-job-' || (g / {CALLS_PER_JOB}))::uuid::text,
       $1, (ARRAY{list(YEAR_ALIASES)!r})[g % {len(YEAR_ALIASES)} + 1], 'fast', 'openai',
       CASE WHEN g % 50 = 7 THEN 'failed' ELSE 'success' END, false,
       9 + g % 7, 12 + g % 11, 21 + g % 7 + g % 11, 1.5, 'stop', '{{}}',
       $3::timestamptz + g * $4::interval,
       30 + g % 5, 36 + g % 5, g < $5::bigint
FROM generate_series($2::bigint, $6::bigint - 1) AS g
"""
# What the maintenance sweep would have made of the rolled-up rows (store.rollups_sql: the day
# is the UTC day of created_at, 'YYYY-MM-DD'; a call's row is joined to its job and team).
_YEAR_CALL_ROLLUPS = """
INSERT INTO call_rollups (day, team_id, organization_id, job_type, model_alias, calls,
                          successes, failures, prompt_tokens, completion_tokens, total_tokens,
                          provider_cost_micros, client_cost_micros)
SELECT {day}, c.team_id, t.organization_id, j.job_type, c.model_alias, count(*),
       sum(CASE WHEN c.status = 'success' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'failed' THEN 1 ELSE 0 END), sum(c.prompt_tokens),
       sum(c.completion_tokens), sum(c.total_tokens), sum(c.provider_cost_micros),
       sum(c.client_cost_micros)
FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id JOIN teams t ON t.team_id = c.team_id
WHERE c.team_id = $1 AND c.rolled_up GROUP BY 1, 2, 3, 4, 5
"""
_YEAR_JOB_ROLLUPS = """
INSERT INTO job_rollups (day, team_id, organization_id, job_type, jobs, completed, failed,
                         credits)
SELECT {day}, j.team_id, t.organization_id, j.job_type, count(*),
       sum(CASE WHEN j.status = 'completed' THEN 1 ELSE 0 END),
       sum(CASE WHEN j.status = 'failed' THEN 1 ELSE 0 END), sum(j.credits_charged)
FROM jobs j JOIN teams t ON t.team_id = j.team_id
WHERE j.team_id = $1 AND j.rolled_up GROUP BY 1, 2, 3, 4
"""
_PARTS = "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'llm_calls'::regclass"
_SIZES = f"""
SELECT (SELECT count(*) FROM ({_PARTS}) p) AS partitions,
       (SELECT coalesce(sum(pg_table_size(inhrelid)), 0) FROM ({_PARTS}) p) AS calls_table,
       (SELECT coalesce(sum(pg_indexes_size(inhrelid)), 0) FROM ({_PARTS}) p) AS calls_indexes,
       pg_total_relation_size('jobs') AS jobs,
       pg_total_relation_size('call_rollups') AS call_rollups,
       pg_total_relation_size('job_rollups') AS job_rollups,
       (SELECT count(*) FROM llm_calls) AS calls_rows,
       (SELECT count(*) FROM llm_calls WHERE NOT rolled_up) AS calls_not_rolled_up,
       (SELECT count(*) FROM jobs) AS jobs_rows,
       (SELECT count(*) FROM call_rollups) AS call_rollups_rows,
       (SELECT count(*) FROM job_rollups) AS job_rollups_rows,
       pg_database_size(current_database()) AS database
"""


def prefill_year(
    url: str,
    team_id: str,
    calls: int,
    *,
    tail: int = 100,
    days: int = 365,
    progress: Any = None,
) -> dict[str, Any]:
    """A year of ``team_id``'s history straight in SQL, as the maintenance sweep would have left
    it: ``calls`` llm_calls rows (10 per job, over the last ``days`` days, the partitions of
    every month created first), all but the last ``tail`` (the last minute's: calls since the
    last sweep) rolled up with their settled jobs into ``call_rollups``/``job_rollups``; then
    VACUUM ANALYZE and CHECKPOINT. Returns the seconds of each step and the sizes
    (:data:`_SIZES`)."""
    import datetime as dt

    from saas_litellm_server.store.retention_sql import MONTHS_AHEAD, month_start, partition_ddl
    from saas_litellm_server.store.rollups_sql import day_sql

    calls = max(calls, tail)
    jobs = -(-calls // CALLS_PER_JOB)
    tail_start = (calls - tail) // CALLS_PER_JOB * CALLS_PER_JOB  # a job is wholly in or out
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = now - dt.timedelta(days=days)
    # the history from start to a minute ago, the tail in the last minute
    history_step = dt.timedelta(days=days, minutes=-2) / max(1, tail_start)
    tail_step = dt.timedelta(seconds=50) / max(1, calls - tail_start)
    say = progress or (lambda text: None)

    async def fill() -> dict[str, Any]:
        conn = await asyncpg.connect(url, timeout=10)
        timings: dict[str, float] = {}

        async def step(name: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
            began = time.monotonic()
            for sql, args in statements:
                await conn.execute(sql, *args)
            timings[name] = timings.get(name, 0.0) + time.monotonic() - began

        try:
            month, months = month_start(start), []
            last = month_start(now)
            for _ in range(MONTHS_AHEAD):
                last = (last + dt.timedelta(days=32)).replace(day=1)
            while month <= last:
                months.append(month)
                month = (month + dt.timedelta(days=32)).replace(day=1)
            await step("partitions", *((partition_ddl(m), ()) for m in months))
            tail_at = now - dt.timedelta(minutes=1)
            for lo in range(0, tail_start, _YEAR_CHUNK):
                hi = min(tail_start, lo + _YEAR_CHUNK)
                args = (team_id, lo, start, history_step, tail_start, hi)
                await step(
                    "jobs",
                    (_YEAR_JOBS, (team_id, lo // CALLS_PER_JOB, *args[2:5], hi // CALLS_PER_JOB)),
                )
                await step("calls", (_YEAR_CALLS, args))
                say(f"  {hi:,} of {calls:,} calls ({sum(timings.values()):.0f} s)")
            # the tail: g counts from tail_start again, placed in the last minute
            tail_origin = tail_at - tail_start * tail_step
            args = (team_id, tail_start, tail_origin, tail_step, tail_start, calls)
            await step(
                "jobs",
                (
                    _YEAR_JOBS,
                    (team_id, tail_start // CALLS_PER_JOB, *args[2:5], jobs),
                ),
            )
            await step("calls", (_YEAR_CALLS, args))
            day_calls = day_sql("postgresql", "c.created_at")
            day_jobs = day_sql("postgresql", "j.created_at")
            await step(
                "rollups",
                (_YEAR_CALL_ROLLUPS.format(day=day_calls), (team_id,)),
                (_YEAR_JOB_ROLLUPS.format(day=day_jobs), (team_id,)),
            )
            say(f"  rolled up ({sum(timings.values()):.0f} s); VACUUM ANALYZE, CHECKPOINT")
            await step(
                "vacuum analyze",
                *((f"VACUUM ANALYZE {t}", ()) for t in ("jobs", "llm_calls")),
                *((f"VACUUM ANALYZE {t}", ()) for t in ("call_rollups", "job_rollups", "teams")),
            )
            await step("checkpoint", ("CHECKPOINT", ()))
            sizes = dict(await conn.fetchrow(_SIZES))
        finally:
            await conn.close()
        return {"timings": timings, "sizes": sizes, "calls": calls, "tail": calls - tail_start}

    began = time.monotonic()
    result: dict[str, Any] = _run(fill())
    result["seconds"] = time.monotonic() - began
    return result
