"""SQL for the credit ledger: one append-only row per change of a team's credits.

A row is written in the transaction of the change it records, with the team's
``credits_remaining`` after it, so that the credits of a team's rows always add up to its
balance. ``dedupe_key`` names what caused a row (a job's charge, a team's first grant): a unique
index makes a second row for the same cause impossible, and :func:`append` raises rather than
drop a row, so that the change it records rolls back with it — the ledger never loses a real
change of credits. (What makes a change happen once is the change's own conditional update: a
settlement's claim, a refill's period.)
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TypedDict

import sqlalchemy as sa

from ._database import Database
from ._util import insert_ignore, newest_first, stamp
from .schema import credit_transactions

__all__ = ["DuplicateEntry", "TransactionRow", "append", "balance_of", "list_transactions"]


class TransactionRow(TypedDict):
    transaction_id: str
    at: dt.datetime
    kind: str
    credits: int
    credits_remaining_after: int
    job_id: str | None
    reason: str | None


class DuplicateEntry(RuntimeError):
    """A second ledger row for the same cause: the change that wanted it must not happen (its
    transaction rolls back)."""


async def append(
    db: Database,
    *,
    team_id: str,
    kind: str,
    credits: int,
    credits_remaining_after: int,
    at: dt.datetime,
    job_id: str | None = None,
    reason: str | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Write one transaction (inside the change's transaction); :class:`DuplicateEntry` if
    ``dedupe_key`` was written already."""
    row = await db.fetch_one(
        insert_ignore(
            db,
            credit_transactions,
            transaction_id="ctx_" + secrets.token_hex(12),
            team_id=team_id,
            at=at,
            kind=kind,
            credits=credits,
            credits_remaining_after=credits_remaining_after,
            job_id=job_id,
            reason=reason,
            dedupe_key=dedupe_key,
        )
    )
    if row is None:
        raise DuplicateEntry(f"the ledger already has {dedupe_key!r} for team {team_id!r}")


async def list_transactions(
    db: Database,
    team_id: str,
    *,
    kind: str | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> list[TransactionRow]:
    """A page of the team's transactions, newest first."""
    query = credit_transactions.select().where(credit_transactions.c.team_id == team_id)
    if kind is not None:
        query = query.where(credit_transactions.c.kind == kind)
    rows = await db.fetch_all(
        newest_first(
            query,
            credit_transactions.c.at,
            credit_transactions.c.transaction_id,
            after=after,
            limit=limit,
        )
    )
    return [
        TransactionRow(
            transaction_id=r["transaction_id"],
            at=stamp(r["at"]),
            kind=r["kind"],
            credits=int(r["credits"]),
            credits_remaining_after=int(r["credits_remaining_after"]),
            job_id=r["job_id"],
            reason=r["reason"],
        )
        for r in rows
    ]


async def balance_of(db: Database, team_id: str) -> int:
    """The sum of the team's transactions (what its credits_remaining must be)."""
    value = await db.fetch_val(
        sa.select(sa.func.coalesce(sa.func.sum(credit_transactions.c.credits), 0)).where(
            credit_transactions.c.team_id == team_id
        )
    )
    return int(value)
