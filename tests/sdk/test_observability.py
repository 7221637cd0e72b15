"""Request ids on every response (``request_id_of``) and logging (``saas_litellm_client``)."""

from __future__ import annotations

import gc
import json
import logging
import re
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel
from sdk_payloads import BALANCE, BALANCE_URL, CALL_URL, MESSAGES, STREAM_URL, call_body

from saas_litellm_client import (
    CreditBalance,
    InsufficientCreditsError,
    SaasLiteLLMClient,
    request_id_of,
)
from saas_litellm_client import _logs as logs
from saas_litellm_client._request_id import _REQUEST_IDS

KEY = "sk-test-team-key"  # the team_client fixture's

CALL = call_body('{"name": "Ada"}')
DONE = {
    "type": "done",
    "call_id": "call_9",
    "job_id": "job_123",
    "model": "ChatAgent",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    "latency_ms": 42.0,
}


def with_id(
    status: int, request_id: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    return httpx.Response(status, headers={"X-Request-ID": request_id, **(headers or {})}, **kwargs)


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {e['type']}\nid: {i}\ndata: {json.dumps(e)}\n\n".encode()
        for i, e in enumerate(events)
    )


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
            200, "req_s", content=sse(DONE), headers={"content-type": "text/event-stream"}
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
            content=sse({"type": "chunk", "content": '{"name": "Ada"}'}, DONE),
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


# -- logging -----------------------------------------------------------------------------------


async def test_requests_and_retries_are_logged_without_the_key(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.post(CALL_URL).mock(
        side_effect=[
            with_id(503, "req_busy"),
            httpx.ConnectError("refused"),
            with_id(200, "req_ok", json=CALL),
        ]
    )
    team_client._random = lambda: 0.0
    caplog.set_level(logging.DEBUG, logger="saas_litellm_client")

    await team_client.llm_call(job_id="job_123", messages=MESSAGES, idempotency_key="k-9")

    records = [r for r in caplog.records if r.name == "saas_litellm_client"]
    assert all(KEY not in r.getMessage() and KEY not in repr(r.args) for r in records)
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    expected = [
        rf"POST {CALL_URL} -> 503 in \d+\.\d{{3}}s \(attempt 1 of 3, request_id=req_busy\)",
        rf"Retrying POST {CALL_URL} in 0\.50s \(retry 1 of 2\) after: 503 Service Unavailable",
        rf"POST {CALL_URL} -> failed in \d+\.\d{{3}}s \(attempt 2 of 3\): "
        r"Connection error: refused",
        rf"Retrying POST {CALL_URL} in 1\.00s \(retry 2 of 2\) after: "
        r"Connection error: refused",
        rf"POST {CALL_URL} -> 200 in \d+\.\d{{3}}s \(attempt 3 of 3, request_id=req_ok\)",
    ]
    assert len(info) == len(expected)
    for line, pattern in zip(info, expected):
        assert re.fullmatch(pattern, line), line
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert len(debug) == 3  # the request's headers, once per attempt
    for number, line in enumerate(debug, start=1):
        assert line.startswith(f"POST {CALL_URL} (attempt {number} of 3) headers=")
        assert "'authorization': '<redacted>'" in line
        assert "'idempotency-key': 'k-9'" in line


async def test_a_replayed_response_is_logged_as_such(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.post(CALL_URL).mock(
        return_value=httpx.Response(
            200, json=CALL, headers={"X-Request-ID": "req_r", "Idempotent-Replayed": "true"}
        )
    )
    caplog.set_level(logging.INFO, logger="saas_litellm_client")

    await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert caplog.records[-1].getMessage().endswith("request_id=req_r, replayed)")


@pytest.fixture
def clean_logger() -> Any:
    handlers, level = list(logs.log.handlers), logs.log.level
    yield logs.log
    logs.log.handlers[:] = handlers
    logs.log.setLevel(level)


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), (" INFO ", logging.INFO)])
def test_the_environment_variable_turns_logging_on(
    monkeypatch: pytest.MonkeyPatch, clean_logger: logging.Logger, value: str, level: int
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_LOG", value)

    logs.setup_logging()
    logs.setup_logging()  # twice: still one handler

    added = [h for h in clean_logger.handlers if isinstance(h, logs._EnvHandler)]
    assert len(added) == 1
    assert clean_logger.level == level


@pytest.mark.parametrize("value", [None, "", "verbose", "warning"])
def test_without_the_environment_variable_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch, clean_logger: logging.Logger, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("SAAS_LITELLM_LOG", raising=False)
    else:
        monkeypatch.setenv("SAAS_LITELLM_LOG", value)
    handlers, level = list(clean_logger.handlers), clean_logger.level

    logs.setup_logging()

    assert clean_logger.handlers == handlers
    assert clean_logger.level == level


def test_redact_headers() -> None:
    headers = httpx.Headers(
        {"Authorization": "Bearer sk-secret", "X-Api-Key": "k", "Accept": "application/json"}
    )

    redacted = logs.redact_headers(headers)

    assert redacted == {
        "authorization": "<redacted>",
        "x-api-key": "<redacted>",
        "accept": "application/json",
    }
