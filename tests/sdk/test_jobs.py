"""``client.job(...)``: create on entry, complete on a clean exit, fail on an exception."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel
from sdk_payloads import DONE

from saas_litellm_client import (
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    Job,
    JobCompletion,
    JobHandle,
    SaasLiteLLMClient,
)
from saas_litellm_client._jobs import MAX_ERROR_MESSAGE
from saas_litellm_models import JobCompleteRequest

CREATE_URL = "http://api.test/api/jobs/create"
JOB_URL = "http://api.test/api/jobs/job_123"
MESSAGES = [{"role": "user", "content": "hi"}]
NOW = "2026-01-01T00:00:00Z"
JOB = {
    "job_id": "job_123",
    "team_id": "acme-corp",
    "job_type": "analysis",
    "status": "pending",
    "metadata": {"doc": 42},
    "created_at": NOW,
}
COSTS = {
    "total_calls": 1,
    "successful_calls": 1,
    "failed_calls": 0,
    "total_tokens": 2,
    "total_cost_usd": 0.0,
    "avg_latency_ms": 1.0,
    "credit_applied": True,
    "credits_remaining": 9,
}
CALL = {
    "call_id": "call_1",
    "job_id": "job_123",
    "model": "ChatAgent",
    "response": {"role": "assistant", "content": '{"name": "Ada"}', "finish_reason": "stop"},
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    "latency_ms": 1.0,
}


def completion(status: str) -> dict[str, Any]:
    return {
        "job_id": "job_123",
        "status": status,
        "completed_at": NOW,
        "costs": {**COSTS, "credit_applied": status == "completed"},
    }


def answer_complete(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=completion(json.loads(request.content)["status"]))


@pytest.fixture
def routes(respx_mock: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        "create": respx_mock.post(CREATE_URL).respond(201, json=JOB),
        "complete": respx_mock.post(f"{JOB_URL}/complete").mock(side_effect=answer_complete),
    }


def sent(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


class Person(BaseModel):
    name: str


async def test_a_clean_exit_completes_the_job(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    routes: dict[str, respx.Route],
) -> None:
    call_route = respx_mock.post(f"{JOB_URL}/llm-call").respond(200, json=CALL)

    async with team_client.job("analysis", metadata={"doc": 42}, user_id="u-1") as job:
        assert isinstance(job, JobHandle)
        assert job.job == Job.model_validate(JOB)
        assert job.job_id == "job_123"
        assert job.result is None
        response = await job.llm_call(messages=MESSAGES, purpose="first")
        assert not routes["complete"].called

    assert response.call_id == "call_1"
    assert sent(routes["create"]) == [
        {"team_id": "acme-corp", "job_type": "analysis", "metadata": {"doc": 42}, "user_id": "u-1"}
    ]
    assert json.loads(call_route.calls.last.request.content)["purpose"] == "first"
    assert sent(routes["complete"]) == [{"status": "completed"}]
    assert job.result == JobCompletion.model_validate(completion("completed"))
    assert job.result.credits_remaining == 9


async def test_an_exception_fails_the_job_and_propagates(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    with pytest.raises(ValueError, match="bad document") as info:
        async with team_client.job("analysis") as job:
            raise ValueError("bad document")

    assert sent(routes["complete"]) == [
        {"status": "failed", "error_message": "ValueError: bad document"}
    ]
    assert job.result is not None
    assert job.result.status == "failed"
    assert info.value.__context__ is None  # nothing from the completion leaked into it


async def test_a_long_error_message_is_cut_to_the_servers_limit(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    with pytest.raises(RuntimeError):
        async with team_client.job("analysis"):
            raise RuntimeError("x" * 10_000)

    message = sent(routes["complete"])[0]["error_message"]
    assert len(message) == MAX_ERROR_MESSAGE
    assert message.startswith("RuntimeError: xxx")
    assert message.endswith("…")
    JobCompleteRequest(status="failed", error_message=message)  # what the server accepts
    with pytest.raises(ValueError, match="4000"):
        JobCompleteRequest(status="failed", error_message=message + "x")


async def test_nul_characters_are_escaped_in_the_error_message(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    with pytest.raises(ValueError, match="bad"):
        async with team_client.job("analysis"):
            raise ValueError("bad\x00byte")

    assert sent(routes["complete"]) == [
        {"status": "failed", "error_message": "ValueError: bad\\x00byte"}
    ]


async def test_an_exception_without_a_message_is_named(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    with pytest.raises(KeyError):
        async with team_client.job("analysis"):
            raise KeyError

    assert sent(routes["complete"])[0]["error_message"] == "KeyError"


async def test_when_failing_the_job_fails_the_original_exception_still_propagates(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.post(CREATE_URL).respond(201, json=JOB)
    complete = respx_mock.post(f"{JOB_URL}/complete").respond(
        500, json={"error": {"type": "internal", "message": "database down"}}
    )

    with pytest.raises(ZeroDivisionError):
        async with team_client.job("analysis") as job:
            _ = 1 / 0

    assert complete.call_count == 3  # retried like any call, then given up
    assert job.result is None
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.name == "saas_litellm_client"
    assert warning.getMessage() == (
        "Could not mark job job_123 as failed after ZeroDivisionError: "
        "Error code 500 internal: database down"
    )
    assert isinstance(warning.exc_info and warning.exc_info[1], InternalServerError)


async def test_when_completing_fails_after_a_clean_exit_that_error_is_raised(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(CREATE_URL).respond(201, json=JOB)
    respx_mock.post(f"{JOB_URL}/complete").respond(
        409, json={"error": {"type": "conflict", "message": "job already failed"}}
    )

    with pytest.raises(ConflictError, match="already failed"):
        async with team_client.job("analysis") as job:
            pass

    assert job.result is None


async def test_a_job_completed_inside_the_block_is_left_alone(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    async with team_client.job("analysis") as job:
        result = await job.complete("failed", error_message="gave up", metadata={"why": "x"})

    with pytest.raises(LookupError):
        async with team_client.job("analysis") as second:
            await second.complete("completed")
            raise LookupError

    assert sent(routes["complete"]) == [
        {"status": "failed", "metadata": {"why": "x"}, "error_message": "gave up"},
        {"status": "completed"},
    ]
    assert job.result is result
    assert second.result is not None and second.result.status == "completed"


async def test_a_failed_create_raises_and_completes_nothing(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(CREATE_URL).respond(
        402, json={"error": {"type": "insufficient_credits", "message": "no credits"}}
    )
    complete = respx_mock.post(f"{JOB_URL}/complete").respond(200)
    entered = False

    with pytest.raises(InsufficientCreditsError):
        async with team_client.job("analysis"):
            entered = True

    assert not entered
    assert not complete.called


async def test_a_cancelled_block_still_fails_its_job(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        async with team_client.job("analysis"):
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(work())
    await inside.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task

    assert sent(routes["complete"]) == [{"status": "failed", "error_message": "CancelledError"}]


async def test_the_handle_streams_and_makes_structured_calls_within_its_job(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    routes: dict[str, respx.Route],
) -> None:
    call_route = respx_mock.post(f"{JOB_URL}/llm-call").respond(200, json=CALL)
    events = [{"type": "chunk", "content": '{"name": "Ada"}'}, DONE]
    body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
    stream_route = respx_mock.post(f"{JOB_URL}/llm-call-stream").respond(
        200, content=body, headers={"content-type": "text/event-stream"}
    )
    detail_route = respx_mock.get(JOB_URL).respond(
        200, json={**JOB, "status": "in_progress", "calls": [], "costs": COSTS}
    )

    async with team_client.job("analysis") as job:
        async with job.stream(messages=MESSAGES) as stream:
            text = await stream.get_final_text()
        person = await job.structured_call(messages=MESSAGES, response_model=Person)
        async with job.stream_structured(messages=MESSAGES, response_model=Person) as partial:
            streamed = await partial.get_final()
        detail = await job.get()

    assert text == '{"name": "Ada"}'
    assert person == streamed == Person(name="Ada")
    assert call_route.call_count == 1
    assert stream_route.call_count == 2
    assert detail.status == "in_progress"
    assert detail_route.called
    assert sent(routes["complete"]) == [{"status": "completed"}]


async def test_a_job_block_cannot_be_entered_twice(
    team_client: SaasLiteLLMClient, routes: dict[str, respx.Route]
) -> None:
    block = team_client.job("analysis")
    async with block:
        pass

    with pytest.raises(RuntimeError, match="entered already"):
        async with block:
            pass


EMBEDDINGS = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.6, 0.8]},
        {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]},
    ],
    "model": "Embed",
    "usage": {"prompt_tokens": 3, "total_tokens": 3},
    "call_id": "call_e",
}


async def test_the_handle_embeds_within_its_job(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    routes: dict[str, respx.Route],
) -> None:
    embed_route = respx_mock.post(f"{JOB_URL}/embeddings").respond(200, json=EMBEDDINGS)

    async with team_client.job("indexing") as job:
        answer = await job.embeddings(input=["a b", "c"], model="Embed", dimensions=2)
        one = await team_client.embeddings(job_id=job.job_id, input="a b", purpose="query")

    assert answer.vectors == [[0.6, 0.8], [1.0, 0.0]] and answer.call_id == "call_e"
    assert answer.usage.prompt_tokens == 3 and one.model == "Embed"
    bodies = sent(embed_route)
    assert bodies[0] == {"input": ["a b", "c"], "model": "Embed", "dimensions": 2}
    assert bodies[1] == {"input": "a b", "purpose": "query"}
    keys = [c.request.headers["Idempotency-Key"] for c in embed_route.calls]
    assert len(set(keys)) == 2  # one key per call, kept across its retries
    assert sent(routes["complete"]) == [{"status": "completed"}]
