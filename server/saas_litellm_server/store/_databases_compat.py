"""What the store relies on of ``databases``' internals (pinned: ``databases==0.9.0``), in one
place; ``tests/server/test_compat.py`` fails, naming the attribute and the version, when an
upgrade takes any of it away.

``databases`` has no public way to reach its driver, yet the hot path (``_database.Statement``)
runs on the driver's own pooled connections, and the store plugs a pooled SQLite backend into it
(``_sqlite``). What that takes:

- ``Database._backend``: the backend object; its ``_dialect`` (SQLAlchemy's, to compile) and,
  for PostgreSQL, its ``_pool`` (asyncpg's; ``None`` until connected).
- ``Database.SUPPORTED_BACKENDS``: URL scheme → ``"module:Class"``, how a backend is plugged in.
- ``SQLiteBackend._database_url``/``_options`` and ``_pool`` (which ``connection()`` and
  ``disconnect()`` use), ``SQLitePool._database``/``_options``: the file and the connection
  options, for the pooled backend's own connections.
- ``Record._mapping``: a row's columns and values (``Record`` has no ``dict()`` of its own).
- ``Connection._transaction_stack``, ``Connection._connection_counter`` and the task-local
  ``Database._connection`` setter: to hand back a connection a failed transaction left bound to
  its task (:func:`release_task_connection`).
"""

from __future__ import annotations

from typing import Any

import databases
from databases.backends.sqlite import SQLiteBackend, SQLitePool
from databases.core import DatabaseURL
from sqlalchemy.engine.interfaces import Dialect

__all__ = [
    "asyncpg_pool",
    "backend_of",
    "dialect_of",
    "plugged",
    "record_dict",
    "release_task_connection",
    "sqlite_backend_setup",
    "sqlite_pool_setup",
    "use_sqlite_pool",
]


def plugged(url: str, backends: dict[str, str], **options: Any) -> databases.Database:
    """A ``databases.Database`` for ``url`` that takes its backend class from ``backends``
    (scheme → ``"module:Class"``) before its own."""
    cls = type(
        "PluggedDatabase",
        (databases.Database,),
        {"SUPPORTED_BACKENDS": {**databases.Database.SUPPORTED_BACKENDS, **backends}},
    )
    database: databases.Database = cls(url, **options)
    return database


def backend_of(database: databases.Database) -> Any:
    """The backend object (made once, in the constructor)."""
    return database._backend


def dialect_of(database: databases.Database) -> Dialect:
    dialect: Dialect = database._backend._dialect
    return dialect


def asyncpg_pool(backend: Any) -> Any:
    """A PostgreSQL backend's asyncpg pool; ``None`` while it is not connected."""
    return backend._pool


def record_dict(record: Any) -> dict[str, Any]:
    """A row that ``fetch_one``/``fetch_all`` returned, as ``{column: value}``."""
    return dict(record._mapping)


def sqlite_backend_setup(backend: SQLiteBackend) -> tuple[DatabaseURL, dict[str, Any]]:
    """The URL and connection options the SQLite backend was made with."""
    return backend._database_url, backend._options


def use_sqlite_pool(backend: SQLiteBackend, pool: SQLitePool) -> None:
    """Make ``pool`` the one the backend's connections take from (and ``disconnect`` clears)."""
    backend._pool = pool


def sqlite_pool_setup(pool: SQLitePool) -> tuple[str, dict[str, Any]]:
    """What a ``SQLitePool`` opens: the database (a file name, or a URI with its query) and
    the options for ``sqlite3.connect``."""
    return pool._database, pool._options


async def release_task_connection(database: databases.Database) -> None:
    """``databases`` releases a transaction's connection only after a successful COMMIT or
    ROLLBACK. When the connection died (the database went away mid-transaction), both fail, and
    the dead connection stays bound to the task and out of the pool: every later query of that
    task fails, and the pool shrinks by one each time. Give it back (nothing to do while a
    transaction of the task is still open)."""
    connection = database.connection()
    if connection._transaction_stack:
        return
    while connection._connection_counter > 0:
        try:
            await connection.__aexit__()
        except Exception:  # a dead connection may fail to release: drop it all the same
            connection._connection_counter = 0
            database._connection = None
