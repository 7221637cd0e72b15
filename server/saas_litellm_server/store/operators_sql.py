"""SQL for operators (``operators``): only the hash of each one's key is stored.

Removing an operator keeps its row (``deleted_at``), so that the audit log's
``operator:<operator_id>`` still names someone; a removed operator's key is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import sqlalchemy as sa

from ._database import Database, Row
from ._util import newest_first, utc
from .schema import operators

__all__ = [
    "OperatorRow",
    "by_key_hash",
    "delete_operator",
    "get_operator",
    "insert_operator",
    "list_operators",
    "set_key",
    "update_operator",
]


class OperatorRow(TypedDict):
    """An operator as the store hands it out: never its key's hash."""

    operator_id: str
    name: str
    role: str
    created_at: dt.datetime
    key_created_at: dt.datetime


_PUBLIC = [c for c in operators.c if c.name not in {"key_hash", "deleted_at"}]
_LIVE = operators.c.deleted_at.is_(None)


def _operator(row: Row) -> OperatorRow:
    created_at, key_created_at = utc(row["created_at"]), utc(row["key_created_at"])
    assert created_at is not None
    assert key_created_at is not None
    return OperatorRow(
        operator_id=row["operator_id"],
        name=row["name"],
        role=row["role"],
        created_at=created_at,
        key_created_at=key_created_at,
    )


async def insert_operator(
    db: Database, *, operator_id: str, name: str, role: str, key_hash: str, now: dt.datetime
) -> OperatorRow:
    row = await db.fetch_one(
        operators.insert()
        .values(
            operator_id=operator_id,
            name=name,
            role=role,
            key_hash=key_hash,
            created_at=now,
            key_created_at=now,
        )
        .returning(*_PUBLIC)
    )
    assert row is not None
    return _operator(row)


async def get_operator(db: Database, operator_id: str) -> OperatorRow | None:
    """A live operator (``None``: none, or a removed one)."""
    row = await db.fetch_one(
        sa.select(*_PUBLIC).where(operators.c.operator_id == operator_id, _LIVE)
    )
    return _operator(row) if row is not None else None


async def by_key_hash(db: Database, key_hash: str) -> OperatorRow | None:
    """The live operator whose key hashes to ``key_hash``."""
    row = await db.fetch_one(sa.select(*_PUBLIC).where(operators.c.key_hash == key_hash, _LIVE))
    return _operator(row) if row is not None else None


async def list_operators(
    db: Database, *, limit: int, after: tuple[dt.datetime, str] | None
) -> list[OperatorRow]:
    query = sa.select(*_PUBLIC).where(_LIVE)
    rows = await db.fetch_all(
        newest_first(
            query, operators.c.created_at, operators.c.operator_id, after=after, limit=limit
        )
    )
    return [_operator(r) for r in rows]


async def update_operator(
    db: Database, operator_id: str, *, name: str | None, role: str | None
) -> tuple[OperatorRow | None, OperatorRow | None]:
    """Change a live operator: (before, after), both ``None`` when there is none. The row is
    locked by the update before it is read back, so concurrent changes serialize."""
    values = {k: v for k, v in {"name": name, "role": role}.items() if v is not None}
    before = await db.fetch_one(
        operators.update()
        .where(operators.c.operator_id == operator_id, _LIVE)
        .values(operator_id=operators.c.operator_id)  # a write first: takes the lock
        .returning(*_PUBLIC)
    )
    if before is None:
        return None, None
    if not values:
        return _operator(before), _operator(before)
    after = await db.fetch_one(
        operators.update()
        .where(operators.c.operator_id == operator_id)
        .values(**values)
        .returning(*_PUBLIC)
    )
    assert after is not None
    return _operator(before), _operator(after)


async def set_key(
    db: Database, operator_id: str, key_hash: str, now: dt.datetime
) -> OperatorRow | None:
    """Give a live operator a new key (the old one is refused from now on)."""
    row = await db.fetch_one(
        operators.update()
        .where(operators.c.operator_id == operator_id, _LIVE)
        .values(key_hash=key_hash, key_created_at=now)
        .returning(*_PUBLIC)
    )
    return _operator(row) if row is not None else None


async def delete_operator(db: Database, operator_id: str, now: dt.datetime) -> OperatorRow | None:
    """Remove a live operator; it as it was (``None``: there was none)."""
    row = await db.fetch_one(
        operators.update()
        .where(operators.c.operator_id == operator_id, _LIVE)
        .values(deleted_at=now)
        .returning(*_PUBLIC)
    )
    return _operator(row) if row is not None else None
