"""Per-team rate limits: LLM requests per minute (``rpm_limit``) and tokens per minute
(``tpm_limit``), counted in fixed windows in the database so that every server process sharing
it enforces the same limits. Teams without limits pay nothing for this.

A request is admitted if its window has room for one more request and its tokens so far are under
the limit; the call's tokens are added in the statement that records it (a window may overshoot its
token limit by the last call's tokens, as with any pre-admission scheme). A refusal is ``429
rate_limited`` with ``Retry-After``: the seconds until the window ends.
"""

from __future__ import annotations

import math
import time

from .._runtime import Runtime, TeamContext
from ..errors import RateLimited
from ..store import rate_limits_sql

__all__ = ["admit", "current_window"]


def current_window(runtime: Runtime) -> tuple[int, float]:
    """(window id, seconds until it ends)."""
    length = runtime.settings.rate_limit_window_seconds
    now = time.time()
    window_id = int(now // length)
    return window_id, (window_id + 1) * length - now


async def admit(runtime: Runtime, team: TeamContext) -> int | None:
    """Count this call against the team's limits; returns its window (``None``: unlimited)."""
    if not team.limited:
        return None
    window_id, left = current_window(runtime)
    if await rate_limits_sql.admit(
        runtime.db, team.team_id, window_id, rpm=team.rpm_limit, tpm=team.tpm_limit
    ):
        return window_id
    requests, _ = await rate_limits_sql.window_usage(runtime.db, team.team_id, window_id)
    which = (
        f"{team.rpm_limit} requests"
        if team.rpm_limit is not None and requests >= team.rpm_limit
        else f"{team.tpm_limit} tokens"
    )
    seconds = max(1, math.ceil(left))
    raise RateLimited(
        f"team {team.team_id!r} reached its limit of {which} per "
        f"{runtime.settings.rate_limit_window_seconds:g} s; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )
