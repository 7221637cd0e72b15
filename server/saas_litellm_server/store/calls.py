"""SQL for recorded LLM calls.

A call is written with one upsert keyed by its id: once when it ends, and for a streamed call
also at checkpoints while it streams (status ``streaming``), so that a crash loses at most the
tokens since the last checkpoint. :func:`interrupt` closes the calls whose server is gone.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from ._database import Database, Row, Statement, StatementMatchedNothing
from ._util import dumps, utc, utcnow
from .schema import calls

__all__ = ["interrupt", "list_calls", "record_call"]


_COLUMNS = [c.name for c in calls.columns]
_UPSERT = Statement(  # column names from the schema; every value is a bound parameter
    f"INSERT INTO llm_calls ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
    "ON CONFLICT (call_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in ("call_id", "created_at"))
)
_DEFAULTS: dict[str, Any] = {
    "deployment": None,
    "provider": None,
    "streamed": False,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "cost_usd": 0.0,
    "provider_cost_usd": 0.0,
    "client_cost_usd": 0.0,
    "latency_ms": 0.0,
    "finish_reason": None,
    "purpose": None,
    "error_type": None,
    "error_message": None,
    "alive_until": None,
}


async def record_call(
    db: Database,
    *,
    metadata: dict[str, Any] | None = None,
    also: tuple[Statement, dict[str, Any]] | None = None,
    **values: Any,
) -> None:
    """Write a call (every call of every job: on the hot path). ``also`` is a statement to
    commit in the same transaction, which must match a row (the kept idempotent response);
    when it matches none, :class:`StatementMatchedNothing` is raised and the call may or may not
    be written (the caller writes it again: the upsert is idempotent).

    On PostgreSQL the two are one statement (``also`` in a ``WITH``), one round trip instead of
    four (``BEGIN``, two statements, ``COMMIT``); on SQLite they are one trip to the
    connection's thread already."""
    row = {**_DEFAULTS, **values, "metadata": dumps(metadata), "created_at": utcnow()}
    if also is None:
        await db.run(_UPSERT, row, fetch=False)
    elif db.backend == "postgresql":
        statement, params = also
        if params.keys() & row.keys():  # one namespace of parameters for both
            raise ValueError(f"parameters named twice: {sorted(params.keys() & row.keys())}")
        kept = await db.run(_keeping(statement), {**row, **params})
        if not kept[0]["kept"]:
            raise StatementMatchedNothing(statement.sql[:60])
    else:
        await db.run_atomic([(_UPSERT, row, False), (*also, True)])


@functools.cache
def _keeping(also: Statement) -> Statement:
    """The upsert and ``also`` (which returns the rows it matched) as one PostgreSQL statement:
    data-modifying ``WITH`` parts all run, in one transaction, whatever the outer query reads."""
    return Statement(
        f"WITH kept AS ({also.sql}), recorded AS ({_UPSERT.sql}) "  # noqa: S608
        "SELECT count(*) AS kept FROM kept"
    )


async def interrupt(db: Database, *, now: dt.datetime | None = None) -> int:
    """Close the streamed calls whose server stopped checkpointing them: ``failed``, error type
    ``interrupted``, their tokens as of the last checkpoint. Returns how many."""
    rows = await db.fetch_all(
        calls.update()
        .where(calls.c.status == "streaming", calls.c.alive_until < (now or utcnow()))
        .values(
            status="failed",
            error_type="interrupted",
            error_message="the server stopped while streaming this call; its tokens are "
            "counted up to the last checkpoint",
            alive_until=None,
        )
        .returning(calls.c.call_id)
    )
    return len(rows)


async def list_calls(db: Database, job_id: str) -> list[Row]:
    rows = await db.fetch_all(
        calls.select().where(calls.c.job_id == job_id).order_by(calls.c.created_at, calls.c.call_id)
    )
    return [
        {
            "call_id": r["call_id"],
            "model": r["model_alias"],
            "deployment": r["deployment"],
            "status": r["status"],
            "streamed": bool(r["streamed"]),
            "prompt_tokens": r["prompt_tokens"],
            "completion_tokens": r["completion_tokens"],
            "total_tokens": r["total_tokens"],
            "cost_usd": round(r["cost_usd"], 10),
            "provider_cost_usd": round(r["provider_cost_usd"], 10),
            "client_cost_usd": round(r["client_cost_usd"], 10),
            "latency_ms": r["latency_ms"],
            "finish_reason": r["finish_reason"],
            "purpose": r["purpose"],
            "error_type": r["error_type"],
            "error_message": r["error_message"],
            "created_at": utc(r["created_at"]),
        }
        for r in rows
    ]
