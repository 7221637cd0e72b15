"""Auto-refill: a team's ``{amount, period, mode}``, applied once per UTC period.

Each period has a key — ``2026-12-03`` (daily), ``2026-W49`` (ISO week, weekly), ``2026-12``
(monthly) — and a team stores the key of the period it was last refilled in. A refill is one
conditional update of the team's row that moves that key forward and adds the credits; so
however many processes try at once, one of them refills, and a server that was down for two
periods refills once when it comes back (the stored key is behind, it becomes the current one).
Every process's maintenance sweep applies the refills that are due; a job create that finds no
credit applies its team's, if due, before it refuses.
"""

from __future__ import annotations

import datetime as dt

from saas_litellm_models import AutoRefillRequest, Team

from ..errors import NotFound
from ..store import Database, teams_sql
from . import audit, credit_events
from .audit import Operator

__all__ = ["delete_auto_refill", "period_keys", "refill_due", "refill_team", "set_auto_refill"]


def period_keys(now: dt.datetime) -> dict[str, str]:
    """The key of the current period of each kind, in UTC (keys of one kind sort in time)."""
    day = now.astimezone(dt.timezone.utc).date()
    year, week, _ = day.isocalendar()
    return {
        "daily": day.isoformat(),
        "weekly": f"{year:04d}-W{week:02d}",
        "monthly": f"{day.year:04d}-{day.month:02d}",
    }


async def refill_team(db: Database, team_id: str, now: dt.datetime) -> bool:
    """Refill the team if its refill for the current period is due; whether credits were
    added (a top-up of a team at or above its amount adds none, but uses up the period)."""
    async with db.transaction():
        result = await teams_sql.apply_refill(db, team_id, period_keys(now), now)
        if result is None:
            return False
        after, added, key = result
        if added:
            await credit_events.refilled(db, after, added, key)
    return added > 0


async def refill_due(db: Database, now: dt.datetime, *, batch: int = 500) -> int:
    """Apply every refill due at ``now`` (the maintenance sweep); how many added credits."""
    refilled = 0
    for team_id in await teams_sql.refills_due(db, period_keys(now), batch):
        if await refill_team(db, team_id, now):
            refilled += 1
    return refilled


async def set_auto_refill(
    db: Database, team_id: str, body: AutoRefillRequest, by: Operator
) -> Team:
    """Set the team's auto-refill; it applies at the next sweep (or job create) of a period
    not yet refilled. Setting the same period again keeps the period last refilled."""
    return await _change(db, team_id, body.model_dump(), by, "team.auto_refill_set")


async def delete_auto_refill(db: Database, team_id: str, by: Operator) -> Team:
    """Turn the team's auto-refill off."""
    return await _change(db, team_id, None, by, "team.auto_refill_delete")


async def _change(
    db: Database, team_id: str, refill: dict[str, object] | None, by: Operator, action: str
) -> Team:
    async with db.transaction():
        if not await teams_sql.lock_team(db, team_id):
            raise NotFound(f"team {team_id!r} not found")
        before = await teams_sql.get_team(db, team_id)
        await teams_sql.set_auto_refill(db, team_id, refill)
        after = await teams_sql.get_team(db, team_id)
        assert before is not None
        assert after is not None
        old, new = audit.changed(before, after)
        if new:
            await audit.record(db, by, action, f"team:{team_id}", before=old, after=new)
    return Team.model_validate(after)
