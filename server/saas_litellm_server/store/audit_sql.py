"""SQL for the audit log (``audit_events``): one row per admin change, never updated."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from ._database import Database
from ._util import dumps, loads, newest_first, stamp
from .schema import audit_events

__all__ = ["AuditEventRow", "insert_event", "list_events"]


class AuditEventRow(TypedDict):
    event_id: str
    at: dt.datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def insert_event(
    db: Database,
    *,
    event_id: str,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    await db.execute(
        audit_events.insert().values(
            event_id=event_id,
            at=at,
            actor=actor,
            action=action,
            target=target,
            before=dumps(before) if before is not None else None,
            after=dumps(after) if after is not None else None,
        )
    )


async def list_events(
    db: Database,
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: dt.datetime | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> list[AuditEventRow]:
    """A page of events matching every filter given, newest first: ``actor`` is a prefix
    (``dashboard`` finds every ``dashboard:<session>``), the others exact."""
    query = audit_events.select()
    if actor is not None:
        escaped = actor.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        query = query.where(audit_events.c.actor.like(f"{escaped}%", escape="!"))
    for column, value in (
        (audit_events.c.action, action),
        (audit_events.c.target, target),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(audit_events.c.at >= since)
    rows = await db.fetch_all(
        newest_first(query, audit_events.c.at, audit_events.c.event_id, after=after, limit=limit)
    )
    return [
        AuditEventRow(
            event_id=r["event_id"],
            at=stamp(r["at"]),
            actor=r["actor"],
            action=r["action"],
            target=r["target"],
            before=loads(r["before"]) if r["before"] is not None else None,
            after=loads(r["after"]) if r["after"] is not None else None,
        )
        for r in rows
    ]
