"""SQL for deployment cooldowns shared by every server process on the database: a deployment
that starts cooling down in one process is skipped by all of them."""

from __future__ import annotations

from ._database import Database, Statement

__all__ = ["active", "clear", "delete_expired", "start"]

# Extend a cooldown, never shorten one another process started.
_START = Statement(
    """
    INSERT INTO deployment_cooldowns (deployment_key, cooling_until)
    VALUES (:key, :until)
    ON CONFLICT (deployment_key) DO UPDATE SET cooling_until = excluded.cooling_until
    WHERE deployment_cooldowns.cooling_until < excluded.cooling_until
    """
)
_CLEAR = Statement("DELETE FROM deployment_cooldowns WHERE deployment_key = :key")
_ACTIVE = Statement(
    "SELECT deployment_key, cooling_until FROM deployment_cooldowns WHERE cooling_until > :now"
)
_DELETE_EXPIRED = Statement("DELETE FROM deployment_cooldowns WHERE cooling_until <= :now")


async def start(db: Database, key: str, until: float) -> None:
    """``key`` cools down until ``until`` (seconds since the epoch)."""
    await db.run(_START, {"key": key, "until": until}, fetch=False)


async def clear(db: Database, key: str) -> None:
    await db.run(_CLEAR, {"key": key}, fetch=False)


async def active(db: Database, now: float) -> dict[str, float]:
    """Every deployment cooling down at ``now``: its key and when its cooldown ends."""
    rows = await db.run(_ACTIVE, {"now": now})
    return {row["deployment_key"]: float(row["cooling_until"]) for row in rows}


async def delete_expired(db: Database, now: float) -> None:
    await db.run(_DELETE_EXPIRED, {"now": now}, fetch=False)
