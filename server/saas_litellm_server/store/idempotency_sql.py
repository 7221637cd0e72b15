"""SQL for idempotency keys: claim a key (a lease), keep it alive, keep the response, replay it.

Each step is one statement (the SDK sends a key with every POST, so this is on the hot path).
Every step after the claim names the claim's ``token``: a request whose lease lapsed and was
taken over by a retry can no longer touch the key (it matches no row).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from ._database import Database, Statement
from ._util import stamp, utc, utcnow
from .schema import idempotency_keys

__all__ = [
    "IdempotencyKeyRow",
    "claim",
    "delete_expired",
    "finish",
    "finish_statement",
    "get",
    "release",
    "renew",
    "touch_statement",
]

_t = idempotency_keys

# Insert a new claim, or take over an expired key or a lapsed lease of the same request; no row
# back when the key is taken.
_CLAIM = Statement(
    """
    INSERT INTO idempotency_keys
        (scope, key, fingerprint, state, status_code, body, created_at, expires_at, token,
         lease_until)
    VALUES (:scope, :key, :fingerprint, 'running', NULL, NULL, :now, :expires, :token, :lease)
    ON CONFLICT (scope, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, state = 'running', status_code = NULL,
        body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at,
        token = excluded.token, lease_until = excluded.lease_until
    WHERE idempotency_keys.expires_at < :now
       OR (idempotency_keys.state = 'running'
           AND idempotency_keys.fingerprint = excluded.fingerprint
           AND (idempotency_keys.lease_until IS NULL OR idempotency_keys.lease_until < :now))
    RETURNING key
    """
)
_GET = Statement("SELECT * FROM idempotency_keys WHERE scope = :scope AND key = :key")
_MINE = "scope = :scope AND key = :key AND token = :token AND state = 'running'"
_RENEW = Statement(
    f"UPDATE idempotency_keys SET lease_until = :lease WHERE {_MINE} RETURNING key"  # noqa: S608
)
_FINISH = Statement(
    "UPDATE idempotency_keys SET state = 'done', status_code = :status_code, body = :body, "  # noqa: S608
    f"lease_until = NULL WHERE {_MINE} RETURNING key"
)
_RELEASE = Statement(f"DELETE FROM idempotency_keys WHERE {_MINE}")  # noqa: S608


class IdempotencyKeyRow(TypedDict):
    """An idempotency key: its claim, and the response kept once its request finished."""

    scope: str
    key: str
    fingerprint: str
    state: str
    """``running`` or ``done``."""
    status_code: int | None
    body: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    token: str | None
    lease_until: dt.datetime | None


def _lease(seconds: float) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


async def claim(
    db: Database, scope: str, key: str, fingerprint: str, *, token: str, ttl: float, lease: float
) -> bool:
    """Take the key for a new request; ``False`` when it is already taken (and not lapsed)."""
    now = utcnow()
    times = [now, now + dt.timedelta(seconds=ttl), now + dt.timedelta(seconds=lease)]
    stamps: list[dt.datetime] | list[str] = times
    if db.backend == "sqlite":  # as SQLite stores them, once each (``:now`` is named thrice)
        stamps = [_sqlite_stamp(t) for t in times]
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "now": stamps[0],
        "expires": stamps[1],
        "token": token,
        "lease": stamps[2],
    }
    return bool(await db.run(_CLAIM, values))


def _sqlite_stamp(value: dt.datetime) -> str:
    """An aware UTC time as SQLite's ``DateTime`` stores it (``store._database`` would convert
    each time the statement names it, at twice the cost)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


async def get(db: Database, scope: str, key: str) -> IdempotencyKeyRow | None:
    row = await db.run_one(_GET, {"scope": scope, "key": key})
    if row is None:
        return None
    return IdempotencyKeyRow(
        scope=row["scope"],
        key=row["key"],
        fingerprint=row["fingerprint"],
        state=row["state"],
        status_code=row["status_code"],
        body=row["body"],
        created_at=stamp(row["created_at"]),
        expires_at=stamp(row["expires_at"]),
        token=row["token"],
        lease_until=utc(row["lease_until"]),
    )


def touch_statement(
    scope: str, key: str, token: str, lease: float
) -> tuple[Statement, dict[str, Any]]:
    """Renew the lease; returns a row only while this request still holds the key (a write,
    so that it can open a SQLite transaction)."""
    return _RENEW, {"scope": scope, "key": key, "token": token, "lease": _lease(lease)}


async def renew(db: Database, scope: str, key: str, token: str, lease: float) -> bool:
    """Extend a running request's lease; ``False`` when it no longer holds the key."""
    return bool(await db.run(*touch_statement(scope, key, token, lease)))


def finish_statement(
    scope: str, key: str, token: str, status_code: int, body: str
) -> tuple[Statement, dict[str, Any]]:
    """Keep the response, for use with the statements that commit the request's effect."""
    values = {"scope": scope, "key": key, "token": token, "status_code": status_code, "body": body}
    return _FINISH, values


async def finish(
    db: Database, scope: str, key: str, token: str, status_code: int, body: str
) -> bool:
    """Keep the response; ``False`` when the request no longer holds the key."""
    return bool(await db.run(*finish_statement(scope, key, token, status_code, body)))


async def release(db: Database, scope: str, key: str, token: str) -> None:
    """Forget a claim whose request did not produce a response worth replaying (a kept
    response is never forgotten: only a running claim of this request)."""
    await db.run(_RELEASE, {"scope": scope, "key": key, "token": token}, fetch=False)


async def delete_expired(db: Database) -> int:
    rows = await db.fetch_all(_t.delete().where(_t.c.expires_at < utcnow()).returning(_t.c.key))
    return len(rows)
