"""``saas-litellm-server demo``: the integration guide's flow, end to end, through the SDK.

Starts a real server (uvicorn) on a free loopback port with a fresh SQLite file, then plays the
guide: organization, access group, team and virtual key; a job; LLM calls; completion; credits
before and after. Everything runs offline on the built-in mock model. It ends with the URL of
the admin dashboard; ``--keep`` keeps the server running so that a newcomer can look around.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path

import uvicorn
from pydantic import BaseModel

from ._settings import Settings
from .app import create_app

__all__ = ["run_demo"]


class Person(BaseModel):
    name: str
    age: int
    email: str


def _say(text: str = "") -> None:
    print(text, flush=True)


async def run_demo(*, chunk_delay: float = 0.05, keep: bool = False, port: int = 0) -> int:
    """Play the guide; with ``keep`` the server (and its database) stay up until Ctrl+C, so
    the dashboard at ``/admin`` can be explored."""
    from saas_litellm_client import SaasLiteLLMAdminClient, SaasLiteLLMClient

    with tempfile.TemporaryDirectory(prefix="saas-litellm-demo-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        settings = Settings(database_url=database_url, admin_key=None, mock_chunk_delay=chunk_delay)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", port))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                serving.result()
                return 1
            await asyncio.sleep(0.01)
        _say(f"saas-litellm demo: server on {base_url}, database {database_url}")
        _say("(local-dev mode: no admin key; the built-in mock model answers offline)\n")
        try:
            async with SaasLiteLLMAdminClient(base_url=base_url) as admin:
                org = await admin.create_organization("org_acme", "ACME Corporation")
                _say(f"1. created organization {org.organization_id!r} ({org.name})")
                group = await admin.create_model_access_group(
                    "gpt-models", description="GPT models"
                )
                _say(f"2. created model access group {group.group_name!r}")
                team = await admin.create_team(
                    "org_acme",
                    "acme-corp",
                    team_alias="ACME Corp Team",
                    access_groups=["gpt-models"],
                    credits_allocated=1000,
                )
                _say(
                    f"3. created team {team.team_id!r} with {team.credits_allocated} credits; "
                    f"virtual key {team.virtual_key[:7]}… (shown once, stored only as a hash)"
                )

            async with SaasLiteLLMClient(
                base_url=base_url, team_id=team.team_id, virtual_key=team.virtual_key
            ) as client:
                before = await client.get_balance()
                _say(
                    f"\ncredits before: remaining {before.credits_remaining}, "
                    f"reserved {before.credits_reserved}"
                )
                job = await client.create_job("document_analysis", metadata={"document": "q3.pdf"})
                after_create = await client.get_balance()
                _say(
                    f"4. created job {job.job_id} ({job.status}); "
                    f"credits reserved now {after_create.credits_reserved}"
                )

                for step, prompt in enumerate(
                    ["Extract the text of Q3 report", "Classify the content", "Summarize it"],
                    start=5,
                ):
                    resp = await client.llm_call(
                        job_id=job.job_id,
                        messages=[{"role": "user", "content": prompt}],
                        purpose=prompt.split()[0].lower(),
                    )
                    _say(
                        f"{step}. llm_call -> {resp.content!r} "
                        f"({resp.usage.total_tokens} tokens, {resp.latency_ms:.2f} ms)"
                    )

                print("8. stream -> ", end="", flush=True)
                async with client.stream(
                    job_id=job.job_id,
                    messages=[{"role": "user", "content": "Tell me a story about Q3"}],
                ) as stream:
                    async for chunk in stream:  # each chunk is printed the moment it arrives
                        print(chunk.content, end="", flush=True)
                done = stream.done
                assert done is not None
                _say(
                    f"\n   (streamed: {done.usage.total_tokens} tokens, "
                    f"{done.latency_ms:.0f} ms, call {done.call_id[:8]}…)"
                )

                person = await client.structured_call(
                    job_id=job.job_id,
                    messages=[
                        {
                            "role": "user",
                            "content": "Extract the contact: Ada Lovelace, "
                            "36, ada@analytical.engine",
                        }
                    ],
                    response_model=Person,
                )
                _say(f"9. structured_call -> {person!r}")

                result = await client.complete_job(job.job_id, "completed")
                costs = result.costs
                _say(
                    f"10. completed the job: {costs.total_calls} calls, "
                    f"{costs.total_tokens} tokens, ${costs.total_cost_usd:.6f}, "
                    f"credit applied: {costs.credit_applied}"
                )

                failed = await client.create_job("test")
                await client.llm_call(
                    job_id=failed.job_id, messages=[{"role": "user", "content": "Say hello!"}]
                )
                failure = await client.complete_job(
                    failed.job_id, "failed", error_message="demo failure"
                )
                _say(f"11. a second job failed: credit applied: {failure.costs.credit_applied}")

                after = await client.get_balance()
                _say(
                    f"\ncredits after: remaining {after.credits_remaining} "
                    f"(was {before.credits_remaining}), used {after.credits_used}, "
                    f"reserved {after.credits_reserved}"
                )
                _say(f"Credits remaining: {result.credits_remaining}")
            if keep:
                _say(f"\nDashboard: {base_url}/admin (open without sign-in: local-dev mode)")
                _say("The server keeps running (--keep); press Ctrl+C to stop it.")
                await serving
            else:  # the server stops with the demo: no address to open
                _say(
                    "\nThe demo's server has stopped; run it with --keep to explore the dashboard."
                )
        finally:
            server.should_exit = True
            await serving
    return 0
