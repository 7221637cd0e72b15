"""The only module that knows about the ``databases`` package.

Everything else in the store talks to :class:`Database` with SQLAlchemy Core expressions and gets
plain dicts back, so that swapping ``databases`` for SQLAlchemy's own async engine would change
this module alone.

Rules this wrapper exists to keep (``databases`` 0.9 hands each asyncio task its own connection):
never start tasks inside :meth:`Database.transaction`, and on SQLite make the first statement of a
transaction a write, because a read-then-write transaction fails with ``database is locked``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import databases
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["Database", "Row", "normalize_url"]

Row = dict[str, Any]
Backend = Literal["sqlite", "postgresql"]
Query = ClauseElement | Executable | str


def normalize_url(url: str) -> tuple[str, Backend]:
    """Map user-facing URLs onto the driver ``databases`` should use."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"database URL {url!r} has no scheme; use sqlite:/// or postgresql://")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}", "sqlite"
    if base in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}", "postgresql"
    raise ValueError(f"unsupported database URL scheme {scheme!r}; use sqlite or postgresql")


class _Databases(databases.Database):
    SUPPORTED_BACKENDS = {
        **databases.Database.SUPPORTED_BACKENDS,
        "sqlite+aiosqlite": "saas_litellm_server.store._sqlite:PooledSQLiteBackend",
    }


class Database:
    """A connection pool plus the few query primitives the store needs."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url, self.backend = normalize_url(url)
        self._db = _Databases(self.url, **options)
        # SQLite has one writer at a time. Queueing this process's transactions on a lock is much
        # cheaper than letting them collide on SQLite's busy handler, which sleeps and retries.
        self._write_lock = asyncio.Lock() if self.backend == "sqlite" else None

    @property
    def dialect(self) -> Dialect:
        dialect: Dialect = self._db._backend._dialect
        return dialect

    async def connect(self) -> None:
        await self._db.connect()
        if self.backend == "sqlite" and ":memory:" not in self.url:
            # WAL lets readers run while a writer commits; NORMAL is durable enough with WAL.
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")

    async def disconnect(self) -> None:
        await self._db.disconnect()

    async def fetch_one(self, query: Query, values: Mapping[str, Any] | None = None) -> Row | None:
        row = await self._db.fetch_one(query, values)  # type: ignore[arg-type]
        return None if row is None else dict(row._mapping)

    async def fetch_all(self, query: Query, values: Mapping[str, Any] | None = None) -> list[Row]:
        rows = await self._db.fetch_all(query, values)  # type: ignore[arg-type]
        return [dict(row._mapping) for row in rows]

    async def fetch_val(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        return await self._db.fetch_val(query, values)  # type: ignore[arg-type]

    async def execute(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        return await self._db.execute(query, values)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """All statements of the current task inside the block commit or roll back together."""
        if self._write_lock is None:
            async with self._db.transaction():
                yield
            return
        async with self._write_lock, self._db.transaction():
            yield
