"""The audit log: every admin change, who made it, when, and the fields before and after.

Each change is recorded in the transaction that makes it, so the log holds exactly the changes
that happened. Records never hold a key or a secret: only what the admin API itself shows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from saas_litellm_models import AuditEvent, AuditLog, AuditLogQuery

from ..store import Database, audit_sql
from .pagination import page, position

__all__ = ["Operator", "changed", "list_events", "record", "snapshot"]

_NEVER_RECORDED = frozenset({"virtual_key", "key_hash", "secret", "api_key"})


@dataclass(frozen=True)
class Operator:
    """Who makes an admin change (``admin-key``, ``local-dev``, ``dashboard:…``,
    ``operator:<operator_id>``) and when (the runtime's clock)."""

    actor: str
    now: dt.datetime


def snapshot(value: BaseModel | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-ready copy of what the admin API shows of something, without any secret."""
    if value is None:
        return None
    data = value.model_dump() if isinstance(value, BaseModel) else dict(value)
    clean: dict[str, Any] = to_jsonable_python(
        {k: v for k, v in data.items() if k not in _NEVER_RECORDED}
    )
    return clean


def changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after)."""
    old = snapshot(before) or {}
    new = snapshot(after) or {}
    keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


async def record(
    db: Database,
    by: Operator,
    action: str,
    target: str,
    *,
    before: BaseModel | Mapping[str, Any] | None = None,
    after: BaseModel | Mapping[str, Any] | None = None,
) -> None:
    """Record one change (call it inside the change's transaction)."""
    await audit_sql.insert_event(
        db,
        event_id="evt_" + secrets.token_hex(12),
        at=by.now,
        actor=by.actor,
        action=action,
        target=target,
        before=snapshot(before),
        after=snapshot(after),
    )


async def list_events(db: Database, query: AuditLogQuery) -> AuditLog:
    rows = await audit_sql.list_events(
        db,
        actor=query.actor,
        action=query.action,
        target=query.target,
        since=query.since,
        limit=query.limit + 1,
        after=position(query.cursor),
    )
    shown, next_cursor = page(rows, query.limit, "event_id", stamp="at")
    return AuditLog(events=[AuditEvent.model_validate(r) for r in shown], next_cursor=next_cursor)
