"""LLM calls of a job: route, call the upstream, record the call whatever happened."""

from __future__ import annotations

import uuid
from typing import Any

from saas_litellm_models import LLMCallRequest, LLMCallResponse

from .._runtime import Runtime, TeamContext
from ..providers import Provider, ProviderError, ProviderResult
from ..store import calls, jobs
from . import routing
from .jobs import get_open_job

__all__ = ["llm_call"]


def _messages(body: LLMCallRequest) -> list[dict[str, object]]:
    return [m.model_dump(exclude_none=True) for m in body.messages]


async def llm_call(
    runtime: Runtime, team: TeamContext, job_id: str, body: LLMCallRequest
) -> LLMCallResponse:
    db = runtime.db
    job = await get_open_job(db, team, job_id)
    route = await routing.resolve(runtime, team, body.model)
    if job["status"] == "pending":
        await jobs.mark_in_progress(db, job_id)

    messages = _messages(body)
    params = body.upstream_params()
    timeout = runtime.settings.upstream_timeout

    async def attempt(provider: Provider, deployment: routing.Deployment) -> ProviderResult:
        return await provider.complete(
            routing.provider_request(deployment, messages, params, timeout)
        )

    outcome, used = await routing.call_with_fallback(runtime, route, attempt)
    call_id = str(uuid.uuid4())
    record: dict[str, Any] = {
        "call_id": call_id,
        "job_id": job_id,
        "team_id": team.team_id,
        "model_alias": route.alias,
        "deployment": used.deployment.model,
        "provider": used.deployment.provider,
        "streamed": False,
        "latency_ms": round(used.latency_ms, 3),
        "purpose": body.purpose,
        "metadata": body.metadata,
    }
    if isinstance(outcome, ProviderError):
        error = routing.upstream_error(route.alias, outcome)
        await calls.insert_call(
            db, **record, status="failed", error_type=error.error_type, error_message=error.message
        )
        raise error
    usage = outcome.usage
    await calls.insert_call(
        db,
        **record,
        status="success",
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=routing.cost_usd(used.deployment, usage.prompt_tokens, usage.completion_tokens),
        finish_reason=outcome.message.finish_reason,
    )
    return LLMCallResponse(
        call_id=call_id,
        job_id=job_id,
        model=route.alias,
        response=outcome.message,
        usage=usage,
        latency_ms=record["latency_ms"],
    )
