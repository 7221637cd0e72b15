"""The store's one door to the database: :class:`Database`, over the ``databases`` package.

Everything else in the store talks to :class:`Database` with SQLAlchemy Core expressions and gets
plain dicts back: only this module, ``_sqlite`` (the pooled SQLite backend it plugs into
``databases``) and ``_databases_compat`` (the internals of ``databases`` both rely on) know the
package, so swapping it for SQLAlchemy's own async engine would change those three alone.

Rules this wrapper exists to keep (``databases`` 0.9 hands each asyncio task its own connection):
never start tasks inside :meth:`Database.transaction`, and on SQLite make the first statement of a
transaction a write, because a read-then-write transaction fails with ``database is locked``.

The hot path (authenticate, look up a job, record a call) uses :class:`Statement`: SQL written
once, converted once to the driver's parameter style and run on the driver's own pooled
connection. Going through ``databases`` costs a SQLAlchemy compilation and several layers per
query (~0.3 ms); a statement costs what the driver costs (0.05 to 0.1 ms). Inside a transaction
a statement runs on the transaction's connection; :meth:`Database.run_atomic` runs a few
statements as one transaction of their own, in one trip.

Every write a request attempts is noted (:func:`track_writes`), so that when the database goes
away mid-request the server can tell "nothing was changed" from "the outcome is unknown".

No session state on PostgreSQL, so that a pooler in transaction mode (PgBouncer) may run each
transaction, and each statement outside one, on another server connection: no ``SET`` (the one
setting the store changes, ``synchronous_commit`` as a call begins, is ``set_config(…, true)``:
local to that statement's transaction), only transaction-scoped advisory locks
(``pg_advisory_xact_lock``, the migrations'), no ``LISTEN``/``NOTIFY`` (processes poll), no
temporary tables, no cursors (``FOR UPDATE``/``SKIP LOCKED`` locks end with their transaction),
and no connection held across statements outside a transaction. What is left, asyncpg's cache of
named prepared statements, ``Database(transaction_pooling=True)`` turns off
(``SAAS_LITELLM_DATABASE_TRANSACTION_POOLING``). Keep it so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.expression import ClauseElement

from .._timing import add_db
from . import _databases_compat as compat
from ._sqlite import (
    BUSY_TIMEOUT_MS,
    grouped_inline,
    run_atomic_sqlite,
    run_inline,
    run_statement,
)

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "Row",
    "Statement",
    "normalize_url",
    "track_writes",
    "writes_attempted",
]

Row = dict[str, Any]
"""A record as the driver hands it: inside the store only, whose modules hand out typed rows."""
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


async def _keep_session(connection: Any) -> None:
    return None


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (down, restarting, locked): worth retrying."""


def _is_connectivity_error(exc: BaseException) -> bool:
    import sqlite3

    import asyncpg

    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text or "unable to open" in text
    return isinstance(
        exc,
        OSError
        | TimeoutError
        | asyncpg.PostgresConnectionError
        | asyncpg.OperatorInterventionError
        | asyncpg.InterfaceError
        # "too many clients": every connection slot of the server (or the role) is taken
        | asyncpg.TooManyConnectionsError,
    )


@contextlib.asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if _is_connectivity_error(exc):
            raise DatabaseUnavailable(
                f"the database is unavailable ({type(exc).__name__})"
            ) from exc
        raise


class _timed:
    """Adds the time spent in the block to the request's ``db`` time (``Server-Timing``), and
    with tracing on makes it a span named by ``query``. A class, not a generator: it runs
    around every statement."""

    __slots__ = ("_query", "_start")

    def __init__(self, query: object) -> None:
        self._query = query

    async def __aenter__(self) -> None:
        self._start = time.perf_counter()

    async def __aexit__(self, *exc_info: object) -> None:
        add_db(time.perf_counter() - self._start, self._query)


_in_transaction: ContextVar[bool] = ContextVar("saas_litellm_in_transaction", default=False)
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "saas_litellm_after_commit", default=None
)
_writes: ContextVar[list[bool] | None] = ContextVar("saas_litellm_writes", default=None)
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_READ_ONLY = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")
_CHECKPOINT_EVERY = 1000
_RESTART_WAIT_MS = 200
"""The longest the WAL's restart waits for other connections' reads, holding the write lock."""
"""SQLite: inline writes between two WAL checkpoints (SQLite's own default: 1,000 pages)."""
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+([A-Za-z_]\w*)", re.IGNORECASE)
"""The first table a statement names (the span name of its trace)."""
_MODIFIES = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")
"""In a ``WITH`` statement: a data-modifying part (PostgreSQL)."""


@contextlib.contextmanager
def track_writes() -> Iterator[None]:
    """Note, for the code inside (one request), whether it attempted any write."""
    token = _writes.set([False])
    try:
        yield
    finally:
        _writes.reset(token)


def writes_attempted() -> bool:
    """Whether the current request sent the database anything that may have changed it."""
    noted = _writes.get()
    return bool(noted and noted[0])


def _note_write() -> None:
    noted = _writes.get()
    if noted is not None:
        noted[0] = True


def _note_if_write(query: Any) -> None:
    if isinstance(query, str):
        if not query.lstrip()[:8].upper().startswith(_READ_ONLY):
            _note_write()
    elif getattr(query, "is_dml", False):
        _note_write()


class Statement:
    """One SQL statement with ``:named`` parameters, converted once per backend."""

    def __init__(self, sql: str) -> None:
        self.sql = " ".join(sql.split())
        upper = self.sql.upper()
        self.writes = not upper.startswith(_READ_ONLY) or (
            upper.startswith("WITH") and _MODIFIES.search(upper) is not None
        )
        self._names = _PARAM.findall(self.sql)
        table = _TABLE.search(self.sql)
        operation = upper.split(" ", 1)[0]
        self.summary = f"{operation} {table.group(1)}" if table else operation
        """What the statement does, without its values: ``SELECT jobs`` (a trace's span name)."""
        self._postgres = self._to_numbered()
        self._sqlite = _PARAM.sub("?", self.sql)

    def _to_numbered(self) -> str:
        numbers: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

        return _PARAM.sub(number, self.sql)

    def for_postgres(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        return self._postgres, [values[name] for name in dict.fromkeys(self._names)]

    def for_sqlite(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        return self._sqlite, [_sqlite_value(values[name]) for name in self._names]


def _sqlite_value(value: Any) -> Any:
    # Stored the way SQLAlchemy's SQLite DateTime stores it, so both paths read each other.
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


_BACKENDS = {"sqlite+aiosqlite": "saas_litellm_server.store._sqlite:PooledSQLiteBackend"}
"""The backends of ``databases`` replaced by the store's own."""


class Database:
    """A connection pool plus the few query primitives the store needs."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        transaction_pooling: bool = False,
        **options: Any,
    ) -> None:
        """``transaction_pooling``: PostgreSQL is reached through a pooler in transaction mode
        (PgBouncer ``pool_mode = transaction``), which hands each transaction, and each
        statement outside one, whichever server connection is free. The store keeps no session
        state (see the module's docstring), so the one thing to change is asyncpg's statement
        cache: its named prepared statements live on the server connection that prepared them,
        and the next statement may run on another ("prepared statement … does not exist").
        Without the cache every statement is prepared unnamed again each time, which asyncpg
        does in a round trip of its own before running it: two round trips per statement
        (``bench/capacity.py`` counts 2.0 → 4.0 per job_based call) and about twice the time
        per query (0.11 → 0.23 ms here), hence off by default."""
        self.url, self.backend = normalize_url(url)
        if self.backend == "postgresql":
            # Fail fast when PostgreSQL is unreachable, rather than after asyncpg's 60 s.
            options = {
                "min_size": 1,
                "max_size": pool_size,
                "timeout": 5,
                "command_timeout": 30,
                # asyncpg resets every connection it takes back (one more round trip per
                # query, ~0.5 ms); the store keeps no session state (no session advisory locks,
                # LISTEN or SET), so there is nothing to reset.
                "reset": _keep_session,
                **({"statement_cache_size": 0} if transaction_pooling else {}),
                **options,
            }
        self._db = compat.plugged(self.url, _BACKENDS, **options)
        self._backend = compat.backend_of(self._db)
        # SQLite has one writer at a time. Queueing this process's transactions on a lock is much
        # cheaper than letting them collide on SQLite's busy handler, which sleeps and retries.
        self._write_lock = asyncio.Lock() if self.backend == "sqlite" else None
        self._group: list[tuple[list[tuple[str, list[Any], bool]], asyncio.Future[Any]]] = []
        """SQLite writes waiting for the next group commit (:meth:`_commit_grouped`)."""
        self._committer: asyncio.Task[None] | None = None
        self._reader: sqlite3.Connection | None = None
        """SQLite: the connection of hot-path reads on the event loop's thread."""
        self._writer: sqlite3.Connection | None = None
        """SQLite: the connection of hot-path writes on the event loop's thread."""
        self._inline_writes = 0

    @property
    def dialect(self) -> Dialect:
        return compat.dialect_of(self._db)

    def pool_usage(self) -> tuple[int, int] | None:
        """``(connections in use, connections open)`` of the pool, for the metrics; ``None``
        before it is connected."""
        if self.backend == "postgresql":
            pool = compat.asyncpg_pool(self._backend)
            if pool is None:
                return None
            size: int = pool.get_size()
            idle: int = pool.get_idle_size()
            return size - idle, size
        usage: tuple[int, int] = self._backend.pooled.usage()
        return usage

    async def connect(self) -> None:
        await self._db.connect()
        if self.backend == "sqlite" and ":memory:" not in self.url:
            # WAL lets readers run while a writer commits; NORMAL is durable enough with WAL.
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
        if self.backend == "sqlite":
            pool = self._backend.pooled
            self._reader = pool.open_inline(writer=False)
            self._writer = pool.open_inline(writer=True)

    async def disconnect(self) -> None:
        for inline in (self._reader, self._writer):
            if inline is not None:
                inline.close()
        self._reader = self._writer = None
        await self._db.disconnect()

    async def fetch_one(self, query: Query, values: Mapping[str, Any] | None = None) -> Row | None:
        _note_if_write(query)
        async with _reachable(), _timed(query):
            row = await self._db.fetch_one(query, values)  # type: ignore[arg-type]
        return None if row is None else compat.record_dict(row)

    async def fetch_all(self, query: Query, values: Mapping[str, Any] | None = None) -> list[Row]:
        _note_if_write(query)
        async with _reachable(), _timed(query):
            rows = await self._db.fetch_all(query, values)  # type: ignore[arg-type]
        return [compat.record_dict(row) for row in rows]

    async def fetch_val(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        _note_if_write(query)
        async with _reachable(), _timed(query):
            return await self._db.fetch_val(query, values)  # type: ignore[arg-type]

    async def execute(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        _note_if_write(query)
        async with _reachable(), _timed(query):
            return await self._db.execute(query, values)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """All statements of the current task inside the block commit or roll back together.
        Nested blocks are savepoints of the outer transaction."""
        _note_write()
        if _in_transaction.get():
            async with _reachable(), self._db.transaction():
                yield
            return
        token = _in_transaction.set(True)
        callbacks: list[Callable[[], None]] = []
        pending = _after_commit.set(callbacks)
        try:
            async with _reachable():
                try:
                    if self._write_lock is None:
                        async with self._db.transaction():
                            yield
                    else:
                        async with self._write_lock, self._db.transaction():
                            yield
                except BaseException:
                    # a connection that died mid-transaction stays bound to the task otherwise
                    await compat.release_task_connection(self._db)
                    raise
        finally:
            _after_commit.reset(pending)
            _in_transaction.reset(token)
        for callback in callbacks:  # committed
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction commits (never if it rolls back); at
        once outside a transaction, where every statement commits by itself."""
        pending = _after_commit.get()
        if pending is None:
            callback()
        else:
            pending.append(callback)

    async def run(
        self, statement: Statement, values: Mapping[str, Any], *, fetch: bool = True
    ) -> list[Row]:
        """Run a hot-path :class:`Statement` on a pooled driver connection (inside a transaction:
        on the transaction's); rows as dicts.

        On SQLite, statements run on the event loop's thread (a hot-path statement takes tens of
        microseconds; the trip to a connection's thread cost ~0.1 ms and GIL hand-offs), a
        write in the next group commit (:meth:`_grouped`), under the process's write lock:
        SQLite takes one writer at a time, and queueing them here costs nothing where colliding
        costs the busy handler's sleeps."""
        if statement.writes:
            _note_write()
        async with _reachable(), _timed(statement):
            if _in_transaction.get():
                raw = self._db.connection().raw_connection
                return await self._on(raw, statement, values, fetch=fetch)
            if self._write_lock is None:
                return await self._run(statement, values, fetch=fetch)
            if not statement.writes:
                if self._reader is not None:
                    rows = run_inline(self._reader, *statement.for_sqlite(values), fetch=True)
                    if rows is not None:
                        return rows
                return await self._run(statement, values, fetch=fetch)
            if self._writer is None:
                async with self._write_lock:
                    return await self._run(statement, values, fetch=fetch)
            sql, args = statement.for_sqlite(values)
            (rows,) = await self._grouped([(sql, args, False)])
            return rows if fetch else []

    async def run_atomic(
        self, steps: Sequence[tuple[Statement, Mapping[str, Any], bool]]
    ) -> list[list[Row]]:
        """Run ``(statement, values, gate)`` steps as one transaction of their own, on one
        pooled connection, in one trip; the rows of each step that ran. A *gate* step that
        returns no row ends the transaction there: the steps after it do not run (what ran
        commits)."""
        _note_write()
        if _in_transaction.get():
            raise RuntimeError("run_atomic is a transaction of its own: not inside another")
        async with _reachable(), _timed(steps):
            if self.backend == "postgresql":
                done: list[list[Row]] = []
                pg_pool = compat.asyncpg_pool(self._backend)
                async with pg_pool.acquire() as connection, connection.transaction():
                    for statement, values, gate in steps:
                        sql, args = statement.for_postgres(values)
                        rows = [dict(r) for r in await connection.fetch(sql, *args)]
                        done.append(rows)
                        if gate and not rows:
                            break
                return done
            assert self._write_lock is not None
            batch = [(*s.for_sqlite(v), gate) for s, v, gate in steps]
            if self._writer is not None:
                return await self._grouped(batch)
            async with self._write_lock:
                return await self._atomic_pooled(batch)

    async def _atomic_pooled(self, batch: list[tuple[str, list[Any], bool]]) -> list[list[Row]]:
        pool = self._backend.pooled
        connection = await pool.acquire()
        try:
            return await run_atomic_sqlite(connection, batch)
        finally:
            await pool.release(connection)

    async def _grouped(self, batch: list[tuple[str, list[Any], bool]]) -> list[list[Row]]:
        """Run ``batch`` atomically in the next group commit (SQLite): the writes that arrive
        in the same turn of the event loop (calls ending together under load) share one
        transaction — one commit and one copy of each page they touch in the WAL instead of
        one each — each under its own savepoint. Its caller resumes once it committed, as
        before; at concurrency 1 it waits one turn of the loop."""
        future: asyncio.Future[list[list[Row]]] = asyncio.get_running_loop().create_future()
        self._group.append((batch, future))
        if self._committer is None:
            self._committer = asyncio.ensure_future(self._commit_grouped())
        return await future

    async def _commit_grouped(self) -> None:
        assert self._write_lock is not None
        async with self._write_lock:
            group, self._group = self._group, []
            self._committer = None  # what arrives from now on waits for the next group
            group = [(batch, future) for batch, future in group if not future.done()]
            if not group:
                return
            try:
                assert self._writer is not None
                results = grouped_inline(self._writer, [batch for batch, _ in group])
                if results is None:  # another process holds SQLite's lock: wait on a thread
                    results = []
                    for batch, future in group:
                        try:
                            results.append(
                                [] if future.done() else await self._atomic_pooled(batch)
                            )
                        except Exception as exc:
                            results.append(exc)
            except Exception as exc:  # the commit itself failed: nothing of the group is in
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return
            except BaseException:
                for _, future in group:
                    future.cancel()
                raise
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        await self._wrote_inline(len(group))

    async def _wrote_inline(self, count: int = 1) -> None:
        """Every ``_CHECKPOINT_EVERY`` writes on the event loop's thread (``count``: the ones
        just committed), move the WAL into the
        database file from a pooled connection's thread (the inline writer never does: a
        checkpoint syncs the disk), so that the WAL stays small. Called once the write lock is
        released. Two checkpoints: a PASSIVE one (it waits for no one) for the bulk with writers
        going on, then, under the write lock, a RESTART of the few frames they added meanwhile,
        which waits (briefly) for other connections' reads to leave the WAL, so that the next
        write starts it over; without it, writes that never pause kept it growing (189 MB for a
        5 MB database after 18,000 calls; a second PASSIVE one left the restart to chance and
        it still grew, to 134 MB after 9,000 calls on a slower machine), and every read slower,
        as a read searches the WAL's index from its newest frame back."""
        before, self._inline_writes = self._inline_writes, self._inline_writes + count
        if before // _CHECKPOINT_EVERY == self._inline_writes // _CHECKPOINT_EVERY:
            return
        assert self._write_lock is not None
        pool = self._backend.pooled
        connection = await pool.acquire()
        try:
            await run_statement(connection, "PRAGMA wal_checkpoint(PASSIVE)", [], fetch=True)
            async with self._write_lock:
                # RESTART, waiting at most _RESTART_WAIT_MS for readers of other connections
                # to move off the WAL: then the next write starts it over (a PASSIVE one left
                # that to chance, and under constant reads the WAL kept growing)
                await run_statement(
                    connection, f"PRAGMA busy_timeout={_RESTART_WAIT_MS}", [], fetch=True
                )
                try:
                    await run_statement(
                        connection, "PRAGMA wal_checkpoint(RESTART)", [], fetch=True
                    )
                finally:
                    await run_statement(
                        connection, f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}", [], fetch=True
                    )
        finally:
            await pool.release(connection)

    async def _run(
        self, statement: Statement, values: Mapping[str, Any], *, fetch: bool
    ) -> list[Row]:
        if self.backend == "postgresql":
            async with compat.asyncpg_pool(self._backend).acquire() as connection:
                return await self._on(connection, statement, values, fetch=fetch)
        pool = self._backend.pooled
        connection = await pool.acquire()
        try:
            return await self._on(connection, statement, values, fetch=fetch)
        finally:
            await pool.release(connection)

    async def _on(
        self, connection: Any, statement: Statement, values: Mapping[str, Any], *, fetch: bool
    ) -> list[Row]:
        if self.backend == "postgresql":
            sql, args = statement.for_postgres(values)
            if not fetch:
                await connection.execute(sql, *args)
                return []
            return [dict(record) for record in await connection.fetch(sql, *args)]
        sql, args = statement.for_sqlite(values)
        return await run_statement(connection, sql, args, fetch=fetch)

    async def run_one(self, statement: Statement, values: Mapping[str, Any]) -> Row | None:
        rows = await self.run(statement, values)
        return rows[0] if rows else None
