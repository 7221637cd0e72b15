"""The internals of dependencies the server relies on, held to the versions installed.

Each ``_*_compat`` module is the only place that touches a library's private attributes; here
every one of them is checked, for what the server does with it, against the installed version.
An upgrade that takes one away, or changes what it means, fails here with a message that names
the attribute and the library's version, rather than in production.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import databases
import pytest
import sqlalchemy as sa
from aiohttp.base_protocol import BaseProtocol
from databases.backends.common.records import Record
from databases.backends.sqlite import SQLitePool
from databases.core import DatabaseURL
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateColumn, CreateTable

from saas_litellm_server.providers._aiohttp_compat import held
from saas_litellm_server.store import _databases_compat as dbc
from saas_litellm_server.store import schema
from saas_litellm_server.store._aiosqlite_compat import on_thread
from saas_litellm_server.store._database import _BACKENDS, normalize_url
from saas_litellm_server.store._sqlalchemy_compat import copy_column
from saas_litellm_server.store._sqlite import PooledSQLiteBackend


def gone(library: str, what: str) -> str:
    """The failure message: what the server relies on, and the version that broke it."""
    version = importlib.metadata.version(library)
    return f"{library} {version}: {what} is gone or changed; see the server's _compat modules"


def has(obj: object, attribute: str, library: str) -> None:
    name = obj.__name__ if isinstance(obj, type) else type(obj).__name__
    assert hasattr(obj, attribute), gone(library, f"{name}.{attribute}")


# --- databases (store/_databases_compat.py) ---------------------------------------------------


def _sqlite_database() -> Any:
    return databases.Database("sqlite+aiosqlite:///unused.db")


def _postgres_database() -> Any:
    return databases.Database("postgresql+asyncpg://unused@127.0.0.1/unused")


def _connection(database: Any) -> object:
    return databases.core.Connection(database, database._backend)


RELIED_ON: list[tuple[str, Callable[[], object], str]] = [
    ("databases", lambda: databases.Database, "SUPPORTED_BACKENDS"),
    ("databases", _sqlite_database, "_backend"),
    ("databases", lambda: databases.Database, "_connection"),
    ("databases", lambda: _sqlite_database()._backend, "_dialect"),
    ("databases", lambda: _sqlite_database()._backend, "_database_url"),
    ("databases", lambda: _sqlite_database()._backend, "_options"),
    ("databases", lambda: _sqlite_database()._backend, "_pool"),
    ("databases", lambda: _postgres_database()._backend, "_dialect"),
    ("databases", lambda: _postgres_database()._backend, "_pool"),
    ("databases", lambda: _sqlite_database()._backend._pool, "_database"),
    ("databases", lambda: _sqlite_database()._backend._pool, "_options"),
    ("databases", lambda: _connection(_sqlite_database()), "_transaction_stack"),
    ("databases", lambda: _connection(_sqlite_database()), "_connection_counter"),
    ("databases", lambda: Record, "_mapping"),
    ("aiosqlite", lambda: aiosqlite.Connection, "_execute"),
    ("aiosqlite", lambda: aiosqlite.Connection, "_conn"),
    ("sqlalchemy", lambda: sa.Column, "_copy"),
    ("aiohttp", lambda: aiohttp.StreamReader, "_buffer"),
    ("aiohttp", lambda: aiohttp.StreamReader, "_buffer_offset"),
]
"""Every private attribute the ``_*_compat`` modules use, and where it lives."""


@pytest.mark.parametrize(
    ("library", "owner", "attribute"),
    RELIED_ON,
    ids=[f"{library}-{attribute}" for library, _, attribute in RELIED_ON],
)
def test_every_private_attribute_relied_on_is_there(
    library: str, owner: Callable[[], object], attribute: str
) -> None:
    has(owner(), attribute, library)


async def _connected(database_url: str) -> Any:
    url, _ = normalize_url(database_url)
    database = dbc.plugged(url, _BACKENDS)
    await database.connect()
    return database


async def test_databases_takes_the_sqlite_backend_plugged_in_and_its_pool(tmp_path: Path) -> None:
    database = await _connected(f"sqlite:///{tmp_path}/x.db")
    try:
        backend = dbc.backend_of(database)
        assert isinstance(backend, PooledSQLiteBackend), gone(
            "databases", "Database.SUPPORTED_BACKENDS (a backend plugged in by URL scheme)"
        )
        # databases' own query path takes its connection from the pool put in place
        await database.fetch_one("SELECT 1")
        assert backend.pooled.usage() == (0, 1), gone(
            "databases", "SQLiteBackend._pool (the pool its connections take from)"
        )
        await database.disconnect()
        assert backend.pooled.usage() == (0, 0)
    finally:
        if database.is_connected:
            await database.disconnect()


def test_the_sqlite_backend_and_pool_say_what_they_open(tmp_path: Path) -> None:
    file = f"{tmp_path}/x.db"
    backend = PooledSQLiteBackend(DatabaseURL(f"sqlite+aiosqlite:///{file}"), timeout=7)
    url, options = dbc.sqlite_backend_setup(backend)
    assert (url.database, options) == (file, {"timeout": 7}), gone(
        "databases", "SQLiteBackend._database_url/_options"
    )

    pool = SQLitePool(DatabaseURL(f"sqlite+aiosqlite:///{file}?mode=ro"), timeout=7)
    assert dbc.sqlite_pool_setup(pool) == (f"{file}?mode=ro", {"timeout": 7}), gone(
        "databases", "SQLitePool._database/_options"
    )


async def test_the_dialect_and_records_of_databases(database_url: str, backend: str) -> None:
    database = await _connected(database_url)
    try:
        dialect = dbc.dialect_of(database)
        assert isinstance(dialect, sa.engine.Dialect), gone("databases", "backend._dialect")
        assert dialect.name == backend
        record = await database.fetch_one("SELECT 1 AS a, 'x' AS b")
        assert dbc.record_dict(record) == {"a": 1, "b": "x"}, gone("databases", "Record._mapping")
        assert [dbc.record_dict(r) for r in await database.fetch_all("SELECT 2 AS n")] == [{"n": 2}]
    finally:
        await database.disconnect()


async def test_the_asyncpg_pool_of_databases(postgres_database: str) -> None:
    url, _ = normalize_url(postgres_database)
    database = dbc.plugged(url, _BACKENDS)
    assert dbc.asyncpg_pool(dbc.backend_of(database)) is None, gone(
        "databases", "PostgresBackend._pool (None until connected)"
    )
    await database.connect()
    try:
        pool = dbc.asyncpg_pool(dbc.backend_of(database))
        assert pool is not None, gone("databases", "PostgresBackend._pool (asyncpg's pool)")
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT 41 + 1") == 42
            assert pool.get_size() - pool.get_idle_size() >= 1
    finally:
        await database.disconnect()


async def test_a_connection_left_bound_to_its_task_is_given_back(tmp_path: Path) -> None:
    database = await _connected(f"sqlite:///{tmp_path}/x.db")
    pool = dbc.backend_of(database).pooled
    try:
        # Inside a transaction the task's connection is the transaction's: left alone.
        async with database.transaction():
            bound = database.connection()
            has(bound, "_transaction_stack", "databases")
            await dbc.release_task_connection(database)
            assert database.connection() is bound
            assert pool.usage()[0] == 1
        # What a COMMIT or ROLLBACK that failed leaves: the connection held by the task.
        left = database.connection()
        await left.__aenter__()
        has(left, "_connection_counter", "databases")
        assert left._connection_counter == 1 and pool.usage()[0] == 1
        await dbc.release_task_connection(database)
        assert pool.usage()[0] == 0, gone("databases", "Connection._connection_counter")
        assert database.connection() is not left
        # A connection that fails to release (it died) is dropped from the task all the same.
        dead = database.connection()
        await dead.__aenter__()

        async def fails(*exc: object) -> None:
            raise ConnectionResetError

        dead.__aexit__ = fails
        await dbc.release_task_connection(database)
        assert database.connection() is not dead, gone(
            "databases", "the task-local Database._connection setter"
        )
        await dbc.backend_of(database).pooled.release(dead.raw_connection)
    finally:
        await database.disconnect()


# --- aiosqlite (store/_aiosqlite_compat.py) ---------------------------------------------------


async def test_aiosqlite_runs_a_function_on_the_connection_thread(tmp_path: Path) -> None:
    connection = aiosqlite.connect(str(tmp_path / "x.db"), isolation_level=None)
    await connection.__aenter__()
    try:
        has(connection, "_execute", "aiosqlite")
        has(connection, "_conn", "aiosqlite")
        await connection.execute("CREATE TABLE t (n INTEGER)")

        def insert_and_count(raw: sqlite3.Connection, n: int) -> tuple[int, int]:
            raw.execute("INSERT INTO t VALUES (?)", [n])
            return threading.get_ident(), raw.execute("SELECT COUNT(*) FROM t").fetchone()[0]

        first, count = await on_thread(connection, insert_and_count, 1)
        second, count = await on_thread(connection, insert_and_count, 2)
        assert first == second != threading.get_ident(), gone(
            "aiosqlite", "Connection._execute (runs on the connection's own thread)"
        )
        assert count == 2, gone("aiosqlite", "Connection._conn (the sqlite3 connection)")
        async with connection.execute("SELECT SUM(n) FROM t") as cursor:
            assert await cursor.fetchone() == (3,)  # the same database, seen through the API

        def fail(raw: sqlite3.Connection) -> None:
            raw.execute("SELECT * FROM nowhere")

        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await on_thread(connection, fail)
    finally:
        await connection.close()


# --- SQLAlchemy (store/_sqlalchemy_compat.py) -------------------------------------------------


@pytest.mark.parametrize("dialect", [sqlite_dialect.dialect(), postgresql.dialect()])
def test_sqlalchemy_copies_columns_into_tables_of_their_own(dialect: sa.Dialect) -> None:
    """Every column copies (name, type, nullability, default, key) into a new table, and a
    table without foreign keys (those are the table's, not copied: ``migrations._as_of``
    rebuilds ``idempotency_keys``) comes out the same."""
    copies = sa.MetaData()
    for table in schema.metadata.sorted_tables:
        copy = sa.Table(table.name, copies, *(copy_column(c) for c in table.columns))
        for column in table.columns:
            copied = copy.columns[column.name]
            assert (
                str(CreateColumn(copied).compile(dialect=dialect)),
                copied.primary_key,
            ) == (
                str(CreateColumn(column).compile(dialect=dialect)),
                column.primary_key,
            ), gone("sqlalchemy", f"Column._copy() ({table.name}.{column.name})")
        if not table.foreign_keys:
            original = str(CreateTable(table).compile(dialect=dialect))
            assert str(CreateTable(copy).compile(dialect=dialect)) == original
    assert not schema.idempotency_keys.foreign_keys


# --- aiohttp (providers/_aiohttp_compat.py) ---------------------------------------------------


async def test_aiohttp_hands_over_what_it_held_when_a_stream_is_cut() -> None:
    reader = aiohttp.StreamReader(
        BaseProtocol(asyncio.get_running_loop()), 2**16, loop=asyncio.get_running_loop()
    )
    has(reader, "_buffer", "aiohttp")
    has(reader, "_buffer_offset", "aiohttp")
    reader.feed_data(b'data: {"a": 1}\n\ndata: {"b"')
    reader.feed_data(b": 2}\n\n")
    assert await reader.readline() == b'data: {"a": 1}\n'
    assert held(reader) == b'\ndata: {"b": 2}\n\n', gone(
        "aiohttp", "StreamReader._buffer/_buffer_offset (the bytes received, not read)"
    )
    reader.set_exception(aiohttp.ClientPayloadError("cut"))
    # why the buffer is read at all: the reader raises before handing over what it holds
    with pytest.raises(aiohttp.ClientPayloadError):
        await reader.readline()
    assert held(reader) == b'\ndata: {"b": 2}\n\n'
