"""``client.with_raw_response`` (``_response``): the HTTP response behind a method's result."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import pytest
import respx
from sdk_payloads import BALANCE, CREATE_AND_CALL_RESPONSE, JOB, LLM_RESPONSE, MESSAGES

from saas_litellm_client import (
    CreateAndCallResponse,
    CreditBalance,
    InsufficientCreditsError,
    Job,
    RawResponse,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
)

BASE = "http://api.test"
SHORTCUT_URL = f"{BASE}/api/jobs/create-and-call"


async def test_raw_response_gives_status_headers_and_the_parsed_model(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(SHORTCUT_URL).respond(
        200,
        json=CREATE_AND_CALL_RESPONSE,
        headers={"x-job-id": "job_123", "x-request-id": "req_1", "idempotent-replayed": "true"},
    )

    raw = await team_client.with_raw_response.create_and_call("chat", messages=MESSAGES)

    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["x-job-id"] == "job_123"
    assert raw.headers["idempotent-replayed"] == "true"
    assert raw.request_id == "req_1"
    parsed = raw.parse()
    assert isinstance(parsed, CreateAndCallResponse) and parsed.content == "Hello!"
    assert raw.content == raw.http_response.content
    assert "200" in repr(raw) and "/api/jobs/create-and-call" in repr(raw)


def test_the_sync_client_has_it_too(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    respx_mock.post(f"{BASE}/api/jobs/create").respond(201, json=JOB, headers={"x-request-id": "r"})

    raw = sync_client.with_raw_response.create_job("x")

    assert raw.status_code == 201 and raw.request_id == "r"
    assert isinstance(raw.parse(), Job)


async def test_the_raw_response_is_the_final_attempts(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.get(f"{BASE}/api/credits/balance").mock(
        side_effect=[
            httpx.Response(503, headers={"x-request-id": "first"}),
            httpx.Response(200, json=BALANCE, headers={"x-request-id": "second"}),
        ]
    )

    raw = await team_client.with_raw_response.get_balance()

    assert raw.request_id == "second"
    assert isinstance(raw.parse(), CreditBalance)


async def test_errors_are_raised_as_without_it(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(f"{BASE}/api/jobs/create").respond(
        402, json={"error": {"type": "insufficient_credits", "message": "none"}}
    )

    with pytest.raises(InsufficientCreditsError):
        await team_client.with_raw_response.create_job("x")


async def test_concurrent_raw_calls_each_get_their_own_response(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.split("/")[3]
        await asyncio.sleep(0.01 if job_id == "a" else 0)  # finish in the other order
        body = {**LLM_RESPONSE, "job_id": job_id}
        return httpx.Response(200, json=body, headers={"x-request-id": f"req-{job_id}"})

    respx_mock.post(url__regex=rf"{BASE}/api/jobs/\w+/llm-call").mock(side_effect=answer)

    raw_a, raw_b = await asyncio.gather(
        team_client.with_raw_response.llm_call(job_id="a", messages=MESSAGES),
        team_client.with_raw_response.llm_call(job_id="b", messages=MESSAGES),
    )

    assert (raw_a.request_id, raw_a.parse().job_id) == ("req-a", "a")
    assert (raw_b.request_id, raw_b.parse().job_id) == ("req-b", "b")


async def test_calls_without_it_keep_nothing(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.get(f"{BASE}/api/credits/balance").respond(200, json=BALANCE)

    balance = await team_client.get_balance()

    assert isinstance(balance, CreditBalance)  # a model, not a RawResponse


@pytest.mark.parametrize(
    ("client_class", "raw_class_name"),
    [
        (SaasLiteLLMClient, "SaasLiteLLMClientWithRawResponse"),
        (SaasLiteLLMSyncClient, "SaasLiteLLMSyncClientWithRawResponse"),
        (SaasLiteLLMAdminClient, "SaasLiteLLMAdminClientWithRawResponse"),
        (SaasLiteLLMSyncAdminClient, "SaasLiteLLMSyncAdminClientWithRawResponse"),
    ],
)
def test_every_method_answering_one_model_has_a_raw_twin(
    client_class: type, raw_class_name: str
) -> None:
    if client_class in (SaasLiteLLMClient, SaasLiteLLMSyncClient):
        client = client_class(BASE, "acme-corp", "sk-x")
        # streams expose their response; these return what the caller's model or a block is
        others = {"stream", "create_and_call_stream", "stream_structured", "job", "structured_call"}
    else:
        client = client_class(BASE, "sk-admin")
        others = set()
    raw = client.with_raw_response
    assert type(raw).__name__ == raw_class_name
    methods = {
        name
        for name, member in inspect.getmembers(client_class, inspect.isfunction)
        if not name.startswith(("_", "iter_")) and name not in {"close", "with_options"}
    }
    assert set(vars(raw)) == methods - others
