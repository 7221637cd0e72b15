"""The credit ledger of a team, as the API lists it (written by ``store.teams_sql`` and
``services.billing`` in the transaction of each change)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from saas_litellm_models import (
    CreditTransaction,
    CreditTransactionKind,
    CreditTransactionList,
    CreditTransactionListQuery,
)

from .._csv import Cell, Export
from ..errors import NotFound
from ..store import Database, ledger_sql, teams_sql
from .pagination import page, position

__all__ = ["CSV_COLUMNS", "list_transactions", "transactions_csv"]

CSV_COLUMNS = tuple(CreditTransaction.model_fields)
"""The CSV's columns: the JSON transaction's fields, in order."""
_CSV_PAGE = 500


async def list_transactions(
    db: Database, team_id: str, query: CreditTransactionListQuery
) -> CreditTransactionList:
    """The team's transactions, newest first; a removed team's too (its history stays)."""
    if not await teams_sql.existed(db, team_id):
        raise NotFound(f"team {team_id!r} not found")
    rows = await ledger_sql.list_transactions(
        db, team_id, kind=query.kind, limit=query.limit + 1, after=position(query.cursor)
    )
    shown, next_cursor = page(rows, query.limit, "transaction_id", stamp="at")
    return CreditTransactionList(
        transactions=[CreditTransaction.model_validate(r) for r in shown],
        next_cursor=next_cursor,
    )


async def transactions_csv(
    db: Database, team_id: str, kind: CreditTransactionKind | None
) -> Export:
    """Every transaction of the team (of ``kind``, if given) as CSV, newest first, read a page
    at a time while it streams (the ledger only grows at its new end: the pages never shift)."""
    first = await list_transactions(
        db, team_id, CreditTransactionListQuery(limit=_CSV_PAGE, kind=kind)
    )

    async def rows() -> AsyncIterator[Sequence[Cell]]:
        listing = first
        while True:
            for t in listing.transactions:
                yield tuple(getattr(t, name) for name in CSV_COLUMNS)
            if listing.next_cursor is None:
                return
            listing = await list_transactions(
                db,
                team_id,
                CreditTransactionListQuery(limit=_CSV_PAGE, kind=kind, cursor=listing.next_cursor),
            )

    return Export(CSV_COLUMNS, rows(), f"transactions-{team_id}.csv")
