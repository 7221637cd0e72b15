"""The credit ledger of a team, as the API lists it (written by ``store.teams_sql`` and
``services.billing`` in the transaction of each change)."""

from __future__ import annotations

from saas_litellm_models import CreditTransaction, CreditTransactionList, CreditTransactionListQuery

from ..errors import NotFound
from ..store import Database, ledger_sql, teams_sql
from .pagination import page, position

__all__ = ["list_transactions"]


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
