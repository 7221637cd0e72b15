"""SQL for a team's virtual keys (``team_keys``): only their hashes are stored.

A key works while it is not revoked and not past ``expires_at``; revoking keeps the row, so that
the list shows what was revoked and when.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import sqlalchemy as sa

from ._database import Database, Row, Statement
from ._util import utc
from .schema import team_keys

__all__ = [
    "KeyRow",
    "expire_keys",
    "insert_key",
    "list_keys",
    "revoke_key",
    "revoke_lost",
    "touch",
]

LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
"""``last_used_at`` is written at most once a minute per key: not a write per request."""


class KeyRow(TypedDict):
    """A key as the store hands it out: never its hash."""

    key_id: str
    team_id: str
    name: str | None
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


_COLUMNS = [c for c in team_keys.c if c.name not in {"key_hash", "replaces"}]


def _key(row: Row) -> KeyRow:
    created_at = utc(row["created_at"])
    assert created_at is not None
    return KeyRow(
        key_id=row["key_id"],
        team_id=row["team_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=created_at,
        expires_at=utc(row["expires_at"]),
        last_used_at=utc(row["last_used_at"]),
        revoked_at=utc(row["revoked_at"]),
    )


async def insert_key(
    db: Database,
    *,
    key_id: str,
    team_id: str,
    name: str | None,
    prefix: str,
    key_hash: str,
    created_at: dt.datetime,
    expires_at: dt.datetime | None,
    replaces: str | None = None,
) -> KeyRow:
    row = await db.fetch_one(
        team_keys.insert()
        .values(
            key_id=key_id,
            team_id=team_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            created_at=created_at,
            expires_at=expires_at,
            replaces=replaces,
        )
        .returning(*_COLUMNS)
    )
    assert row is not None
    return _key(row)


async def list_keys(db: Database, team_id: str) -> list[KeyRow]:
    """Every key of the team, revoked ones included, newest first."""
    rows = await db.fetch_all(
        sa.select(*_COLUMNS)
        .where(team_keys.c.team_id == team_id)
        .order_by(team_keys.c.created_at.desc(), team_keys.c.key_id.desc())
    )
    return [_key(r) for r in rows]


async def revoke_key(db: Database, team_id: str, key_id: str, now: dt.datetime) -> KeyRow | None:
    """Revoke one key (revoking it again changes nothing); ``None``: the team has no such key."""
    row = await db.fetch_one(
        team_keys.update()
        .where(team_keys.c.team_id == team_id, team_keys.c.key_id == key_id)
        .values(revoked_at=sa.func.coalesce(team_keys.c.revoked_at, now))
        .returning(*_COLUMNS)
    )
    return _key(row) if row is not None else None


async def expire_keys(
    db: Database, team_id: str, *, until: dt.datetime, now: dt.datetime
) -> list[KeyRow]:
    """Make every working key of the team stop at ``until`` (revoked at once when ``until`` is
    not after ``now``); a key due to expire earlier keeps its earlier time. Returns the keys
    changed."""
    working = sa.and_(
        team_keys.c.team_id == team_id,
        team_keys.c.revoked_at.is_(None),
        sa.or_(team_keys.c.expires_at.is_(None), team_keys.c.expires_at > now),
    )
    if until <= now:
        statement = team_keys.update().where(working).values(revoked_at=now)
    else:
        statement = (
            team_keys.update()
            .where(
                working, sa.or_(team_keys.c.expires_at.is_(None), team_keys.c.expires_at > until)
            )
            .values(expires_at=until)
        )
    return [_key(r) for r in await db.fetch_all(statement.returning(*_COLUMNS))]


async def revoke_lost(
    db: Database, team_id: str, key_id: str, now: dt.datetime
) -> tuple[KeyRow | None, int]:
    """Revoke a key whose response was lost and every key handed out in its place, those still
    working; the lost key as it was (``None``: the team has no such key) and how many of them
    were still working."""
    lost = await db.fetch_one(
        sa.select(*_COLUMNS).where(team_keys.c.team_id == team_id, team_keys.c.key_id == key_id)
    )
    if lost is None:
        return None, 0
    revoked = await db.fetch_all(
        team_keys.update()
        .where(
            team_keys.c.team_id == team_id,
            sa.or_(team_keys.c.key_id == key_id, team_keys.c.replaces == key_id),
            team_keys.c.revoked_at.is_(None),
            sa.or_(team_keys.c.expires_at.is_(None), team_keys.c.expires_at > now),
        )
        .values(revoked_at=now)
        .returning(team_keys.c.key_id)
    )
    return _key(lost), len(revoked)


_TOUCH = Statement(
    "UPDATE team_keys SET last_used_at = :now WHERE key_id = :key_id "
    "AND (last_used_at IS NULL OR last_used_at <= :stale)"
)


async def touch(db: Database, key_id: str, now: dt.datetime) -> None:
    """Note that the key was just used (see :data:`LAST_USED_RESOLUTION`)."""
    await db.run(
        _TOUCH, {"now": now, "key_id": key_id, "stale": now - LAST_USED_RESOLUTION}, fetch=False
    )
