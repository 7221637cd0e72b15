"""Housekeeping each server process runs in the background: close streamed calls whose server
died mid-stream, drop the calls in flight of a dead server and settle the jobs they held open,
settle abandoned jobs, roll ended calls and settled jobs up into the daily usage rollups, remove
calls past their retention (and keep the call log's next monthly partitions ready on
PostgreSQL), forget expired idempotency keys, old rate-limit windows, ended deployment
cooldowns, expired dashboard sessions and old webhook deliveries, apply the auto-refills that
are due. Every step is safe when several processes run it at once, and a failing step (the
database is down) is retried at the next tick."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from .._runtime import Runtime
from ..store import (
    DatabaseUnavailable,
    calls_sql,
    cooldowns_sql,
    idempotency_sql,
    rate_limits_sql,
    retention_sql,
    rollups_sql,
    sessions_sql,
    webhooks_sql,
)
from . import lockout, refills
from .jobs import settle_abandoned, settle_unsettled
from .rate_limits import current_window

__all__ = ["keep_call_log", "run_maintenance", "tick"]

logger = logging.getLogger("saas_litellm_server")


async def tick(runtime: Runtime) -> int:
    """One round of housekeeping; returns the number of abandoned jobs it settled."""
    interrupted = await calls_sql.interrupt(runtime.db)
    if interrupted:
        logger.warning(
            "closed %d streamed call(s) whose server stopped mid-stream (tokens counted to "
            "their last checkpoint)",
            interrupted,
        )
    unsettled = await settle_unsettled(runtime.db, dt.datetime.now(dt.timezone.utc))
    if unsettled:
        logger.info("settled %d job(s) whose last call's server stopped", unsettled)
    settled = await settle_abandoned(runtime.db, ttl=runtime.settings.job_ttl_seconds)
    if settled:
        logger.info("settled %d abandoned job(s)", settled)
    refilled = await refills.refill_due(runtime.db, runtime.clock())
    if refilled:
        logger.info("auto-refilled %d team(s)", refilled)
    await keep_call_log(runtime)
    await idempotency_sql.delete_expired(runtime.db)
    window_id, _ = current_window(runtime)
    await rate_limits_sql.delete_before(runtime.db, window_id - 1)
    await lockout.forget_before(runtime)
    await sessions_sql.delete_expired(runtime.db, runtime.clock())
    retention = dt.timedelta(seconds=runtime.settings.webhooks_log_retention_seconds)
    await cooldowns_sql.delete_expired(runtime.db, runtime.cooldowns.wall())
    await webhooks_sql.delete_finished_before(
        runtime.db, dt.datetime.now(dt.timezone.utc) - retention
    )
    return settled


async def keep_call_log(runtime: Runtime) -> None:
    """Roll up what ended, then remove the calls past retention (rolled up: usage figures do
    not move), then make sure the coming months have their partitions."""
    db, now = runtime.db, dt.datetime.now(dt.timezone.utc)
    await rollups_sql.roll_up(db)
    days = runtime.settings.call_retention_days
    if days is not None:
        removed = await retention_sql.remove_calls_before(db, now - dt.timedelta(days=days))
        if removed.partitions or removed.calls:
            logger.info(
                "call retention (%d days): dropped %s, deleted %d call(s)",
                days,
                ", ".join(removed.partitions) or "no partition",
                removed.calls,
            )
    created = await retention_sql.ensure_partitions(db, now=now)
    if created:
        logger.info("created the call log's partition(s) %s", ", ".join(created))


async def run_maintenance(runtime: Runtime) -> None:
    """Tick forever, every ``SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS``, until cancelled."""
    while True:
        await asyncio.sleep(runtime.settings.maintenance_interval_seconds)
        try:
            await tick(runtime)
        except DatabaseUnavailable:
            logger.warning("maintenance skipped: the database is unavailable")
        except Exception:
            logger.exception("maintenance failed; retrying at the next tick")
