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
    SQL, then VACUUM ANALYZE; return the seconds it took."""

    async def fill() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            jobs = -(-calls // CALLS_PER_JOB)
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
