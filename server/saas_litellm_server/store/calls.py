"""SQL for recorded LLM calls."""

from __future__ import annotations

from typing import Any

from ._database import Database, Row
from ._util import dumps, utc, utcnow
from .schema import calls

__all__ = ["insert_call", "list_calls"]


async def insert_call(
    db: Database, *, metadata: dict[str, Any] | None = None, **values: Any
) -> None:
    await db.execute(calls.insert().values(metadata=dumps(metadata), created_at=utcnow(), **values))


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
