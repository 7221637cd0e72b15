"""The synchronous clients (``_sync_client``, ``_sync_admin_client``, ``_sync_base_client``,
``_sync_jobs``, ``_sync_structured_calls``, generated from the async modules): the same
methods, retries, idempotency keys, deadlines and errors, without an event loop. Streams are in
``test_sync_streaming``; that both clients call the same endpoints the same way is checked by
``tests/test_contract.py``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel
from sdk_payloads import (
    BALANCE,
    COMPLETION,
    CREATE_AND_CALL_RESPONSE,
    JOB,
    LLM_RESPONSE,
    MESSAGES,
    call_body,
    in_flight,
    sent_json,
)
from support import run_mypy

from saas_litellm_client import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    CreateAndCallResponse,
    CreditBalance,
    InsufficientCreditsError,
    Job,
    JobCompletion,
    LLMCallResponse,
    RateLimitError,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
    StructuredOutputError,
    SyncJobHandle,
    SyncPage,
    request_id_of,
)

BASE = "http://api.test"
CREATE_URL = f"{BASE}/api/jobs/create"
CALL_URL = f"{BASE}/api/jobs/job_123/llm-call"
COMPLETE_URL = f"{BASE}/api/jobs/job_123/complete"
SHORTCUT_URL = f"{BASE}/api/jobs/create-and-call"


class Person(BaseModel):
    name: str
    age: int


def _error(status: int, kind: str, message: str = "no", **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"type": kind, "message": message, "request_id": "req_e"}},
        headers={"x-request-id": "req_e", **headers},
    )


# -- the guide's flow, without await -----------------------------------------------------------


def test_the_guide_flow_runs_without_an_event_loop(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    create = respx_mock.post(CREATE_URL).respond(201, json=JOB, headers={"x-request-id": "r1"})
    respx_mock.post(CALL_URL).respond(200, json=LLM_RESPONSE)
    respx_mock.post(COMPLETE_URL).respond(200, json=COMPLETION)

    job = sync_client.create_job("document_analysis", metadata={"doc": 1})
    response = sync_client.llm_call(job_id=job.job_id, messages=MESSAGES)
    result = sync_client.complete_job(job.job_id, "completed")

    assert isinstance(job, Job) and request_id_of(job) == "r1"
    assert sent_json(create) == {
        "team_id": "acme-corp",
        "job_type": "document_analysis",
        "metadata": {"doc": 1},
    }
    assert create.calls.last.request.headers["authorization"] == "Bearer sk-test-team-key"
    assert isinstance(response, LLMCallResponse) and response.content == "Hello!"
    assert isinstance(result, JobCompletion) and result.costs.credits_remaining == 41


def test_calls_from_several_threads_share_one_client(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.get(f"{BASE}/api/credits/balance").respond(200, json=BALANCE)
    results: list[CreditBalance] = []

    def fetch() -> None:
        results.append(sync_client.get_balance())

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8 and all(r.credits_available == 94 for r in results)
    assert route.call_count == 8


# -- retries, idempotency keys, deadlines --------------------------------------------------------


def test_a_503_is_retried_with_the_same_idempotency_key(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient, sleeps: list[float]
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[_error(503, "unavailable"), httpx.Response(200, json=call_body("ok"))]
    )

    response = sync_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert response.content == "ok"
    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5  # waited, in blocking time


def test_a_caller_chosen_idempotency_key_is_sent(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.post(CREATE_URL).respond(201, json=JOB)

    sync_client.create_job("x", idempotency_key="order-42")

    assert route.calls.last.request.headers["idempotency-key"] == "order-42"


def test_an_in_flight_earlier_attempt_is_waited_for_not_reported(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient, sleeps: list[float]
) -> None:
    respx_mock.post(CREATE_URL).mock(
        side_effect=[_error(502, "upstream_error"), in_flight("2"), httpx.Response(201, json=JOB)]
    )

    job = sync_client.create_job("x")

    assert job.job_id == "job_123"
    assert sleeps[1] == 2.0  # the server's Retry-After for the in-flight attempt


def test_answers_are_not_retried_and_raise_their_typed_error(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient, sleeps: list[float]
) -> None:
    route = respx_mock.post(CREATE_URL).mock(
        return_value=_error(402, "insufficient_credits", "no credits left")
    )

    with pytest.raises(InsufficientCreditsError, match="no credits left") as info:
        sync_client.create_job("x")

    assert info.value.status_code == 402 and info.value.request_id == "req_e"
    assert route.call_count == 1 and sleeps == []


def test_a_rate_limit_beyond_the_retries_carries_retry_after(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    respx_mock.post(CALL_URL).mock(return_value=_error(429, "rate_limited", **{"retry-after": "3"}))

    with (
        SaasLiteLLMSyncClient(BASE, "acme-corp", "sk-x", max_retries=1) as client,
        pytest.raises(RateLimitError) as info,
    ):
        client.llm_call(job_id="job_123", messages=MESSAGES)

    assert info.value.retry_after == 3.0
    assert sleeps == [3.0]


def test_connection_errors_become_sdk_errors_after_the_retries(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.get(f"{BASE}/api/credits/balance").mock(
        side_effect=httpx.ConnectError("refused")
    )

    with pytest.raises(APIConnectionError) as info:
        sync_client.get_balance()

    assert not isinstance(info.value, httpx.HTTPError)
    assert route.call_count == 3  # max_retries=2


def test_the_deadline_stops_retrying_when_the_next_wait_would_pass_it(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=_error(503, "unavailable"))
    now = [0.0]
    client = SaasLiteLLMSyncClient(BASE, "acme-corp", "sk-x", max_retries=10, deadline=1.2)
    client._clock = lambda: now[0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client._sleep = sleep

    with client, pytest.raises(APITimeoutError, match=r"Deadline of 1\.2s exceeded"):
        client.llm_call(job_id="job_123", messages=MESSAGES)

    assert 1 < route.call_count < 11
    assert sum(sleeps) < 1.2


def test_the_deadline_bounds_every_phase_of_an_attempt(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.get(f"{BASE}/api/credits/balance").respond(200, json=BALANCE)

    sync_client.get_balance(deadline=0.5, timeout=30)

    timeout = route.calls.last.request.extensions["timeout"]
    assert all(0 < value <= 0.5 for value in timeout.values())


# -- jobs as blocks, structured outputs, the single-call shortcut --------------------------------


def test_a_job_block_completes_on_success_and_fails_on_an_exception(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    respx_mock.post(CREATE_URL).respond(201, json=JOB)
    respx_mock.post(CALL_URL).respond(200, json=LLM_RESPONSE)
    complete = respx_mock.post(COMPLETE_URL).respond(200, json=COMPLETION)

    with sync_client.job("document_analysis") as job:
        assert isinstance(job, SyncJobHandle)
        job.llm_call(messages=MESSAGES)
    assert sent_json(complete)["status"] == "completed"
    assert job.result is not None and job.result.costs.credit_applied

    with pytest.raises(KeyError), sync_client.job("document_analysis"):
        raise KeyError("boom")
    assert sent_json(complete) == {"status": "failed", "error_message": "KeyError: 'boom'"}


def test_structured_call_re_asks_until_the_answer_validates(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[
            httpx.Response(200, json=call_body('{"name": "Ada"}')),
            httpx.Response(200, json=call_body('{"name": "Ada", "age": 36}')),
        ]
    )

    person = sync_client.structured_call(job_id="job_123", messages=MESSAGES, response_model=Person)

    assert person == Person(name="Ada", age=36)
    reask = sent_json(route)["messages"]
    assert reask[-1]["role"] == "user" and "age" in reask[-1]["content"]
    assert sent_json(route)["response_format"]["json_schema"]["name"] == "Person"


def test_structured_call_gives_up_after_its_retries(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    respx_mock.post(CALL_URL).respond(200, json=call_body('{"name": "Ada"}'))

    with pytest.raises(StructuredOutputError) as info:
        sync_client.structured_call(
            job_id="job_123", messages=MESSAGES, response_model=Person, max_reasks=1
        )

    assert info.value.attempts == 2


def test_create_and_call_sends_the_job_and_the_call_in_one_request(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.post(SHORTCUT_URL).respond(200, json=CREATE_AND_CALL_RESPONSE)

    response = sync_client.create_and_call(
        "summarize", messages=MESSAGES, model="ChatAgent", metadata={"doc": 7}, user_id="u1"
    )

    assert isinstance(response, CreateAndCallResponse)
    assert response.content == "Hello!" and response.costs.credit_applied
    assert sent_json(route) == {
        "team_id": "acme-corp",
        "job_type": "summarize",
        "messages": MESSAGES,
        "model": "ChatAgent",
        "metadata": {"doc": 7},
        "user_id": "u1",
    }
    assert route.calls.last.request.headers["idempotency-key"]


def test_create_and_call_with_bad_arguments_sends_nothing(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route = respx_mock.post(SHORTCUT_URL).respond(200, json=CREATE_AND_CALL_RESPONSE)

    with pytest.raises(ValueError, match="job_type"):
        sync_client.create_and_call("not a job type!", messages=MESSAGES)

    assert route.call_count == 0


# -- http_client=, lifecycle, the admin client ----------------------------------------------------


def test_an_injected_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=BALANCE)

    http_client = httpx.Client(
        transport=httpx.MockTransport(handler), headers={"X-Proxy-Auth": "p"}
    )
    with SaasLiteLLMSyncClient(BASE, "acme-corp", "sk-x", http_client=http_client) as client:
        client.get_balance()

    assert seen[0].headers["x-proxy-auth"] == "p"  # the caller's client, with its own settings
    assert not http_client.is_closed
    http_client.close()


def test_an_async_http_client_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client, got AsyncClient"):
        SaasLiteLLMSyncClient(BASE, "acme-corp", "sk-x", http_client=httpx.AsyncClient())  # type: ignore[arg-type]


def test_a_closed_client_refuses_to_send() -> None:
    client = SaasLiteLLMSyncClient(BASE, "acme-corp", "sk-x")
    client.close()
    client.close()  # twice is fine

    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        client.get_balance()


def test_the_admin_client_pages_through_every_team(
    respx_mock: respx.MockRouter, sync_admin_client: SaasLiteLLMSyncAdminClient
) -> None:
    def team(team_id: str) -> dict[str, Any]:
        return {
            "team_id": team_id,
            "organization_id": "org",
            "team_alias": None,
            "access_groups": [],
            "credits_allocated": 1,
            "credits_used": 0,
            "credits_reserved": 0,
            "credits_remaining": 1,
            "status": "active",
            "created_at": "2025-01-01T00:00:00Z",
        }

    route = respx_mock.get(f"{BASE}/api/teams").mock(
        side_effect=[
            httpx.Response(200, json={"teams": [team("a"), team("b")], "next_cursor": "c1"}),
            httpx.Response(200, json={"teams": [team("c")], "next_cursor": None}),
        ]
    )

    page = sync_admin_client.list_teams(limit=2)  # the first page, fetched at once
    assert isinstance(page, SyncPage) and route.call_count == 1
    assert [t.team_id for t in page.items] == ["a", "b"] and page.has_next_page()
    ids = [t.team_id for t in page]

    assert ids == ["a", "b", "c"]
    assert route.calls[1].request.url.params["cursor"] == "c1"
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test-admin-key"


def test_a_conflict_is_a_conflict_error(
    respx_mock: respx.MockRouter, sync_admin_client: SaasLiteLLMSyncAdminClient
) -> None:
    respx_mock.delete(f"{BASE}/api/teams/acme-corp").mock(
        return_value=_error(409, "conflict", "team acme-corp has 2 open jobs")
    )

    with pytest.raises(ConflictError, match="2 open jobs"):
        sync_admin_client.delete_team("acme-corp")


# -- typed for its users ---------------------------------------------------------------------

USER_CODE = """
import httpx
from pydantic import BaseModel

from saas_litellm_client import (
    CreateAndCallResponse, LLMCallResponse, RawResponse, SaasLiteLLMSyncClient, StreamChunk,
)


class Person(BaseModel):
    name: str


def main(client: SaasLiteLLMSyncClient) -> None:
    with client.job("x") as job:
        response: LLMCallResponse = job.llm_call(messages=[{"role": "user", "content": "hi"}])
        person: Person = job.structured_call(
            messages=[{"role": "user", "content": "hi"}], response_model=Person
        )
        with job.stream(messages=[{"role": "user", "content": "hi"}]) as stream:
            chunks: list[StreamChunk] = list(stream)
    raw: RawResponse[CreateAndCallResponse] = client.with_raw_response.create_and_call(
        "chat", messages=[{"role": "user", "content": "hi"}]
    )
    answer: CreateAndCallResponse = raw.parse()
    client.llm_call(job_id="j", messages=[{"role": "user", "content": "?"}], temperature="x")  # 26
    SaasLiteLLMSyncClient(http_client=httpx.AsyncClient())  # 27


async def wrong(client: SaasLiteLLMSyncClient) -> None:
    await client.get_balance()  # 31
"""


def test_user_code_type_checks_and_misuse_is_caught(tmp_path: Path) -> None:
    errors = run_mypy({"user": USER_CODE}, tmp_path)

    lines = {int(line.split(":")[1]) for line in errors["user"]}
    assert lines == {26, 27, 31}, errors["user"]
