"""SQL for failed authentications, counted per client address in fixed windows in the database,
so that every server process sharing it counts the same failures (see ``services.lockout``)."""

from __future__ import annotations

from ._database import Database, Statement

__all__ = ["add", "count", "delete_before"]

_ADD = Statement(
    """
    INSERT INTO auth_failures (address, window_id, failures) VALUES (:address, :window_id, 1)
    ON CONFLICT (address, window_id) DO UPDATE SET failures = auth_failures.failures + 1
    RETURNING failures
    """
)
_COUNT = Statement(
    "SELECT failures FROM auth_failures WHERE address = :address AND window_id = :window_id"
)
_DELETE_BEFORE = Statement("DELETE FROM auth_failures WHERE window_id < :window_id")


async def add(db: Database, address: str, window_id: int) -> int:
    """Count one failure; the window's failures from ``address`` now."""
    row = await db.run_one(_ADD, {"address": address, "window_id": window_id})
    return 0 if row is None else int(row["failures"])


async def count(db: Database, address: str, window_id: int) -> int:
    row = await db.run_one(_COUNT, {"address": address, "window_id": window_id})
    return 0 if row is None else int(row["failures"])


async def delete_before(db: Database, window_id: int) -> None:
    await db.run(_DELETE_BEFORE, {"window_id": window_id}, fetch=False)
