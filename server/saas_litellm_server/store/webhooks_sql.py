"""SQL for webhooks: the endpoints (``webhooks``) and the outbox that is also the delivery log
(``webhook_deliveries``).

A delivery row is written in the transaction of the change it reports, so it exists exactly
when the change does. Workers in any number of processes take due rows with a *claim*: one
statement that sets a lease on rows nobody holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
that concurrent claims pass each other instead of waiting; on SQLite the statement is atomic by
itself). Every later write of the attempt is conditional on the claim's token: a worker whose
lease ran out (it hung, or its process died) can no longer overwrite what the next one did.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypedDict

import sqlalchemy as sa

from ._database import Database, Row
from ._util import newest_first, utc
from .schema import teams, webhooks
from .schema import webhook_deliveries as deliveries

__all__ = [
    "DeliveryRow",
    "EndpointRow",
    "WebhookRow",
    "any_due",
    "claim_due",
    "delete_finished_before",
    "delete_webhook",
    "disable_if_failing_since",
    "get_delivery",
    "get_secret",
    "get_webhook",
    "give_up",
    "insert_delivery",
    "insert_webhook",
    "list_deliveries",
    "list_webhooks",
    "note_failure",
    "note_success",
    "organization_of",
    "record_attempt",
    "release",
    "requeue",
    "subscribers",
]


class WebhookRow(TypedDict):
    """An endpoint as the services see it (``secret`` only where the caller asked for it)."""

    webhook_id: str
    url: str
    events: list[str]
    organization_id: str | None
    status: str
    created_at: dt.datetime
    failing_since: dt.datetime | None
    disabled_at: dt.datetime | None


class DeliveryRow(TypedDict):
    delivery_id: str
    webhook_id: str
    event_type: str
    payload: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    last_response: str | None
    delivered_at: dt.datetime | None


class EndpointRow(TypedDict):
    """Where a claimed delivery goes: its endpoint's url, secret and state."""

    webhook_id: str
    url: str
    secret: str
    status: str
    deleted_at: dt.datetime | None


_PUBLIC = [c for c in webhooks.c if c.name not in {"secret", "deleted_at"}]


def _webhook(row: Row) -> WebhookRow:
    created_at = utc(row["created_at"])
    assert created_at is not None
    return WebhookRow(
        webhook_id=row["webhook_id"],
        url=row["url"],
        events=json.loads(row["events"]),
        organization_id=row["organization_id"],
        status=row["status"],
        created_at=created_at,
        failing_since=utc(row["failing_since"]),
        disabled_at=utc(row["disabled_at"]),
    )


def _delivery(row: Row) -> DeliveryRow:
    created_at = utc(row["created_at"])
    assert created_at is not None
    return DeliveryRow(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        event_type=row["event_type"],
        payload=row["payload"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=created_at,
        next_attempt_at=utc(row["next_attempt_at"]),
        last_attempt_at=utc(row["last_attempt_at"]),
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        last_response=row["last_response"],
        delivered_at=utc(row["delivered_at"]),
    )


async def insert_webhook(
    db: Database,
    *,
    webhook_id: str,
    url: str,
    events: list[str],
    organization_id: str | None,
    secret: str,
    now: dt.datetime,
) -> WebhookRow:
    row = await db.fetch_one(
        webhooks.insert()
        .values(
            webhook_id=webhook_id,
            url=url,
            events=json.dumps(events),
            organization_id=organization_id,
            secret=secret,
            status="active",
            created_at=now,
        )
        .returning(*_PUBLIC)
    )
    assert row is not None
    return _webhook(row)


async def get_webhook(db: Database, webhook_id: str) -> WebhookRow | None:
    """The endpoint, unless it was removed."""
    row = await db.fetch_one(
        sa.select(*_PUBLIC).where(
            webhooks.c.webhook_id == webhook_id, webhooks.c.deleted_at.is_(None)
        )
    )
    return _webhook(row) if row else None


async def get_secret(db: Database, webhook_id: str) -> str | None:
    """The endpoint's signing secret (for an idempotent replay of its creation)."""
    value = await db.fetch_val(
        sa.select(webhooks.c.secret).where(
            webhooks.c.webhook_id == webhook_id, webhooks.c.deleted_at.is_(None)
        )
    )
    return str(value) if value is not None else None


async def list_webhooks(
    db: Database, *, limit: int, after: tuple[dt.datetime, str] | None
) -> list[WebhookRow]:
    query = sa.select(*_PUBLIC).where(webhooks.c.deleted_at.is_(None))
    rows = await db.fetch_all(
        newest_first(query, webhooks.c.created_at, webhooks.c.webhook_id, after=after, limit=limit)
    )
    return [_webhook(r) for r in rows]


async def delete_webhook(db: Database, webhook_id: str, now: dt.datetime) -> WebhookRow | None:
    """Remove the endpoint (its delivery log stays in the table) and give up its pending
    deliveries. Returns it as it was (``None``: there was none)."""
    row = await db.fetch_one(
        webhooks.update()
        .where(webhooks.c.webhook_id == webhook_id, webhooks.c.deleted_at.is_(None))
        .values(deleted_at=now)
        .returning(*_PUBLIC)
    )
    if row is None:
        return None
    await _give_up_pending(db, webhook_id, now, "the endpoint was removed")
    return _webhook(row)


async def _give_up_pending(db: Database, webhook_id: str, now: dt.datetime, why: str) -> None:
    await db.execute(
        deliveries.update()
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == "pending")
        .values(
            status="failed",
            next_attempt_at=None,
            lease_until=None,
            lease_token=None,
            last_error=why,
        )
    )


async def subscribers(db: Database, event_type: str) -> list[WebhookRow]:
    """Active endpoints that take ``event_type`` (any organization's)."""
    rows = await db.fetch_all(
        sa.select(*_PUBLIC).where(webhooks.c.status == "active", webhooks.c.deleted_at.is_(None))
    )
    return [w for w in map(_webhook, rows) if event_type in w["events"]]


async def organization_of(db: Database, team_id: str) -> str | None:
    value = await db.fetch_val(sa.select(teams.c.organization_id).where(teams.c.team_id == team_id))
    return str(value) if value is not None else None


async def insert_delivery(
    db: Database,
    *,
    delivery_id: str,
    webhook_id: str,
    event_type: str,
    payload: str,
    now: dt.datetime,
) -> None:
    await db.execute(
        deliveries.insert().values(
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )


async def list_deliveries(
    db: Database,
    webhook_id: str,
    *,
    status: str | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> list[DeliveryRow]:
    query = deliveries.select().where(deliveries.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    rows = await db.fetch_all(
        newest_first(
            query, deliveries.c.created_at, deliveries.c.delivery_id, after=after, limit=limit
        )
    )
    return [_delivery(r) for r in rows]


async def get_delivery(db: Database, webhook_id: str, delivery_id: str) -> DeliveryRow | None:
    row = await db.fetch_one(
        deliveries.select().where(
            deliveries.c.webhook_id == webhook_id, deliveries.c.delivery_id == delivery_id
        )
    )
    return _delivery(row) if row else None


async def requeue(
    db: Database, webhook_id: str, delivery_id: str, now: dt.datetime
) -> DeliveryRow | None:
    """Send the delivery again (same id) as soon as a worker is free; a claim in flight keeps
    its lease (its outcome is then overwritten by nothing: its token no longer matches)."""
    row = await db.fetch_one(
        deliveries.update()
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.delivery_id == delivery_id)
        .values(
            status="pending",
            next_attempt_at=now,
            lease_until=None,
            lease_token=None,
            delivered_at=None,
        )
        .returning(*deliveries.c)
    )
    return _delivery(row) if row else None


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= now,
        sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
    )


async def any_due(db: Database, now: dt.datetime) -> bool:
    """Whether a claim would find anything (a cheap read, so that idle polling writes
    nothing)."""
    found = await db.fetch_val(sa.select(deliveries.c.delivery_id).where(_due(now)).limit(1))
    return found is not None


async def claim_due(
    db: Database, *, now: dt.datetime, lease_until: dt.datetime, token: str, limit: int
) -> list[tuple[DeliveryRow, EndpointRow]]:
    """Lease up to ``limit`` due deliveries to the caller; each with its endpoint's url,
    secret and status (``deleted`` set when it was removed)."""
    due = (
        sa.select(deliveries.c.delivery_id)
        .where(_due(now))
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's one writer needs none
    )
    rows = await db.fetch_all(
        deliveries.update()
        .where(deliveries.c.delivery_id.in_(due.scalar_subquery()))
        .values(lease_until=lease_until, lease_token=token)
        .returning(*deliveries.c)
    )
    if not rows:
        return []
    ids = {r["webhook_id"] for r in rows}
    endpoints = {
        e["webhook_id"]: EndpointRow(
            webhook_id=e["webhook_id"],
            url=e["url"],
            secret=e["secret"],
            status=e["status"],
            deleted_at=utc(e["deleted_at"]),
        )
        for e in await db.fetch_all(
            sa.select(
                webhooks.c.webhook_id,
                webhooks.c.url,
                webhooks.c.secret,
                webhooks.c.status,
                webhooks.c.deleted_at,
            ).where(webhooks.c.webhook_id.in_(ids))
        )
    }
    return [(_delivery(r), endpoints[r["webhook_id"]]) for r in rows]


async def record_attempt(
    db: Database,
    delivery_id: str,
    token: str,
    *,
    now: dt.datetime,
    succeeded: bool,
    status_code: int | None,
    error: str | None,
    response: str | None,
    next_attempt_at: dt.datetime | None,
) -> bool:
    """The outcome of a claimed attempt: delivered, to be retried at ``next_attempt_at``, or
    given up (``None``). False if the claim was lost meanwhile (nothing written)."""
    values: dict[str, Any] = {
        "attempts": deliveries.c.attempts + 1,
        "last_attempt_at": now,
        "last_status_code": status_code,
        "last_error": error,
        "last_response": response,
        "lease_until": None,
        "lease_token": None,
    }
    if succeeded:
        values.update(status="succeeded", delivered_at=now, next_attempt_at=None)
    elif next_attempt_at is None:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=next_attempt_at)
    row = await db.fetch_one(
        deliveries.update()
        .where(deliveries.c.delivery_id == delivery_id, deliveries.c.lease_token == token)
        .values(**values)
        .returning(deliveries.c.delivery_id)
    )
    return row is not None


async def give_up(db: Database, delivery_id: str, token: str, why: str) -> None:
    """Give up a claimed delivery without an attempt (its endpoint is disabled or removed)."""
    await db.execute(
        deliveries.update()
        .where(deliveries.c.delivery_id == delivery_id, deliveries.c.lease_token == token)
        .values(
            status="failed",
            next_attempt_at=None,
            lease_until=None,
            lease_token=None,
            last_error=why,
        )
    )


async def note_success(db: Database, webhook_id: str) -> None:
    """The endpoint answered: its run of failures (if any) is over."""
    await db.execute(
        webhooks.update()
        .where(webhooks.c.webhook_id == webhook_id, webhooks.c.failing_since.is_not(None))
        .values(failing_since=None)
    )


async def note_failure(db: Database, webhook_id: str, now: dt.datetime) -> dt.datetime | None:
    """The endpoint failed an attempt; since when it has been failing (None: not active)."""
    await db.execute(
        webhooks.update()
        .where(
            webhooks.c.webhook_id == webhook_id,
            webhooks.c.status == "active",
            webhooks.c.failing_since.is_(None),
        )
        .values(failing_since=now)
    )
    since = await db.fetch_val(
        sa.select(webhooks.c.failing_since).where(
            webhooks.c.webhook_id == webhook_id, webhooks.c.status == "active"
        )
    )
    return utc(since)


async def disable_if_failing_since(
    db: Database, webhook_id: str, before: dt.datetime, now: dt.datetime
) -> bool:
    """Disable the endpoint if it has failed continuously since ``before`` or earlier, and give
    up its pending deliveries; whether this call disabled it."""
    row = await db.fetch_one(
        webhooks.update()
        .where(
            webhooks.c.webhook_id == webhook_id,
            webhooks.c.status == "active",
            webhooks.c.failing_since <= before,
        )
        .values(status="disabled", disabled_at=now)
        .returning(webhooks.c.webhook_id)
    )
    if row is None:
        return False
    await _give_up_pending(db, webhook_id, now, "the endpoint was disabled")
    return True


async def delete_finished_before(db: Database, cutoff: dt.datetime) -> int:
    """Forget deliveries that finished (delivered or given up) and were created before
    ``cutoff``; the number removed."""
    rows = await db.fetch_all(
        deliveries.delete()
        .where(deliveries.c.status != "pending", deliveries.c.created_at < cutoff)
        .returning(deliveries.c.delivery_id)
    )
    return len(rows)


async def release(db: Database, token: str) -> None:
    """Give up the claim ``token`` holds on deliveries not yet recorded (a worker stopping)."""
    await db.execute(
        deliveries.update()
        .where(deliveries.c.lease_token == token)
        .values(lease_until=None, lease_token=None)
    )
