"""SQL for per-team rate limits: fixed windows counted in the database, so that every server
process sharing it enforces the same limits."""

from __future__ import annotations

from ._database import Database, Statement

__all__ = ["TOKENS_OF_CALL", "admit", "delete_before", "window_usage"]

# Count the request if the window still has room; no row back when it has none.
_ADMIT = Statement(
    """
    INSERT INTO rate_windows (team_id, window_id, requests, tokens)
    VALUES (:team_id, :window_id, 1, 0)
    ON CONFLICT (team_id, window_id) DO UPDATE SET requests = rate_windows.requests + 1
    WHERE rate_windows.requests < :rpm AND rate_windows.tokens < :tpm
    RETURNING requests
    """
)
TOKENS_OF_CALL = Statement(
    "UPDATE rate_windows SET tokens = tokens + :total_tokens "
    "WHERE team_id = :team_id AND window_id = :rate_window"
)
"""The tokens of a call just recorded, added to its team's window: a part of the call's record
(``calls_sql.finish_call``), whose ``team_id`` and ``total_tokens`` it reads."""
_USAGE = Statement(
    "SELECT requests, tokens FROM rate_windows WHERE team_id = :team_id AND window_id = :window_id"
)
_DELETE_BEFORE = Statement("DELETE FROM rate_windows WHERE window_id < :window_id")

_UNLIMITED = 2**31 - 1  # "no limit", within the INTEGER column (and asyncpg int32) range


async def admit(
    db: Database, team_id: str, window_id: int, *, rpm: int | None, tpm: int | None
) -> bool:
    """Count one request in the window if both limits leave room for it."""
    values = {
        "team_id": team_id,
        "window_id": window_id,
        "rpm": _UNLIMITED if rpm is None else rpm,
        "tpm": _UNLIMITED if tpm is None else tpm,
    }
    return bool(await db.run(_ADMIT, values))


async def window_usage(db: Database, team_id: str, window_id: int) -> tuple[int, int]:
    row = await db.run_one(_USAGE, {"team_id": team_id, "window_id": window_id})
    return (0, 0) if row is None else (int(row["requests"]), int(row["tokens"]))


async def delete_before(db: Database, window_id: int) -> None:
    await db.run(_DELETE_BEFORE, {"window_id": window_id}, fetch=False)
