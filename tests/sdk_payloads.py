"""Canned URLs, bodies and response helpers shared by the SDK's respx unit tests (tests/sdk/):
the one place for them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

BALANCE_URL = "http://api.test/api/credits/balance"
CALL_URL = "http://api.test/api/jobs/job_123/llm-call"
STREAM_URL = "http://api.test/api/jobs/job_123/llm-call-stream"
MESSAGES = [{"role": "user", "content": "hi"}]

JOB = {
    "job_id": "job_123",
    "team_id": "acme-corp",
    "job_type": "document_analysis",
    "status": "pending",
    "metadata": {},
    "created_at": "2025-01-01T00:00:00Z",
}
COSTS = {
    "total_calls": 1,
    "successful_calls": 1,
    "failed_calls": 0,
    "total_tokens": 30,
    "total_cost_usd": 0.0001,
    "avg_latency_ms": 120.5,
    "credit_applied": True,
    "credits_remaining": 41,
}
LLM_RESPONSE = {
    "call_id": "call_1",
    "job_id": "job_123",
    "model": "ChatAgent",
    "response": {"role": "assistant", "content": "Hello!", "finish_reason": "stop"},
    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    "latency_ms": 120.5,
}
COMPLETION = {
    "job_id": "job_123",
    "status": "completed",
    "completed_at": "2025-01-01T00:01:00Z",
    "costs": COSTS,
}
CREATE_AND_CALL_RESPONSE = {**LLM_RESPONSE, "costs": COSTS}
"""What ``POST /api/jobs/create-and-call`` answers."""

BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 100,
    "credits_used": 5,
    "credits_reserved": 1,
    "credits_remaining": 95,
    "credits_available": 94,
}


def call_body(content: str) -> dict[str, Any]:
    """An llm-call response answering ``content``."""
    return {
        "call_id": "call_1",
        "job_id": "job_123",
        "model": "ChatAgent",
        "response": {"role": "assistant", "content": content, "finish_reason": "stop"},
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "latency_ms": 1.0,
    }


DONE: dict[str, Any] = {
    "type": "done",
    "call_id": "call_9",
    "job_id": "job_123",
    "model": "ChatAgent",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    "latency_ms": 42.0,
}
"""The ``done`` event of a stream."""


def sse(*events: dict[str, Any]) -> list[bytes]:
    """Each event as the server frames it: ``event:``, ``id:`` and one JSON ``data:`` line."""
    return [
        f"event: {event['type']}\nid: {seq}\ndata: {json.dumps(event)}\n\n".encode()
        for seq, event in enumerate(events)
    ]


def sse_body(*events: dict[str, Any]) -> bytes:
    """:func:`sse`, as one response body."""
    return b"".join(sse(*events))


def with_id(
    status: int, request_id: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """A response carrying ``X-Request-ID: request_id``."""
    return httpx.Response(status, headers={"X-Request-ID": request_id, **(headers or {})}, **kwargs)


def in_flight(retry_after: str = "1") -> httpx.Response:
    """The server's ``409``: a request with this ``Idempotency-Key`` is still running."""
    body = {
        "error": {
            "type": "conflict",
            "message": "a request with this Idempotency-Key is still being processed; retry later",
            "param": "Idempotency-Key",
        }
    }
    return httpx.Response(409, json=body, headers={"Retry-After": retry_after})


def sent_json(route: respx.Route) -> Any:
    """The JSON body of the last request ``route`` received."""
    return json.loads(route.calls.last.request.content)
