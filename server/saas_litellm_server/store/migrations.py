"""Versioned schema migrations, run at start-up.

``schema_migrations`` records applied versions. Several processes may start at once, so the
check-and-apply step runs in one transaction under a lock: a transaction-scoped advisory lock on
PostgreSQL (whose DDL is transactional), and on SQLite a write as the transaction's first
statement, which takes the database's write lock (the others wait on SQLite's busy timeout).

Version 1 creates the tables of :mod:`.schema`. A later change of the schema adds a new version
here with its own DDL; versions already applied are never rewritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from . import schema
from ._database import Database

__all__ = ["LATEST_VERSION", "migrate"]

_ADVISORY_LOCK_KEY = 0x5AA5_117E  # any constant shared by every process of this app


def _v1(dialect: Dialect) -> list[str]:
    statements: list[str] = []
    for table in schema.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes
        )
    return statements


MIGRATIONS: list[tuple[int, Callable[[Dialect], list[str]]]] = [(1, _v1)]
LATEST_VERSION = MIGRATIONS[-1][0]

_CREATE_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
)


async def migrate(db: Database) -> int:
    """Bring the schema to :data:`LATEST_VERSION`; returns the number of versions applied."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    if db.backend == "sqlite":
        await db.execute(_CREATE_VERSIONS)
    applied = 0
    async with db.transaction():
        if db.backend == "postgresql":
            await db.execute(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
            await db.execute(_CREATE_VERSIONS)
        else:
            # Version 0 is a lock row: writing it first takes SQLite's write lock.
            await db.execute(
                "INSERT OR REPLACE INTO schema_migrations (version, applied_at) VALUES (0, :now)",
                {"now": now},
            )
        current = await db.fetch_val(sa.text("SELECT MAX(version) FROM schema_migrations")) or 0
        for version, build in MIGRATIONS:
            if version <= current:
                continue
            for statement in build(db.dialect):
                await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :now)",
                {"v": version, "now": now},
            )
            applied += 1
    return applied
