"""Small conversions shared by the store modules."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["dumps", "insert_ignore", "loads", "newest_first", "stamp", "utc", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """SQLite hands timestamps back naive (or, read raw, as text); they were stored as UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def stamp(value: dt.datetime | str) -> dt.datetime:
    """:func:`utc` of a ``NOT NULL`` timestamp column."""
    aware = utc(value)
    assert aware is not None
    return aware


def dumps(value: Any) -> str:
    return json.dumps(value if value is not None else {}, separators=(",", ":"), ensure_ascii=False)


def loads(value: str | None) -> Any:
    return json.loads(value) if value else {}


def insert_ignore(db: Database, table: sa.Table, **values: Any) -> sa.Executable:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING *``: a row back only if it was inserted."""
    if db.backend == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).values(**values).on_conflict_do_nothing().returning(*table.c)
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(table).values(**values).on_conflict_do_nothing().returning(*table.c)


def newest_first(
    query: sa.Select[Any],
    created_at: sa.ColumnElement[Any],
    key: sa.ColumnElement[Any],
    *,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> sa.Select[Any]:
    """A page of ``query`` ordered by ``(created_at, key)`` descending (keyset pagination):
    ``after`` is the last ``(created_at, key)`` the previous page showed."""
    if after is not None:
        stamp, last = after
        query = query.where(sa.or_(created_at < stamp, sa.and_(created_at == stamp, key < last)))
    return query.order_by(created_at.desc(), key.desc()).limit(limit)
