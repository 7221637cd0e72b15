"""The openai SDK against saas-litellm: models, a single-call job, calls in a job, a stream with
usage, ``parse`` into a Pydantic model, embeddings, and an error as the SDK raises it.

Run a server first (``saas-litellm-server serve``), then (``pip install openai``):

    python examples/openai_sdk.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import httpx
import openai
from pydantic import BaseModel

from saas_litellm_client import ConflictError, SaasLiteLLMAdminClient, SaasLiteLLMClient

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")


class Person(BaseModel):
    name: str
    age: int


async def setup() -> tuple[str, str]:
    """A fresh team (the built-in ``default`` alias is open to it, and the embedding alias
    ``Embed`` through its access group); its id and virtual key."""
    team_id = f"oai-{uuid.uuid4().hex[:8]}"
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        with contextlib.suppress(ConflictError):
            await admin.create_model_access_group("embeddings")
        with contextlib.suppress(ConflictError):
            await admin.create_model_alias(
                "Embed",
                access_groups=["embeddings"],
                mode="embedding",
                deployments=[{"provider": "mock", "model": "mock-embed"}],
            )
        team = await admin.create_team(
            "org_acme", team_id, access_groups=["embeddings"], credits_allocated=10
        )
    return team_id, team.virtual_key


def balance(virtual_key: str) -> int:
    r = httpx.get(
        f"{BASE_URL}/api/credits/balance", headers={"Authorization": f"Bearer {virtual_key}"}
    )
    remaining: int = r.json()["credits_remaining"]
    return remaining


async def main() -> None:
    team_id, virtual_key = await setup()
    client = openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key=virtual_key)
    print("models:", [m.id for m in client.models.list()])

    # 1. No X-Job-Id: a job of its own, completed for one credit.
    raw = client.chat.completions.with_raw_response.create(
        model="default",
        messages=[{"role": "user", "content": "Say hello"}],
        extra_headers={"X-Job-Type": "greeting"},
    )
    print("single-call job", raw.headers["x-job-id"], "->", raw.parse().choices[0].message.content)
    print("credits remaining", balance(virtual_key))

    # 2. Several calls in one job of ours (the async client; same job rules as llm-call).
    async with (
        SaasLiteLLMClient(base_url=BASE_URL, team_id=team_id, virtual_key=virtual_key) as native,
        openai.AsyncOpenAI(base_url=f"{BASE_URL}/v1", api_key=virtual_key) as aclient,
    ):
        job = await native.create_job("document_analysis")
        for part in ("intro", "conclusion"):
            await aclient.chat.completions.create(
                model="default",
                messages=[{"role": "user", "content": f"Summarize the {part}"}],
                extra_headers={"X-Job-Id": job.job_id},
            )
        stream = await aclient.chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": "Tell me a story"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Job-Id": job.job_id},
        )
        print("stream: ", end="")
        async for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
            elif chunk.usage is not None:
                print(f"\n        [{chunk.usage.total_tokens} tokens]")
        detail = await native.get_job(job.job_id)
        print(f"job {job.job_id}: {len(detail.calls)} calls, ${detail.costs.total_cost_usd:.6f}")
        result = await native.complete_job(job.job_id, "completed")
        print("three calls, one job: credits remaining", result.credits_remaining)

    # 3. Structured output, parsed by the SDK (the mock model fills the schema); no X-Job-Id:
    #    another single-call job, another credit.
    parsed = client.chat.completions.parse(
        model="default",
        messages=[{"role": "user", "content": "Extract: Grace Hopper, 85"}],
        response_format=Person,
    )
    print("parsed:", repr(parsed.choices[0].message.parsed))

    # 4. Embeddings from an alias in mode "embedding" (the mock: the same text, the same
    #    vector); another single-call job.
    vectors = client.embeddings.create(model="Embed", input=["invoice 42", "invoice 42", "memo"])
    same = vectors.data[0].embedding == vectors.data[1].embedding
    print(
        f"embeddings: {len(vectors.data)} vectors of {len(vectors.data[0].embedding)}, same: {same}"
    )

    # 5. Errors are the SDK's own exceptions; a refused call opens no job and costs nothing.
    try:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    except openai.BadRequestError as exc:
        print(f"BadRequestError {exc.status_code} {exc.code}: {exc.message}")
    print("credits remaining", balance(virtual_key))


if __name__ == "__main__":
    asyncio.run(main())
