"""Brute-force protection: a client address that failed to authenticate too often in a minute
is refused (429 with ``Retry-After``) until the minute has passed — the right key included, or
the refusals would tell a guess that worked from one that did not.

A failure is a key presented and refused: a wrong admin key (API ``Bearer`` or
``/admin/login``) or a token that is neither a team's key nor the admin key. A request with a
valid team key is never checked (a tenant's calls cost nothing more, and other teams behind the
same address keep working); everything that could be a guess is. Counted in the database, in
fixed windows of :data:`WINDOW_SECONDS`, so every server process shares the count.
"""

from __future__ import annotations

import math
import time

from .. import _metrics
from .._runtime import Runtime
from ..errors import RateLimited
from ..store import auth_failures_sql

__all__ = ["WINDOW_SECONDS", "check", "failed", "forget_before"]

WINDOW_SECONDS = 60


def _window() -> tuple[int, float]:
    """(window id, seconds until it ends)."""
    now = time.time()
    window_id = int(now // WINDOW_SECONDS)
    return window_id, (window_id + 1) * WINDOW_SECONDS - now


def _refusal(left: float) -> RateLimited:
    seconds = max(1, math.ceil(left))
    return RateLimited(
        f"too many failed authentications from this address; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


async def check(runtime: Runtime, address: str) -> None:
    """Refuse ``address`` while it is locked out."""
    limit = runtime.settings.auth_failures_per_minute
    if not limit:
        return
    window_id, left = _window()
    if await auth_failures_sql.count(runtime.db, address, window_id) >= limit:
        _count("refused")
        raise _refusal(left)


async def failed(runtime: Runtime, address: str) -> None:
    """Count a failed authentication from ``address``."""
    _count("failed")
    if runtime.settings.auth_failures_per_minute:
        window_id, _ = _window()
        await auth_failures_sql.add(runtime.db, address, window_id)


async def forget_before(runtime: Runtime) -> None:
    """Drop the windows that have ended (the maintenance sweep)."""
    window_id, _ = _window()
    await auth_failures_sql.delete_before(runtime.db, window_id)


def _count(outcome: str) -> None:
    metrics = _metrics.current()
    if metrics is not None:
        metrics.auth_failures.labels(outcome).inc()
