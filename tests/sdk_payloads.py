"""Canned URLs and bodies shared by the SDK's respx unit tests (tests/sdk/)."""

from __future__ import annotations

from typing import Any

BALANCE_URL = "http://api.test/api/credits/balance"
CALL_URL = "http://api.test/api/jobs/job_123/llm-call"
STREAM_URL = "http://api.test/api/jobs/job_123/llm-call-stream"
MESSAGES = [{"role": "user", "content": "hi"}]

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
