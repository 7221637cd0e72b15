"""Readiness: whether this process can serve, i.e. its database answers."""

from __future__ import annotations

import anyio

from ..store import Database, DatabaseUnavailable

__all__ = ["check_ready"]

_READY_TIMEOUT = 2.0


async def check_ready(db: Database) -> None:
    """Return when the database answers a trivial query; :class:`DatabaseUnavailable` if it
    does not within two seconds."""
    try:
        with anyio.fail_after(_READY_TIMEOUT):
            await db.fetch_val("SELECT 1")
    except TimeoutError:
        raise DatabaseUnavailable(f"no answer within {_READY_TIMEOUT:g} s") from None
