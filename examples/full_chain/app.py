"""The full chain — browser → this app (uses the SDK) → saas-litellm server → model — streaming
each piece of the answer to the page the moment it arrives.

Run a saas-litellm server first (``SAAS_LITELLM_MOCK_CHUNK_DELAY=0.1 saas-litellm-server serve``
to watch the built-in mock model stream), then:

    python examples/full_chain/app.py          # http://127.0.0.1:8010

On start it creates a team for itself through the admin API (open in local-dev mode), or uses
SAAS_LITELLM_TEAM_ID / SAAS_LITELLM_VIRTUAL_KEY when both are set. Each question is one job: the
page's text grows as chunks arrive, and the job is completed when the answer is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from saas_litellm_client import (
    ConflictError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMError,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")
PAGE = Path(__file__).with_name("index.html")


async def team_credentials() -> tuple[str, str]:
    team_id, key = (
        os.environ.get("SAAS_LITELLM_TEAM_ID"),
        os.environ.get("SAAS_LITELLM_VIRTUAL_KEY"),
    )
    if team_id and key:
        return team_id, key
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        team = await admin.create_team(
            "org_acme", f"chat-{uuid.uuid4().hex[:8]}", credits_allocated=100
        )
    return team.team_id, team.virtual_key


def sse(event: str, data: dict[str, object]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def chat(request: Request) -> Response:
    question = request.query_params.get("q", "").strip()[:2000] or "Tell me a story"
    client: SaasLiteLLMClient = request.app.state.client

    async def answer() -> AsyncIterator[bytes]:
        try:
            async with (
                client.job("chat", metadata={"question": question[:200]}) as job,
                job.stream(messages=[{"role": "user", "content": question}]) as stream,
            ):
                async for chunk in stream:
                    yield sse("chunk", {"content": chunk.content})
            result = job.result
            credits = None if result is None else result.credits_remaining
            yield sse("done", {"credits_remaining": credits})
        except SaasLiteLLMError as exc:
            yield sse("error", {"message": str(exc)})

    return StreamingResponse(
        answer(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def index(request: Request) -> Response:
    return FileResponse(PAGE)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    team_id, key = await team_credentials()
    async with SaasLiteLLMClient(base_url=BASE_URL, team_id=team_id, virtual_key=key) as client:
        app.state.client = client
        yield


app = Starlette(routes=[Route("/", index), Route("/chat", chat)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8010")))
