"""SQL for dashboard sessions (``dashboard_sessions``): only the hash of each session's id is
stored. A session is read with its operator's current role in one statement, so that a sign-out,
a removal, a key rotation or a role change on any process is seen by the next request on every
other."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import sqlalchemy as sa

from ._database import Database
from .schema import dashboard_sessions, operators

__all__ = [
    "SessionRow",
    "delete_expired",
    "end_for_operator",
    "end_session",
    "insert_session",
    "live_session",
]


class SessionRow(TypedDict):
    operator_id: str | None
    role: str | None
    """The operator's role now (``None`` for an admin-key session)."""


async def insert_session(
    db: Database,
    *,
    session_hash: str,
    operator_id: str | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await db.execute(
        dashboard_sessions.insert().values(
            session_hash=session_hash,
            operator_id=operator_id,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def live_session(db: Database, session_hash: str, now: dt.datetime) -> SessionRow | None:
    """The session, if it is neither ended nor expired, and (for an operator's) its operator
    is not removed; with that operator's role."""
    s, o = dashboard_sessions.c, operators.c
    row = await db.fetch_one(
        sa.select(s.operator_id, o.role)
        .select_from(
            dashboard_sessions.outerjoin(
                operators, sa.and_(o.operator_id == s.operator_id, o.deleted_at.is_(None))
            )
        )
        .where(s.session_hash == session_hash, s.ended_at.is_(None), s.expires_at > now)
    )
    if row is None or (row["operator_id"] is not None and row["role"] is None):
        return None
    return SessionRow(operator_id=row["operator_id"], role=row["role"])


async def end_session(db: Database, session_hash: str, now: dt.datetime) -> None:
    await db.execute(
        dashboard_sessions.update()
        .where(dashboard_sessions.c.session_hash == session_hash)
        .values(ended_at=sa.func.coalesce(dashboard_sessions.c.ended_at, now))
    )


async def end_for_operator(db: Database, operator_id: str, now: dt.datetime) -> None:
    """End every session of the operator (removed, or its key rotated)."""
    await db.execute(
        dashboard_sessions.update()
        .where(
            dashboard_sessions.c.operator_id == operator_id,
            dashboard_sessions.c.ended_at.is_(None),
        )
        .values(ended_at=now)
    )


async def delete_expired(db: Database, now: dt.datetime) -> None:
    """Forget the sessions past their expiry (the maintenance sweep); an ended session is
    kept until then, as it would be refused anyway."""
    await db.execute(dashboard_sessions.delete().where(dashboard_sessions.c.expires_at <= now))
