"""SQL for idempotency keys: claim a key, remember the response, replay it."""

from __future__ import annotations

import datetime as dt

from ._database import Database, Row
from ._util import insert_ignore, utc, utcnow
from .schema import idempotency_keys

__all__ = ["claim", "delete_expired", "finish", "get", "release"]

_t = idempotency_keys


async def claim(db: Database, scope: str, key: str, fingerprint: str, ttl: float) -> bool:
    """Take the key for a new request; ``False`` when it is already taken (and not expired)."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl)
    async with db.transaction():
        # An expired key is free again. Deleting first also makes the transaction start with a
        # write, which SQLite needs (see _database).
        await db.execute(
            _t.delete().where(_t.c.scope == scope, _t.c.key == key, _t.c.expires_at < now)
        )
        row = await db.fetch_one(
            insert_ignore(
                db,
                _t,
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                state="running",
                created_at=now,
                expires_at=expires,
            )
        )
    return row is not None


async def get(db: Database, scope: str, key: str) -> Row | None:
    row = await db.fetch_one(_t.select().where(_t.c.scope == scope, _t.c.key == key))
    if row is None:
        return None
    return {**row, "created_at": utc(row["created_at"]), "expires_at": utc(row["expires_at"])}


async def finish(db: Database, scope: str, key: str, status_code: int, body: str) -> None:
    await db.execute(
        _t.update()
        .where(_t.c.scope == scope, _t.c.key == key)
        .values(state="done", status_code=status_code, body=body)
    )


async def release(db: Database, scope: str, key: str) -> None:
    """Forget a claim whose request did not produce a response worth replaying."""
    await db.execute(_t.delete().where(_t.c.scope == scope, _t.c.key == key))


async def delete_expired(db: Database) -> int:
    rows = await db.fetch_all(_t.delete().where(_t.c.expires_at < utcnow()).returning(_t.c.key))
    return len(rows)
