"""SQL for idempotency keys: claim a key, remember the response, replay it.

Each step is one statement (the SDK sends a key with every POST, so this is on the hot path).
"""

from __future__ import annotations

import datetime as dt

from ._database import Database, Row, Statement
from ._util import utc, utcnow
from .schema import idempotency_keys

__all__ = ["claim", "delete_expired", "finish", "get", "release"]

_t = idempotency_keys

# Insert a new claim, or take over an expired one; no row back when the key is taken.
_CLAIM = Statement(
    """
    INSERT INTO idempotency_keys
        (scope, key, fingerprint, state, status_code, body, created_at, expires_at)
    VALUES (:scope, :key, :fingerprint, 'running', NULL, NULL, :now, :expires)
    ON CONFLICT (scope, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, state = 'running', status_code = NULL,
        body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
    WHERE idempotency_keys.expires_at < :now
    RETURNING key
    """
)
_GET = Statement("SELECT * FROM idempotency_keys WHERE scope = :scope AND key = :key")
_FINISH = Statement(
    "UPDATE idempotency_keys SET state = 'done', status_code = :status_code, body = :body "
    "WHERE scope = :scope AND key = :key"
)
_RELEASE = Statement("DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key")


async def claim(db: Database, scope: str, key: str, fingerprint: str, ttl: float) -> bool:
    """Take the key for a new request; ``False`` when it is already taken (and not expired)."""
    now = utcnow()
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "now": now,
        "expires": now + dt.timedelta(seconds=ttl),
    }
    return bool(await db.run(_CLAIM, values))


async def get(db: Database, scope: str, key: str) -> Row | None:
    row = await db.run_one(_GET, {"scope": scope, "key": key})
    if row is None:
        return None
    return {**row, "created_at": utc(row["created_at"]), "expires_at": utc(row["expires_at"])}


async def finish(db: Database, scope: str, key: str, status_code: int, body: str) -> None:
    values = {"scope": scope, "key": key, "status_code": status_code, "body": body}
    await db.run(_FINISH, values, fetch=False)


async def release(db: Database, scope: str, key: str) -> None:
    """Forget a claim whose request did not produce a response worth replaying."""
    await db.run(_RELEASE, {"scope": scope, "key": key}, fetch=False)


async def delete_expired(db: Database) -> int:
    rows = await db.fetch_all(_t.delete().where(_t.c.expires_at < utcnow()).returning(_t.c.key))
    return len(rows)
