"""Deployment cooldowns: a deployment that keeps failing is skipped for a while.

After ``failures`` consecutive retryable failures a deployment cools down for ``seconds``; routing
then tries the alias's other deployments first, and tries it again once the period is over (a
success resets its count).

Each process counts consecutive failures on its own, but a cooldown, once started, is shared
through the database (``deployment_cooldowns``): the process that starts it writes it, and every
process reads the table every :data:`SYNC_SECONDS` (:func:`sync_forever`), so that a deployment
that fails in one process is skipped by all of them within that time.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ..store import Database, DatabaseUnavailable, cooldowns_sql

__all__ = ["SYNC_SECONDS", "Cooldowns", "shared_key", "sync_forever"]

SYNC_SECONDS = 0.5
"""How often each process reads the cooldowns the others started."""

logger = logging.getLogger("saas_litellm_server.upstream")


def shared_key(key: Hashable) -> str:
    """The database's name for a deployment's identity (a fixed-length digest)."""
    return hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()


@dataclass
class _Health:
    failures: int = 0
    until: float = 0.0


class Cooldowns:
    """The cooldowns of one process; with ``db`` set, shared with the others on the database
    (the writes go out in the background: routing does not wait for them)."""

    def __init__(
        self,
        *,
        failures: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        db: Database | None = None,
    ) -> None:
        self.failures = failures
        self.seconds = seconds
        self.clock = clock
        self.wall = wall
        self.db = db
        self._health: dict[Hashable, _Health] = {}
        self._shared: dict[str, float] = {}  # shared key -> end of its cooldown on ``clock``
        self._writes: set[asyncio.Task[None]] = set()

    def cooling(self, key: Hashable) -> bool:
        now = self.clock()
        health = self._health.get(key)
        if health is not None and health.until > now:
            return True
        return bool(self._shared) and self._shared.get(shared_key(key), 0.0) > now

    def failed(self, key: Hashable) -> None:
        health = self._health.setdefault(key, _Health())
        health.failures += 1
        if health.failures >= self.failures:
            health.failures = 0
            health.until = self.clock() + self.seconds
            self._write(cooldowns_sql.start, shared_key(key), self.wall() + self.seconds)

    def succeeded(self, key: Hashable) -> None:
        cooling = self.cooling(key)
        self._health.pop(key, None)
        if cooling:  # tried while cooling (every deployment was) and it worked: over for all
            digest = shared_key(key)
            self._shared.pop(digest, None)
            self._write(cooldowns_sql.clear, digest)

    def absorb(self, active: dict[str, float]) -> None:
        """Take the cooldowns the database holds (shared key -> end, seconds since the epoch)."""
        offset = self.clock() - self.wall()
        self._shared = {key: until + offset for key, until in active.items()}

    async def sync(self) -> None:
        """Read the cooldowns every process started (nothing without a database)."""
        if self.db is not None:
            self.absorb(await cooldowns_sql.active(self.db, self.wall()))

    async def drain(self) -> None:
        """Wait for the writes under way (tests; shutdown)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _write(self, step: Callable[..., Awaitable[None]], *args: Any) -> None:
        if self.db is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # a context of its own: not the request's transaction, nor its record of writes
        task = contextvars.Context().run(loop.create_task, self._run(step, *args))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _run(self, step: Callable[..., Awaitable[None]], *args: Any) -> None:
        assert self.db is not None
        try:
            await step(self.db, *args)
        except DatabaseUnavailable:
            logger.warning("could not share a deployment cooldown: the database is unavailable")
        except Exception:
            logger.exception("could not share a deployment cooldown")


async def sync_forever(cooldowns: Cooldowns, *, seconds: float = SYNC_SECONDS) -> None:
    """Read the shared cooldowns every ``seconds`` until cancelled."""
    while True:
        try:
            await cooldowns.sync()
        except DatabaseUnavailable:
            pass  # the requests say so; cooldowns resume with the database
        except Exception:
            logger.exception("could not read the shared deployment cooldowns")
        await asyncio.sleep(seconds)
