"""Streaming: the answer chunk by chunk, with the SDK and with the guide's raw SSE reader.

Run a server first (``saas-litellm-server serve``; set ``SAAS_LITELLM_MOCK_CHUNK_DELAY=0.05`` to
watch the mock model stream), then:

    python examples/streaming.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid

import httpx

from saas_litellm_client import (
    ConflictError,
    MessageParam,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")
MESSAGES: list[MessageParam] = [{"role": "user", "content": "Tell me a story"}]


async def main() -> None:
    team_id = f"stream-{uuid.uuid4().hex[:8]}"
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        team = await admin.create_team("org_acme", team_id, credits_allocated=5)

    async with SaasLiteLLMClient(
        base_url=BASE_URL, team_id=team_id, virtual_key=team.virtual_key
    ) as client:
        job = await client.create_job("chat")

        # 1. The SDK: typed chunks; `async with` always closes the connection, even on `break`.
        print("SDK:      ", end="")
        async with client.stream(job_id=job.job_id, messages=MESSAGES) as stream:
            async for chunk in stream:
                print(chunk.content, end="", flush=True)
        assert stream.done is not None
        print(f"\n          [{stream.done.usage.total_tokens} tokens, call {stream.call_id}]")

        # 2. The guide's raw reader: every `data:` line is one JSON object.
        print("raw SSE:  ", end="")
        headers = {"Authorization": f"Bearer {team.virtual_key}"}
        async with (
            httpx.AsyncClient(base_url=BASE_URL) as http,
            http.stream(
                "POST",
                f"/api/jobs/{job.job_id}/llm-call-stream",
                headers=headers,
                json={"messages": MESSAGES},
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["type"] == "chunk":
                        print(event["content"], end="", flush=True)
                    elif event["type"] == "done":
                        print(f"\n          [{event['usage']['total_tokens']} tokens]")

        result = await client.complete_job(job.job_id, "completed")
        print(f"two streamed calls, one job: credits remaining {result.credits_remaining}")


if __name__ == "__main__":
    asyncio.run(main())
