"""The call log over time: its monthly partitions on PostgreSQL, and removing calls older than
the retention (``SAAS_LITELLM_CALL_RETENTION_DAYS``).

On PostgreSQL ``llm_calls`` is partitioned by month of ``created_at`` (PostgreSQL's declarative
partitioning): :func:`ensure_partitions` keeps a partition ready for this month and the next
:data:`MONTHS_AHEAD` (at start-up and every sweep, so an insert always finds its partition). A
month past the retention is detached (``DETACH PARTITION … CONCURRENTLY``: no lock that stops
reads or writes of the other months) and dropped whole; the calls of the month that straddles
the cut-off go in small batched deletes. On SQLite, batched deletes alone, each a short
transaction of its own. Only calls already rolled up are removed (``store.rollups_sql``), so
usage figures do not change.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from ._database import Database, Statement

__all__ = [
    "MONTHS_AHEAD",
    "Removed",
    "ensure_partitions",
    "month_start",
    "partition_ddl",
    "partitions",
    "remove_calls_before",
]

logger = logging.getLogger("saas_litellm_server")

MONTHS_AHEAD = 2
"""Months after the current one that have their partition already."""
_BATCH = 5000
_PARTITION_LOCK_KEY = 0x5AA5_2012
_NAME = re.compile(r"^llm_calls_p(\d{4})(\d{2})$")


def month_start(moment: dt.datetime) -> dt.datetime:
    """The first instant (UTC) of ``moment``'s month."""
    utc = moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment
    return dt.datetime(utc.year, utc.month, 1, tzinfo=dt.timezone.utc)


def _next_month(month: dt.datetime) -> dt.datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _name(month: dt.datetime) -> str:
    return f"llm_calls_p{month:%Y%m}"


def partition_ddl(month: dt.datetime) -> str:
    """The statement that creates the partition of ``month`` (its first instant, UTC)."""
    lo, hi = month, _next_month(month)
    return (
        f"CREATE TABLE IF NOT EXISTS {_name(month)} PARTITION OF llm_calls "
        f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    )


_PARTITIONS = (
    "SELECT c.relname AS name, i.inhdetachpending AS pending FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'llm_calls'::regclass"
)


async def partitions(db: Database) -> dict[dt.datetime, bool]:
    """PostgreSQL: the months with a partition, and whether it is half detached (a detach that
    was interrupted: :func:`remove_calls_before` finishes it)."""
    out: dict[dt.datetime, bool] = {}
    for row in await db.fetch_all(_PARTITIONS):
        found = _NAME.match(row["name"])
        if found:
            month = dt.datetime(int(found[1]), int(found[2]), 1, tzinfo=dt.timezone.utc)
            out[month] = bool(row["pending"])
    return out


async def ensure_partitions(
    db: Database, *, now: dt.datetime, start: dt.datetime | None = None
) -> list[str]:
    """PostgreSQL: create the missing partitions from ``start``'s month (default: ``now``'s)
    to :data:`MONTHS_AHEAD` after ``now``'s; the names of those created. A no-op on SQLite."""
    if db.backend != "postgresql":
        return []
    last = month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    wanted = []
    month = month_start(start if start is not None and start < now else now)
    while month <= last:
        wanted.append(month)
        month = _next_month(month)
    have = await partitions(db)
    missing = [m for m in wanted if m not in have]
    if not missing:
        return []
    async with db.transaction():
        # One process at a time; a creation waits at most 5 s for the table's lock.
        await db.execute(f"SELECT pg_advisory_xact_lock({_PARTITION_LOCK_KEY})")
        await db.execute("SELECT set_config('lock_timeout', '5s', true)")
        have = await partitions(db)
        created = []
        for month in missing:
            if month not in have:
                await db.execute(partition_ddl(month))
                created.append(_name(month))
    return created


class Removed:
    """What :func:`remove_calls_before` removed."""

    __slots__ = ("calls", "partitions")

    def __init__(self) -> None:
        self.partitions: list[str] = []
        """Whole months dropped (PostgreSQL)."""
        self.calls = 0
        """Calls deleted one batch at a time."""


_DELETE_SQLITE = Statement(
    "DELETE FROM llm_calls WHERE rowid IN (SELECT rowid FROM llm_calls "
    "WHERE created_at < :cutoff AND rolled_up LIMIT :limit)"
)
_DELETE_POSTGRES = Statement(
    "WITH gone AS (DELETE FROM llm_calls WHERE (call_id, created_at) IN ("
    "SELECT call_id, created_at FROM llm_calls WHERE created_at < :cutoff AND rolled_up "
    "LIMIT :limit) RETURNING 1) SELECT count(*) AS n FROM gone"
)
_COUNT_SQLITE = Statement("SELECT changes() AS n")


async def remove_calls_before(
    db: Database, cutoff: dt.datetime, *, batches: int = 20, batch: int = _BATCH
) -> Removed:
    """Remove the calls that started before ``cutoff`` and are rolled up: on PostgreSQL whole
    months first, then at most ``batches`` batched deletes (a backlog goes at the next
    sweeps)."""
    removed = Removed()
    if db.backend == "postgresql":
        removed.partitions = await _drop_months_before(db, cutoff)
    for _ in range(batches):
        n = await _delete_batch(db, cutoff, batch)
        removed.calls += n
        if n < batch:
            break
    return removed


async def _delete_batch(db: Database, cutoff: dt.datetime, limit: int) -> int:
    values = {"cutoff": cutoff, "limit": limit}
    if db.backend == "postgresql":
        rows = await db.run(_DELETE_POSTGRES, values)
        return int(rows[0]["n"])
    async with db.transaction():
        await db.run(_DELETE_SQLITE, values, fetch=False)
        rows = await db.run(_COUNT_SQLITE, {})
    return int(rows[0]["n"])


async def _drop_months_before(db: Database, cutoff: dt.datetime) -> list[str]:
    """Detach and drop the partitions whose whole month is before ``cutoff`` and whose calls
    are all rolled up. Never the partition of the current month (an insert needs it)."""
    dropped = []
    for month, pending in sorted((await partitions(db)).items()):
        if _next_month(month) > cutoff:
            break
        name = _name(month)
        if not pending:
            unrolled = await db.fetch_val(
                f"SELECT 1 FROM {name} WHERE NOT rolled_up LIMIT 1"  # noqa: S608
            )
            if unrolled:
                logger.info("partition %s past retention waits for its rollups", name)
                continue
            # Outside a transaction, as CONCURRENTLY requires: it waits for the queries that
            # use the table and blocks none of them.
            await db.execute(f"ALTER TABLE llm_calls DETACH PARTITION {name} CONCURRENTLY")
        else:
            await db.execute(f"ALTER TABLE llm_calls DETACH PARTITION {name} FINALIZE")
        await db.execute(f"DROP TABLE {name}")
        dropped.append(name)
    return dropped
