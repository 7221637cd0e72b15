"""SQL for recorded LLM calls."""

from __future__ import annotations

from typing import Any

from ._database import Database, Row, Statement
from ._util import dumps, utc, utcnow
from .schema import calls

__all__ = ["insert_call", "list_calls"]


_COLUMNS = [c.name for c in calls.columns]
_INSERT = Statement(  # column names from the schema; every value is a bound parameter
    f"INSERT INTO llm_calls ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)})"
)
_DEFAULTS: dict[str, Any] = {
    "deployment": None,
    "provider": None,
    "streamed": False,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "cost_usd": 0.0,
    "latency_ms": 0.0,
    "finish_reason": None,
    "purpose": None,
    "error_type": None,
    "error_message": None,
}


async def insert_call(
    db: Database, *, metadata: dict[str, Any] | None = None, **values: Any
) -> None:
    """Record one call (every call of every job: on the hot path)."""
    row = {**_DEFAULTS, **values, "metadata": dumps(metadata), "created_at": utcnow()}
    await db.run(_INSERT, row, fetch=False)


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
            "latency_ms": r["latency_ms"],
            "finish_reason": r["finish_reason"],
            "purpose": r["purpose"],
            "error_type": r["error_type"],
            "error_message": r["error_message"],
            "created_at": utc(r["created_at"]),
        }
        for r in rows
    ]
