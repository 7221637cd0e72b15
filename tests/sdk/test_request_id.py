"""Request ids on every response and error (``request_id_of``, ``_request_id``)."""

from __future__ import annotations

import gc

import pytest
import respx
from pydantic import BaseModel
from sdk_payloads import (
    BALANCE,
    BALANCE_URL,
    CALL_URL,
    DONE,
    MESSAGES,
    STREAM_URL,
    call_body,
    sse_body,
    with_id,
)

from saas_litellm_client import (
    CreditBalance,
    InsufficientCreditsError,
    SaasLiteLLMClient,
    request_id_of,
)
from saas_litellm_client._request_id import _REFS, _REQUEST_IDS

CALL = call_body('{"name": "Ada"}')


# -- request ids -------------------------------------------------------------------------------


async def test_each_response_carries_its_own_request_id(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.get(BALANCE_URL).mock(
        side_effect=[with_id(200, "req_a", json=BALANCE), with_id(200, "req_b", json=BALANCE)]
    )

    first = await team_client.get_balance()
    second = await team_client.get_balance()

    assert (request_id_of(first), request_id_of(second)) == ("req_a", "req_b")
    assert first == second  # the id is not part of the value…
    assert first.model_dump() == BALANCE  # … nor of the data
    assert request_id_of(first.model_copy()) is None  # a copy is another object


async def test_the_request_id_is_that_of_the_attempt_that_succeeded(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(CALL_URL).mock(
        side_effect=[with_id(503, "req_lost"), with_id(200, "req_won", json=CALL)]
    )

    response = await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert request_id_of(response) == "req_won"


async def test_errors_and_streams_have_request_ids_too(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.get(BALANCE_URL).mock(
        return_value=with_id(402, "req_e", json={"error": {"type": "x", "message": "no"}})
    )
    respx_mock.post(STREAM_URL).mock(
        return_value=with_id(
            200, "req_s", content=sse_body(DONE), headers={"content-type": "text/event-stream"}
        )
    )

    with pytest.raises(InsufficientCreditsError) as info:
        await team_client.get_balance()
    stream = team_client.stream(job_id="job_123", messages=MESSAGES)
    assert request_id_of(stream) is None  # nothing sent yet
    done = await stream.until_done()

    assert request_id_of(info.value) == info.value.request_id == "req_e"
    assert request_id_of(stream) == stream.request_id == "req_s"
    assert request_id_of(done) == "req_s"


class Person(BaseModel):
    name: str


async def test_a_structured_result_has_the_request_id_of_the_call_that_produced_it(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    bad = {**CALL, "response": {**CALL["response"], "content": "{}"}}
    respx_mock.post(CALL_URL).mock(
        side_effect=[with_id(200, "req_1", json=bad), with_id(200, "req_2", json=CALL)]
    )
    respx_mock.post(STREAM_URL).mock(
        return_value=with_id(
            200,
            "req_s",
            content=sse_body({"type": "chunk", "content": '{"name": "Ada"}'}, DONE),
            headers={"content-type": "text/event-stream"},
        )
    )

    person = await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person
    )
    async with team_client.stream_structured(
        job_id="job_123", messages=MESSAGES, response_model=Person
    ) as stream:
        final = await stream.get_final()

    assert request_id_of(person) == "req_2"
    assert request_id_of(final) == request_id_of(stream) == "req_s"


def test_request_id_of_anything_else_is_none() -> None:
    assert request_id_of(object()) is None
    assert request_id_of("req_1") is None
    assert request_id_of(None) is None


async def test_a_response_dropped_by_the_caller_leaves_nothing_behind(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.get(BALANCE_URL).mock(return_value=with_id(200, "req_gc", json=BALANCE))
    balance: CreditBalance | None = await team_client.get_balance()
    key = id(balance)
    assert _REQUEST_IDS[key] == "req_gc"

    del balance
    gc.collect()

    assert key not in _REQUEST_IDS
    assert key not in _REFS  # nor the weak reference that watched it
