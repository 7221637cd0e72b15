"""Aggregates for the operator's overview: totals, calls and spend per day and per model, top
teams by spend. Every figure is computed here, in SQL, and handed to ``services.stats``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ._database import Database, Row
from .schema import calls, jobs, organizations, teams

__all__ = ["calls_by_day", "calls_by_model", "credit_totals", "job_count", "top_teams"]

_ONE: sa.ColumnClause[int] = sa.literal_column("1", sa.Integer)
_ZERO: sa.ColumnClause[int] = sa.literal_column("0", sa.Integer)


def _day(db: Database, column: Any) -> Any:
    """The UTC day of a timestamp as ``YYYY-MM-DD`` (SQLite stores UTC text)."""
    if db.backend == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")


def _call_filter(
    team_id: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> list[Any]:
    where: list[Any] = []
    if team_id is not None:
        where.append(calls.c.team_id == team_id)
    if since is not None:
        where.append(calls.c.created_at >= since)
    if until is not None:
        where.append(calls.c.created_at < until)
    return where


def _errors() -> Any:
    return sa.func.coalesce(
        sa.func.sum(sa.case((calls.c.status == "failed", _ONE), else_=_ZERO)), 0
    )


def _call_row(r: Row, key: str) -> dict[str, Any]:
    return {
        key: r[key],
        "calls": int(r["calls"]),
        "errors": int(r["errors"]),
        "tokens": int(r["tokens"]),
        "cost_micros": int(r["cost_micros"]),
    }


def _call_columns() -> list[Any]:
    return [
        sa.func.count().label("calls"),
        _errors().label("errors"),
        sa.func.coalesce(sa.func.sum(calls.c.total_tokens), 0).label("tokens"),
        sa.func.coalesce(sa.func.sum(calls.c.client_cost_micros), 0).label("cost_micros"),
    ]


async def calls_by_day(
    db: Database, *, team_id: str | None, since: dt.datetime, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Per UTC day with calls: calls, failed calls, tokens and cost, oldest day first."""
    day = _day(db, calls.c.created_at).label("day")
    rows = await db.fetch_all(
        sa.select(day, *_call_columns())
        .where(*_call_filter(team_id, since, until))
        .group_by(day)
        .order_by(day)
    )
    return [_call_row(r, "day") for r in rows]


async def calls_by_model(
    db: Database,
    *,
    team_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per model alias asked for: calls, failed calls, tokens and cost, costliest first."""
    rows = await db.fetch_all(
        sa.select(calls.c.model_alias, *_call_columns())
        .where(*_call_filter(team_id, since, until))
        .group_by(calls.c.model_alias)
        .order_by(sa.desc("cost_micros"), calls.c.model_alias)
    )
    return [_call_row(r, "model_alias") for r in rows]


async def top_teams(db: Database, *, since: dt.datetime | None, limit: int) -> list[dict[str, Any]]:
    """The teams that spent most (calls' cost) since ``since``."""
    rows = await db.fetch_all(
        sa.select(calls.c.team_id, *_call_columns())
        .where(*_call_filter(None, since, None))
        .group_by(calls.c.team_id)
        .order_by(sa.desc("cost_micros"), calls.c.team_id)
        .limit(limit)
    )
    return [_call_row(r, "team_id") for r in rows]


async def credit_totals(db: Database) -> dict[str, int]:
    """Live organizations and teams, and the teams' credits allocated, used and reserved."""
    live = teams.c.deleted_at.is_(None)
    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("teams"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_allocated), 0).label("allocated"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_used), 0).label("used"),
            sa.func.coalesce(sa.func.sum(teams.c.credits_reserved), 0).label("reserved"),
            sa.func.coalesce(
                sa.func.sum(sa.case((teams.c.status == "suspended", _ONE), else_=_ZERO)), 0
            ).label("suspended"),
        ).where(live)
    )
    orgs = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(organizations)
        .where(organizations.c.deleted_at.is_(None))
    )
    assert row is not None
    return {
        "organizations": int(orgs or 0),
        "teams": int(row["teams"]),
        "suspended_teams": int(row["suspended"]),
        "credits_allocated": int(row["allocated"]),
        "credits_used": int(row["used"]),
        "credits_reserved": int(row["reserved"]),
    }


async def job_count(db: Database, *, since: dt.datetime) -> int:
    """Jobs created at or after ``since``."""
    value = await db.fetch_val(
        sa.select(sa.func.count()).select_from(jobs).where(jobs.c.created_at >= since)
    )
    return int(value or 0)
