"""A pooled SQLite backend for ``databases``.

``databases`` 0.9 opens a brand-new aiosqlite connection (a new thread and a new file handle) for
every query outside a transaction, and each such connection syncs the disk on every commit. This
backend keeps a small pool of open connections instead, each set up once with the pragmas the
server relies on: WAL (set on the file by ``Database.connect``), ``synchronous=NORMAL`` (durable
with WAL) and a busy timeout for writers from other processes. What this takes of the internals
of ``databases`` and aiosqlite is in ``_databases_compat`` and ``_aiosqlite_compat``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite
from databases.backends.sqlite import SQLiteBackend, SQLitePool
from databases.core import DatabaseURL

from ._aiosqlite_compat import on_thread
from ._databases_compat import sqlite_backend_setup, sqlite_pool_setup, use_sqlite_pool

__all__ = [
    "BUSY_TIMEOUT_MS",
    "PooledSQLiteBackend",
    "grouped_inline",
    "run_atomic_sqlite",
    "run_inline",
    "run_statement",
]

_MAX_OPEN = 16
"""Connections (each with its own thread) at most: SQLite has one writer at a time anyway, and
a burst (say 1000 streams ending at once) must not become 1000 threads."""
BUSY_TIMEOUT_MS = 30_000


class _Pool(SQLitePool):
    def __init__(self, url: DatabaseURL, **options: Any) -> None:
        super().__init__(url, **options)
        self._file, self._connect_options = sqlite_pool_setup(self)
        self._idle: list[aiosqlite.Connection] = []
        self._slots = asyncio.Semaphore(_MAX_OPEN)
        self._lent = 0
        """Slots taken (connections lent out, or being opened), counted here rather than read
        from the semaphore's private ``_value``."""

    async def acquire(self) -> aiosqlite.Connection:
        await self._slots.acquire()
        self._lent += 1
        try:
            return await self._open()
        except BaseException:
            self._give_back_slot()
            raise

    def _give_back_slot(self) -> None:
        self._lent -= 1
        self._slots.release()

    async def _open(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        connection = aiosqlite.connect(
            database=self._file, isolation_level=None, **self._connect_options
        )
        await connection.__aenter__()
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def usage(self) -> tuple[int, int]:
        """``(connections lent out, connections open)``: the pool opens connections as needed,
        up to ``_MAX_OPEN``, and keeps the returned ones idle."""
        return self._lent, self._lent + len(self._idle)

    async def release(self, connection: aiosqlite.Connection) -> None:
        try:
            if connection.in_transaction:
                await connection.close()
            else:
                self._idle.append(connection)
        finally:
            self._give_back_slot()

    def open_inline(self, *, writer: bool) -> sqlite3.Connection | None:
        """A connection used on the event loop's own thread (``None`` for an in-memory database,
        which another connection would not see). It never waits for a lock: in WAL mode a
        reader needs none, this process's writers queue on its write lock before they use it,
        and when another process holds the lock the statement goes to a pooled connection's
        thread instead (see :func:`run_inline`). The writer leaves WAL
        checkpoints to those connections (``Database`` asks for one every so many writes): a
        checkpoint syncs the disk, which must not stall the event loop."""
        if ":memory:" in self._file or "mode=memory" in self._file:
            return None
        connection: sqlite3.Connection = sqlite3.connect(
            self._file, isolation_level=None, check_same_thread=False, **self._connect_options
        )
        connection.execute("PRAGMA busy_timeout=0")
        if writer:
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA wal_autocheckpoint=0")
        else:
            connection.execute("PRAGMA query_only=ON")
        return connection

    async def close_all(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class PooledSQLiteBackend(SQLiteBackend):
    def __init__(self, database_url: DatabaseURL | str, **options: Any) -> None:
        super().__init__(database_url, **options)
        url, options = sqlite_backend_setup(self)
        self.pooled = _Pool(url, **options)
        use_sqlite_pool(self, self.pooled)

    async def disconnect(self) -> None:
        await self.pooled.close_all()
        await super().disconnect()


def _execute(
    connection: sqlite3.Connection, sql: str, args: list[Any], fetch: bool
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Execute, fetch and close the cursor (so that no read transaction stays open), on the
    calling thread: a pooled connection's, or the event loop's."""
    cursor = connection.execute(sql, args)
    try:
        if not fetch:
            return [], []
        return [column[0] for column in cursor.description or ()], cursor.fetchall()
    finally:
        cursor.close()


async def run_statement(
    connection: aiosqlite.Connection, sql: str, args: list[Any], *, fetch: bool
) -> list[dict[str, Any]]:
    """Execute, fetch and close in one trip to the connection's thread (aiosqlite's own cursor
    API takes three), which is most of a hot-path statement's cost on SQLite."""
    names, rows = await on_thread(connection, _execute, sql, args, fetch)
    return [dict(zip(names, row, strict=True)) for row in rows]


def run_inline(
    connection: sqlite3.Connection, sql: str, args: list[Any], *, fetch: bool
) -> list[dict[str, Any]] | None:
    """A hot-path statement (an indexed lookup or a one-row write: tens of microseconds) on the
    calling thread, without the trip to a connection's thread that costs ~0.1 ms and the GIL
    hand-offs that go with it (a write: the caller holds the process's write lock); ``None``
    when SQLite would have to wait for another process's lock (run it on a pooled connection
    then)."""
    try:
        names, rows = _execute(connection, sql, args, fetch)
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            return None
        raise
    return [dict(zip(names, row, strict=True)) for row in rows]


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def grouped_inline(
    connection: sqlite3.Connection, batches: list[list[tuple[str, list[Any], bool]]]
) -> list[list[list[dict[str, Any]]] | Exception] | None:
    """Several atomic batches (as :func:`run_atomic_sqlite` runs one) in one transaction, each
    under a savepoint of its own: one that fails is rolled back alone (its error in its place of
    the result), the others commit together, with one commit's WAL frames for pages they share.
    ``None`` when another process holds SQLite's write lock and nothing was done."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            return None
        raise
    results: list[list[list[dict[str, Any]]] | Exception] = []
    try:
        for batch in batches:
            connection.execute("SAVEPOINT batch")
            try:
                done = _gated(connection, batch)
            except Exception as exc:
                connection.execute("ROLLBACK TO batch")
                results.append(exc)
            else:
                results.append(done)
            connection.execute("RELEASE batch")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return results


def _atomic_in_thread(
    connection: sqlite3.Connection, batch: list[tuple[str, list[Any], bool]]
) -> list[list[dict[str, Any]]]:
    connection.execute("BEGIN IMMEDIATE")
    return _steps(connection, batch)


def _steps(
    connection: sqlite3.Connection, batch: list[tuple[str, list[Any], bool]]
) -> list[list[dict[str, Any]]]:
    """The steps of a transaction begun, then ``COMMIT``; the rows of each step that ran."""
    try:
        done = _gated(connection, batch)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return done


def _gated(
    connection: sqlite3.Connection, batch: list[tuple[str, list[Any], bool]]
) -> list[list[dict[str, Any]]]:
    """Run the steps in order; the rows of each step that ran (a *gate* step that returns none
    ends the batch there)."""
    done: list[list[dict[str, Any]]] = []
    for sql, args, gate in batch:
        names, rows = _execute(connection, sql, args, True)
        done.append([dict(zip(names, row, strict=True)) for row in rows])
        if gate and not rows:
            break
    return done


async def run_atomic_sqlite(
    connection: aiosqlite.Connection, batch: list[tuple[str, list[Any], bool]]
) -> list[list[dict[str, Any]]]:
    """Run ``(sql, args, gate)`` steps in one ``BEGIN IMMEDIATE`` transaction, in one trip to
    the connection's thread; the rows of each step that ran."""
    return await on_thread(connection, _atomic_in_thread, batch)
