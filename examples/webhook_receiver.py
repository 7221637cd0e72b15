"""Receive the server's webhooks: a Starlette app that checks each delivery with
``verify_webhook`` and acts on its typed event.

The receiver alone is ``app`` below (``SAAS_LITELLM_WEBHOOK_SECRET=whsec_… uvicorn
webhook_receiver:app``). Run as a script, against a server that may call loopback addresses,

    SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE=true saas-litellm-server serve
    python examples/webhook_receiver.py

it serves the receiver on a free port, registers it as a webhook, spends a team's only credit
(``job.completed`` and ``credits.exhausted``), prints the events as they arrive, and removes the
webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from saas_litellm_client import (
    ConflictError,
    CreditsExhaustedEvent,
    JobCompletedEvent,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    WebhookEvent,
    WebhookVerificationError,
    verify_webhook,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")

seen: set[str] = set()  # in production: a table with a unique key on webhook-id
received: asyncio.Queue[WebhookEvent] = asyncio.Queue()


async def handle(event: WebhookEvent) -> None:
    """Your code: here, print the event and hand it to main()."""
    if isinstance(event, JobCompletedEvent):
        costs = event.data.costs
        print(
            f"{event.type}: job {event.data.job_id} of {event.data.team_id}, "
            f"{costs.total_calls} call(s), {costs.credits_charged} credit(s), "
            f"{costs.credits_remaining} left"
        )
    elif isinstance(event, CreditsExhaustedEvent):
        print(f"{event.type}: team {event.data.team_id} has {event.data.credits_remaining} credits")
    else:
        print(f"{event.type}: {event.data}")
    await received.put(event)


async def receive(request: Request) -> Response:
    try:
        event = verify_webhook(
            await request.body(),  # the raw body: a re-serialized one does not verify
            request.headers,
            os.environ["SAAS_LITELLM_WEBHOOK_SECRET"],
        )
    except WebhookVerificationError as exc:
        return PlainTextResponse(str(exc), status_code=400)  # not from the server: ignore it
    delivery_id = request.headers["webhook-id"]  # the same on every retry of a delivery
    if delivery_id not in seen:
        seen.add(delivery_id)
        await handle(event)  # quick work only: answer within 10 s, do slow work afterwards
    return Response(status_code=204)


app = Starlette(routes=[Route("/hooks", receive, methods=["POST"])])


async def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(receiver.serve(sockets=[sock]))
    team_id = f"hooked-{uuid.uuid4().hex[:8]}"
    try:
        async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
            port = sock.getsockname()[1]
            hook = await admin.create_webhook(
                f"http://127.0.0.1:{port}/hooks", ["job.completed", "credits.exhausted"]
            )
            os.environ["SAAS_LITELLM_WEBHOOK_SECRET"] = hook.secret  # shown only this once
            try:
                with contextlib.suppress(ConflictError):
                    await admin.create_organization("org_acme", "ACME Corporation")
                team = await admin.create_team("org_acme", team_id, credits_allocated=1)
                async with SaasLiteLLMClient(
                    base_url=BASE_URL, team_id=team_id, virtual_key=team.virtual_key
                ) as client:
                    job = await client.create_job("webhook_demo")
                    await client.llm_call(
                        job_id=job.job_id, messages=[{"role": "user", "content": "Hello"}]
                    )
                    await client.complete_job(job.job_id, "completed")
                # Both events were written with the completion; wait until both arrived.
                types = {(await asyncio.wait_for(received.get(), 30)).type for _ in range(2)}
                print(f"received {sorted(types)} for team {team_id}")
            finally:
                await admin.delete_webhook(hook.webhook_id)
    finally:
        receiver.should_exit = True
        await serving


if __name__ == "__main__":
    asyncio.run(main())
