"""What the store relies on of aiosqlite's internals, in one place; ``tests/server/test_compat.py``
fails, naming the attribute and the version, when an upgrade takes any of it away.

An aiosqlite connection runs everything on a thread of its own, one trip per call: a statement
through its public API costs three (execute, fetch, close the cursor), and those trips are most
of a hot-path statement's cost on SQLite. :func:`on_thread` makes it one, with
``Connection._execute(fn, *args)`` (runs ``fn`` on the connection's thread, the result or the
error coming back to the awaiting task) and ``Connection._conn`` (the ``sqlite3.Connection`` it
wraps, to be used on that thread only).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

import aiosqlite

__all__ = ["on_thread"]

T = TypeVar("T")


async def on_thread(connection: aiosqlite.Connection, fn: Callable[..., T], *args: object) -> T:
    """``fn(sqlite3_connection, *args)`` on the connection's own thread, in one trip."""
    raw: sqlite3.Connection = connection._conn
    result: T = await connection._execute(fn, raw, *args)  # type: ignore[no-untyped-call]
    return result
