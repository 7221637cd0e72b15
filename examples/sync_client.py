"""The synchronous client: the same SDK for scripts, notebooks and threaded web apps (Flask,
Django) that have no event loop — every method without ``await``.

Run a server first (``saas-litellm-server serve``, zero configuration needed), then:

    python examples/sync_client.py

It sets up a team through the admin API (open in local-dev mode, or pass
SAAS_LITELLM_ADMIN_KEY), runs a job as a ``with`` block (one call, one stream), makes a
single-call job with ``create_and_call`` and reads a raw response's headers.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from saas_litellm_client import (
    ConflictError,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")


def main() -> None:
    team_id = f"sync-{uuid.uuid4().hex[:8]}"
    with SaasLiteLLMSyncAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):  # already there from an earlier run
            admin.create_organization("org_acme", "ACME Corporation")
        with contextlib.suppress(ConflictError):
            admin.create_model_access_group("gpt-models", description="GPT models")
        team = admin.create_team(
            "org_acme", team_id, access_groups=["gpt-models"], credits_allocated=5
        )

    with SaasLiteLLMSyncClient(
        base_url=BASE_URL, team_id=team.team_id, virtual_key=team.virtual_key
    ) as client:
        # A job as a block: completed when the block ends, failed if it raises.
        with client.job("document_analysis", metadata={"document": "report.pdf"}) as job:
            response = job.llm_call(messages=[{"role": "user", "content": "Summarize it"}])
            print(f"call:   {response.content}")
            with job.stream(messages=[{"role": "user", "content": "Tell me more"}]) as stream:
                for chunk in stream:
                    print(chunk.content, end="", flush=True)
            print(f"\nstream: {stream.usage.total_tokens if stream.usage else 0} tokens")
        assert job.result is not None
        print(f"job {job.job_id}: credits remaining {job.result.credits_remaining}")

        # One call, one job, one request: created, called and completed by the server.
        raw = client.with_raw_response.create_and_call(
            "quick_question", messages=[{"role": "user", "content": "Is 17 prime?"}]
        )
        answer = raw.parse()
        print(f"create_and_call: {answer.content}")
        print(
            f"  job {raw.headers['x-job-id']} (request {raw.request_id}), "
            f"credit applied: {answer.costs.credit_applied}, "
            f"credits remaining {answer.costs.credits_remaining}"
        )


if __name__ == "__main__":
    main()
