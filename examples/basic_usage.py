"""Basic usage: the integration guide's flow with the typed SDK.

Run a server first (``saas-litellm-server serve``, zero configuration needed), then:

    python examples/basic_usage.py

It sets up an organization, an access group and a team through the admin API (open in local-dev
mode, or pass SAAS_LITELLM_ADMIN_KEY), then opens a job, makes three calls and completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

from saas_litellm_client import (
    ConflictError,
    InsufficientCreditsError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")


async def main() -> None:
    team_id = f"example-{uuid.uuid4().hex[:8]}"
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):  # already there from an earlier run
            await admin.create_organization("org_acme", "ACME Corporation")
        with contextlib.suppress(ConflictError):
            await admin.create_model_access_group("gpt-models", description="GPT models")
        team = await admin.create_team(
            "org_acme", team_id, access_groups=["gpt-models"], credits_allocated=10
        )
    print(f"team {team.team_id}: {team.credits_remaining} credits")

    async with SaasLiteLLMClient(
        base_url=BASE_URL, team_id=team.team_id, virtual_key=team.virtual_key
    ) as client:
        job = await client.create_job("document_analysis", metadata={"document": "report.pdf"})
        for step in ("Extract the key figures", "Classify the document", "Write a summary"):
            response = await client.llm_call(
                job_id=job.job_id, messages=[{"role": "user", "content": step}], purpose=step
            )
            print(f"{step}: {response.content} ({response.usage.total_tokens} tokens)")
        result = await client.complete_job(job.job_id, "completed")
        print(f"job cost ${result.costs.total_cost_usd:.6f} over {result.costs.total_calls} calls")
        print(f"Credits remaining: {result.credits_remaining}")

        try:
            while True:  # open jobs until the credits run out: each open job reserves one
                await client.create_job("batch")
        except InsufficientCreditsError as exc:
            print(f"as expected once credits run out: {exc.message}")


if __name__ == "__main__":
    asyncio.run(main())
