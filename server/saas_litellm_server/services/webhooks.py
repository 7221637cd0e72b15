"""Webhooks: endpoints (register, list, remove), their delivery log and redelivery, and
:func:`emit`, which puts an event in the outbox.

:func:`emit` writes one delivery row per matching endpoint *in the caller's transaction*: the
event exists if and only if the change it reports was committed, and a process that dies right
after the commit loses nothing (another process, or this one restarted, sends it). The worker in
``webhook_delivery`` sends the rows; :func:`emit` only wakes it once the transaction commits.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from saas_litellm_models import (
    WEBHOOK_TEST_EVENT,
    Deleted,
    PageQuery,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookDeliveryListQuery,
    WebhookEventBody,
    WebhookEventType,
    WebhookInfo,
    WebhookList,
)

from ..errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from ..store import Database, catalog_sql, jobs_sql, usage_sql, webhooks_sql
from . import audit
from ._addresses import RefusedAddress, resolve_url
from .audit import Operator
from .pagination import page, position

__all__ = [
    "MAX_WEBHOOKS",
    "create_webhook",
    "delete_webhook",
    "emit",
    "get_webhook",
    "job_settled",
    "list_deliveries",
    "list_webhooks",
    "new_secret",
    "reissue_secret",
    "retry_delivery",
    "send_test_event",
    "team_suspended",
]

MAX_WEBHOOKS = 100
"""Endpoints that may be registered at once (each event is one row per endpoint)."""

_wakers: list[Callable[[], None]] = []


def on_emit(wake: Callable[[], None]) -> Callable[[], None]:
    """Have ``wake`` called after every commit that put events in the outbox (the delivery
    worker of this process); returns the function that stops it."""
    _wakers.append(wake)
    return lambda: _wakers.remove(wake)


def _wake_workers() -> None:
    for wake in list(_wakers):
        wake()


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes (Standard Webhooks' format)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _info(row: webhooks_sql.WebhookRow) -> WebhookInfo:
    return WebhookInfo.model_validate(row)


def _target(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


async def create_webhook(
    db: Database, body: WebhookCreateRequest, by: Operator, *, allow_private: bool
) -> WebhookCreated:
    """Register an endpoint; its secret is in this answer only. A URL that points (or whose
    name resolves) at a loopback, private or otherwise non-public address is refused unless
    ``allow_private``; a name that does not resolve yet is accepted (each delivery resolves it
    again and checks)."""
    try:
        await resolve_url(body.url, allow_private=allow_private)
    except RefusedAddress as exc:
        raise ValidationFailed(str(exc), param="url") from None
    except OSError:
        pass
    secret = new_secret()
    async with db.transaction():  # a write first, as SQLite transactions must begin
        if body.organization_id is not None and not await catalog_sql.lock_organization(
            db, body.organization_id
        ):
            raise InvalidRequest(
                f"organization {body.organization_id!r} does not exist",
                param="organization_id",
            )
        row = await webhooks_sql.insert_webhook(
            db,
            webhook_id="wh_" + secrets.token_hex(12),
            url=body.url,
            events=list(body.events),
            organization_id=body.organization_id,
            secret=secret,
            now=by.now,
        )
        if (
            len(await webhooks_sql.list_webhooks(db, limit=MAX_WEBHOOKS + 1, after=None))
            > MAX_WEBHOOKS
        ):
            raise Conflict(f"{MAX_WEBHOOKS} webhooks are registered; remove one first")
        info = _info(row)
        await audit.record(db, by, "webhook.create", _target(row["webhook_id"]), after=info)
    return WebhookCreated(**info.model_dump(), secret=secret)


async def reissue_secret(db: Database, kept: str, by: Operator) -> str:
    """A replayed creation (its first answer was lost): the same endpoint, with its secret
    read back (the idempotency store never holds it). 404 if it was removed since."""
    data = json.loads(kept)
    if "error" in data or "webhook_id" not in data:
        return kept
    secret = await webhooks_sql.get_secret(db, data["webhook_id"])
    if secret is None:
        raise NotFound(f"webhook {data['webhook_id']!r} not found (it was removed since)")
    data["secret"] = secret
    return json.dumps(data)


async def list_webhooks(db: Database, query: PageQuery) -> WebhookList:
    rows = await webhooks_sql.list_webhooks(db, limit=query.limit + 1, after=position(query.cursor))
    shown, next_cursor = page(rows, query.limit, "webhook_id")
    return WebhookList(webhooks=[_info(r) for r in shown], next_cursor=next_cursor)


async def _require(db: Database, webhook_id: str) -> webhooks_sql.WebhookRow:
    row = await webhooks_sql.get_webhook(db, webhook_id)
    if row is None:
        raise NotFound(f"webhook {webhook_id!r} not found")
    return row


async def get_webhook(db: Database, webhook_id: str) -> WebhookInfo:
    return _info(await _require(db, webhook_id))


async def delete_webhook(db: Database, webhook_id: str, by: Operator) -> Deleted:
    """Remove the endpoint: nothing more is sent to it, pending deliveries are given up."""
    async with db.transaction():  # a write first, as SQLite transactions must begin
        before = await webhooks_sql.delete_webhook(db, webhook_id, by.now)
        if before is None:
            raise NotFound(f"webhook {webhook_id!r} not found")
        await audit.record(db, by, "webhook.delete", _target(webhook_id), before=_info(before))
    return Deleted(object="webhook", id=webhook_id)


def _delivery(row: webhooks_sql.DeliveryRow) -> WebhookDelivery:
    return WebhookDelivery.model_validate(
        {**row, "event": WebhookEventBody.model_validate_json(row["payload"])}
    )


async def list_deliveries(
    db: Database, webhook_id: str, query: WebhookDeliveryListQuery
) -> WebhookDeliveryList:
    await _require(db, webhook_id)
    rows = await webhooks_sql.list_deliveries(
        db,
        webhook_id,
        status=query.status,
        limit=query.limit + 1,
        after=position(query.cursor),
    )
    shown, next_cursor = page(rows, query.limit, "delivery_id")
    return WebhookDeliveryList(deliveries=[_delivery(r) for r in shown], next_cursor=next_cursor)


async def retry_delivery(
    db: Database, webhook_id: str, delivery_id: str, by: Operator
) -> WebhookDelivery:
    """Send a delivery again, with the same ``webhook-id``, as soon as a worker is free
    (whatever its status: a receiver that lost an event can ask for it again)."""
    async with db.transaction():
        row = await webhooks_sql.requeue(db, webhook_id, delivery_id, by.now)
        if row is None:
            raise NotFound(f"delivery {delivery_id!r} of webhook {webhook_id!r} not found")
        endpoint = await webhooks_sql.get_webhook(db, webhook_id)
        if endpoint is None:
            raise NotFound(f"webhook {webhook_id!r} not found")
        if endpoint["status"] != "active":
            raise Conflict(
                f"webhook {webhook_id!r} is {endpoint['status']}; register the endpoint again "
                "to receive events"
            )
        await audit.record(
            db,
            by,
            "webhook.delivery_retry",
            _target(webhook_id),
            after={"delivery_id": delivery_id, "event_type": row["event_type"]},
        )
        db.after_commit(_wake_workers)
    return _delivery(row)


async def send_test_event(db: Database, webhook_id: str, by: Operator) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for the endpoint, whatever events it takes: signed,
    delivered and retried like any other (its delivery, ``pending``, is the answer). 404 for
    an endpoint removed or never registered, 409 for a disabled one."""
    delivery_id = "msg_" + secrets.token_hex(12)
    async with db.transaction():
        # a write first, as SQLite transactions must begin (an error below rolls it back)
        await audit.record(
            db,
            by,
            "webhook.test",
            _target(webhook_id),
            after={"delivery_id": delivery_id, "event_type": WEBHOOK_TEST_EVENT},
        )
        endpoint = await _require(db, webhook_id)
        if endpoint["status"] != "active":
            raise Conflict(
                f"webhook {webhook_id!r} is {endpoint['status']}; register the endpoint again "
                "to receive events"
            )
        await webhooks_sql.insert_delivery(
            db,
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            event_type=WEBHOOK_TEST_EVENT,
            payload=_body(WEBHOOK_TEST_EVENT, by.now, {"webhook_id": webhook_id}),
            now=by.now,
        )
        row = await webhooks_sql.get_delivery(db, webhook_id, delivery_id)
        db.after_commit(_wake_workers)
    assert row is not None  # written just above, in this transaction
    return _delivery(row)


# -- emitting events ------------------------------------------------------------------------

Data = Mapping[str, Any]


def _body(event_type: str, now: dt.datetime, data: Data) -> str:
    event = {"type": event_type, "timestamp": now, "data": data}
    return json.dumps(to_jsonable_python(event), separators=(",", ":"), ensure_ascii=False)


async def _emit(
    db: Database,
    event_type: WebhookEventType,
    organization_id: Callable[[], Awaitable[str | None]],
    data: Callable[[str | None], Awaitable[Data]],
    now: dt.datetime | None,
) -> int:
    endpoints = await webhooks_sql.subscribers(db, event_type)
    if not endpoints:  # the common case costs one small read
        return 0
    organization = await organization_id()
    endpoints = [e for e in endpoints if e["organization_id"] in (None, organization)]
    if not endpoints:
        return 0
    now = now or dt.datetime.now(dt.timezone.utc)
    payload = _body(event_type, now, await data(organization))
    for endpoint in endpoints:
        await webhooks_sql.insert_delivery(
            db,
            delivery_id="msg_" + secrets.token_hex(12),
            webhook_id=endpoint["webhook_id"],
            event_type=event_type,
            payload=payload,
            now=now,
        )
    db.after_commit(_wake_workers)
    return len(endpoints)


async def emit(
    db: Database,
    event_type: WebhookEventType,
    data: Data,
    *,
    organization_id: str | None,
    now: dt.datetime | None = None,
) -> int:
    """Put ``event_type`` with ``data`` in the outbox of every active endpoint that takes it
    (an endpoint with an organization only that organization's). Call it inside the
    transaction of the change it reports. Returns the number of deliveries written."""

    async def organization() -> str | None:
        return organization_id

    async def payload(_: str | None) -> Data:
        return data

    return await _emit(db, event_type, organization, payload, now)


async def job_settled(
    db: Database,
    row: jobs_sql.JobRow,
    *,
    credits_charged: int,
    credits_remaining: int,
) -> None:
    """``job.completed`` or ``job.failed`` for a job just settled (inside its transaction: when
    it closed, or when the last call in flight at its closing ended).
    (``credits.*`` events come from ``credit_events``, which sees every credit movement.)"""
    team_id = row["team_id"]

    async def organization() -> str | None:
        return await webhooks_sql.organization_of(db, team_id)

    async def job_data(organization_id: str | None) -> Data:
        costs = await usage_sql.job_costs(db, row)
        return {
            "job_id": row["job_id"],
            "team_id": team_id,
            "organization_id": organization_id,
            "job_type": row["job_type"],
            "status": row["status"],
            "created_at": row["created_at"],
            "completed_at": row["completed_at"],
            "error_message": row["error_message"],
            "costs": {
                **costs,
                "credit_applied": credits_charged > 0,
                "credits_charged": credits_charged,
                "credits_remaining": credits_remaining,
            },
        }

    event: WebhookEventType = "job.completed" if row["status"] == "completed" else "job.failed"
    await _emit(db, event, organization, job_data, None)


async def team_suspended(db: Database, team_id: str, organization_id: str) -> None:
    """``team.suspended`` (inside the transaction that suspended it)."""
    await emit(
        db,
        "team.suspended",
        {"team_id": team_id, "organization_id": organization_id, "status": "suspended"},
        organization_id=organization_id,
    )
