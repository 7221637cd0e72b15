"""Figures for the operator's dashboard: totals, calls and spend per day and per model, the
teams that spend most, and the admin's view of one job. Aggregation is the store's
(``store.usage_sql``); this module shapes it into typed values, so no template computes a figure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from saas_litellm_models import JobDetail

from .._money import usd
from .._runtime import TeamContext
from ..errors import NotFound
from ..store import Database, keys_sql, teams_sql, usage_sql
from . import jobs

__all__ = [
    "CallTotals",
    "KeySpend",
    "Overview",
    "day_start",
    "get_job",
    "overview",
    "spend_by_key",
    "usage_by_day",
    "usage_by_model",
]


@dataclass(frozen=True)
class CallTotals:
    """Calls of one day, one model or one team: how many, how many failed, tokens, cost."""

    label: str
    calls: int
    errors: int
    tokens: int
    cost_micros: int
    """The client cost, in whole micro-dollars."""

    @property
    def cost_usd(self) -> float:
        return usd(self.cost_micros)

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class KeySpend:
    """Calls one virtual key of a team made: its name and prefix (never the key), or none
    for calls recorded before keys were (``key_id`` ``""``)."""

    key_id: str
    name: str | None
    prefix: str | None
    calls: int
    tokens: int
    cost_micros: int

    @property
    def cost_usd(self) -> float:
        return usd(self.cost_micros)


@dataclass(frozen=True)
class Overview:
    organizations: int
    teams: int
    suspended_teams: int
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    jobs_today: int
    today: CallTotals
    """Calls made today (UTC)."""
    period: CallTotals
    """Calls over the charted period."""
    days: list[CallTotals]
    by_model: list[CallTotals]
    top_teams: list[CallTotals]


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight (UTC) of ``now``'s day."""
    utc = now.astimezone(dt.timezone.utc)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def _call_totals(row: usage_sql.CallTotalsRow) -> CallTotals:
    return CallTotals(row["label"], row["calls"], row["errors"], row["tokens"], row["cost_micros"])


def _totals(label: str, rows: list[CallTotals]) -> CallTotals:
    return CallTotals(
        label,
        sum(r.calls for r in rows),
        sum(r.errors for r in rows),
        sum(r.tokens for r in rows),
        sum(r.cost_micros for r in rows),
    )


async def usage_by_day(
    db: Database, now: dt.datetime, *, days: int, team_id: str | None = None
) -> list[CallTotals]:
    """One entry per UTC day of the last ``days`` (today included, empty days as zero)."""
    first = day_start(now) - dt.timedelta(days=days - 1)
    rows = {r["label"]: r for r in await usage_sql.calls_by_day(db, team_id=team_id, since=first)}
    out = []
    for i in range(days):
        day = (first + dt.timedelta(days=i)).date().isoformat()
        r = rows.get(day)
        out.append(_call_totals(r) if r else CallTotals(day, 0, 0, 0, 0))
    return out


async def usage_by_model(
    db: Database, *, since: dt.datetime | None, team_id: str | None = None
) -> list[CallTotals]:
    rows = await usage_sql.calls_by_model(db, team_id=team_id, since=since)
    return [_call_totals(r) for r in rows]


async def spend_by_key(db: Database, team_id: str) -> list[KeySpend]:
    """The team's calls per virtual key (its keys' names and prefixes, revoked keys too),
    costliest first; from the per-key rollups and the calls not rolled up yet."""
    listed = {k["key_id"]: k for k in await keys_sql.list_keys(db, team_id)}
    out = []
    for r in await usage_sql.calls_by_key(db, team_id=team_id):
        key = listed.get(r["key_id"])
        out.append(
            KeySpend(
                key_id=r["key_id"],
                name=key["name"] if key else None,
                prefix=key["prefix"] if key else None,
                calls=r["calls"],
                tokens=r["tokens"],
                cost_micros=r["cost_micros"],
            )
        )
    return out


async def overview(db: Database, now: dt.datetime, *, days: int = 14) -> Overview:
    """Everything the dashboard's first page shows."""
    totals = await usage_sql.credit_totals(db)
    series = await usage_by_day(db, now, days=days)
    first = day_start(now) - dt.timedelta(days=days - 1)
    top = [_call_totals(r) for r in await usage_sql.top_teams(db, since=first, limit=10)]
    return Overview(
        **totals,
        jobs_today=await usage_sql.job_count(db, since=day_start(now)),
        today=series[-1],
        period=_totals(f"last {days} days", series),
        days=series,
        by_model=await usage_by_model(db, since=first),
        top_teams=top,
    )


async def get_job(db: Database, team_id: str, job_id: str) -> JobDetail:
    """A team's job with its calls, as the operator sees it (the team's view, plus each call's
    provider cost)."""
    row = await teams_sql.get_team(db, team_id)
    if row is None:
        raise NotFound(f"team {team_id!r} not found")
    team = TeamContext(team_id=team_id, status=row["status"], default_model=row["default_model"])
    return await jobs.get_job(db, team, job_id, operator=True)
