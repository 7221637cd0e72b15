"""Retries (``_retry`` and ``_BaseClient._attempts``): what is retried, how often, how long the
SDK waits in between, and that a stream is retried only before its first event."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
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
    in_flight,
    sse,
)

from saas_litellm_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    RateLimitError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    StreamError,
    UnprocessableEntityError,
    UpstreamError,
)
from saas_litellm_client._retry import backoff_delay
from saas_litellm_models import CreditBalance
from saas_litellm_models.endpoints import Endpoint

CREDITS_URL = "http://api.test/api/teams/acme-corp/credits/add"


CALL = call_body("hello")
CHUNK = {"type": "chunk", "content": "Once"}


def error(status: int, kind: str = "x", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"type": kind, "message": f"{kind} happened", "request_id": f"req_{status}"}}
    return httpx.Response(status, json=body, headers=headers)


def ok() -> httpx.Response:
    return httpx.Response(200, json=BALANCE, headers={"X-Request-ID": "req_ok"})


class Body(httpx.AsyncByteStream):
    """A response body that yields ``parts``, then optionally fails like a cut connection."""

    def __init__(self, parts: Iterable[bytes], fail_with: Exception | None = None) -> None:
        self.parts = list(parts)
        self.fail_with = fail_with
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        if self.fail_with is not None:
            raise self.fail_with

    async def aclose(self) -> None:
        self.closed = True


def event_stream(parts: Iterable[bytes], fail_with: Exception | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": "req_s"},
        stream=Body(parts, fail_with),
    )


# -- what is retried ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_until_success(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, status: int
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=[error(status), error(status), ok()])

    balance = await team_client.get_balance()

    assert balance.credits_remaining == 95
    assert route.call_count == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_after_max_retries_the_last_error_is_raised(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, status: int
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(
        side_effect=[error(status), error(status), error(status), ok()]
    )

    with pytest.raises(APIStatusError) as info:
        await team_client.get_balance()

    assert info.value.status_code == status
    assert route.call_count == 3  # the first attempt and max_retries=2 retries


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (400, "invalid_request", APIStatusError),
        (401, "authentication_error", APIStatusError),
        (402, "insufficient_credits", InsufficientCreditsError),
        (403, "permission_denied", APIStatusError),
        (404, "not_found", APIStatusError),
        (409, "conflict", ConflictError),
        (413, "request_too_large", APIStatusError),
        (422, "validation_error", UnprocessableEntityError),
    ],
)
async def test_other_4xx_are_never_retried(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    sleeps: list[float],
    status: int,
    kind: str,
    expected: type[APIStatusError],
) -> None:
    route = respx_mock.post(CALL_URL).mock(side_effect=[error(status, kind), httpx.Response(200)])

    with pytest.raises(expected) as info:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert info.value.status_code == status
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "says", "attempts"),
    [
        (409, "true", 3),  # the server knows better than the status: retried
        (500, "false", 1),  # and not retried
        (503, "False ", 1),  # read leniently
        (502, "maybe", 3),  # anything else: the status decides
    ],
)
async def test_the_servers_x_should_retry_decides_over_the_status(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    status: int,
    says: str,
    attempts: int,
) -> None:
    failure = error(status, headers={"x-should-retry": says})
    route = respx_mock.get(BALANCE_URL).mock(side_effect=[failure] * 3 + [ok()])

    with pytest.raises(APIStatusError) as info:
        await team_client.get_balance()

    assert info.value.status_code == status
    assert route.call_count == attempts


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect"),
        httpx.ReadTimeout("read"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete body"),
        httpx.PoolTimeout("pool"),
    ],
)
async def test_connection_errors_and_timeouts_are_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, failure: httpx.HTTPError
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=[failure, ok()])

    balance = await team_client.get_balance()

    assert balance.credits_remaining == 95
    assert route.call_count == 2


async def test_a_connection_error_on_every_attempt_raises_it_after_the_retries(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    failure = httpx.ReadTimeout("read")
    route = respx_mock.get(BALANCE_URL).mock(side_effect=failure)

    with pytest.raises(APITimeoutError) as info:
        await team_client.get_balance()

    assert info.value.__cause__ is failure
    assert route.call_count == 3


async def test_a_2xx_that_does_not_parse_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=[httpx.Response(200, json={}), ok()])

    with pytest.raises(SaasLiteLLMError, match="does not match"):
        await team_client.get_balance()

    assert route.call_count == 1


# -- how many attempts -------------------------------------------------------------------------


async def test_max_retries_is_set_per_client(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(BALANCE_URL).mock(return_value=error(503))

    async with SaasLiteLLMClient("http://api.test", "acme-corp", "sk-k", max_retries=4) as client:
        with pytest.raises(InternalServerError):
            await client.get_balance()

    assert route.call_count == 5


async def test_max_retries_zero_means_a_single_attempt(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(return_value=error(503))

    async with SaasLiteLLMClient("http://api.test", "acme-corp", "sk-k", max_retries=0) as client:
        with pytest.raises(InternalServerError):
            await client.get_balance()

    assert route.call_count == 1
    assert sleeps == []


async def test_max_retries_per_call_overrides_the_client(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=error(502, "upstream_error"))

    with pytest.raises(UpstreamError):
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, max_retries=0)
    assert route.call_count == 1

    with pytest.raises(UpstreamError):
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, max_retries=3)
    assert route.call_count == 1 + 4


async def test_with_options_makes_a_copy_with_other_defaults_sharing_the_pool(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(return_value=error(503))

    patient = team_client.with_options(max_retries=5, timeout=3.0)

    assert type(patient) is SaasLiteLLMClient
    assert patient.team_id == team_client.team_id
    assert patient._http_client is team_client._http_client
    with pytest.raises(InternalServerError):
        await patient.get_balance()
    assert route.call_count == 6
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.0

    with pytest.raises(InternalServerError):
        await team_client.get_balance()  # the original keeps its own settings
    assert route.call_count == 6 + 3

    await patient.close()  # the copy does not own the pool
    assert not team_client._http_client.is_closed
    with pytest.raises(InternalServerError):
        await team_client.get_balance()


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"max_retries": 1.5}, {"max_retries": True}, {"deadline": 0}],
)
def test_bad_retry_settings_are_refused(
    team_client: SaasLiteLLMClient, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        team_client.with_options(**kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SaasLiteLLMClient("http://api.test", "acme-corp", "sk-k", **kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        team_client.stream(job_id="job_123", messages=MESSAGES, **kwargs)


# -- how long the SDK waits --------------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_and_is_capped() -> None:
    assert [backoff_delay(n, 0.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]


@pytest.mark.parametrize("retry", [1, 2, 3, 4, 5, 10])
@pytest.mark.parametrize("rand", [0.0, 0.3, 0.999999])
def test_jitter_takes_off_at_most_a_quarter(retry: int, rand: float) -> None:
    base = min(0.5 * 2 ** (retry - 1), 8.0)

    assert 0.75 * base < backoff_delay(retry, rand) <= base


async def test_the_sleeps_between_attempts_follow_the_backoff(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    respx_mock.get(BALANCE_URL).mock(return_value=error(503))
    randoms = iter([0.0, 0.5, 1.0, 0.2, 0.0])

    async with SaasLiteLLMClient("http://api.test", "acme-corp", "sk-k", max_retries=5) as client:
        client._random = lambda: next(randoms)
        with pytest.raises(InternalServerError):
            await client.get_balance()

    assert sleeps == [0.5, 1.0 * 0.875, 2.0 * 0.75, 4.0 * 0.95, 8.0]


async def test_the_backoff_uses_real_randomness_by_default(
    respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    respx_mock.get(BALANCE_URL).mock(return_value=error(503))

    async with SaasLiteLLMClient("http://api.test", "acme-corp", "sk-k", max_retries=3) as client:
        with pytest.raises(InternalServerError):
            await client.get_balance()

    assert len(sleeps) == 3
    for retry, slept in enumerate(sleeps, start=1):
        base = 0.5 * 2 ** (retry - 1)
        assert 0.75 * base < slept <= base


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "1200", "Retry-After": "9"}, 1.2),  # the finer one wins
        ({"retry-after-ms": "soon", "Retry-After": "2"}, 2.0),  # unusable: the other one
        ({"Retry-After": "whenever"}, 0.5),  # unusable: the backoff
    ],
)
async def test_the_server_says_how_long_to_wait(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    sleeps: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    team_client._random = lambda: 0.0
    route = respx_mock.get(BALANCE_URL).mock(side_effect=[error(429, headers=headers), ok()])

    await team_client.get_balance()

    assert route.call_count == 2
    assert sleeps == [expected]


async def test_retry_after_as_an_http_date(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    respx_mock.get(BALANCE_URL).mock(side_effect=[error(503, headers={"Retry-After": when}), ok()])

    await team_client.get_balance()

    assert len(sleeps) == 1
    assert 25 < sleeps[0] <= 30


async def test_retry_after_is_honoured_on_any_retryable_status(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    respx_mock.get(BALANCE_URL).mock(
        side_effect=[error(503, headers={"Retry-After": "7"}), error(502), ok()]
    )
    team_client._random = lambda: 0.0

    await team_client.get_balance()

    assert sleeps == [7.0, 1.0]  # the second wait is the backoff's for retry 2


async def test_a_server_asking_for_more_than_a_minute_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(
        side_effect=[error(429, "rate_limited", headers={"Retry-After": "120"}), ok()]
    )

    with pytest.raises(RateLimitError) as info:
        await team_client.get_balance()

    assert info.value.retry_after == 120.0
    assert route.call_count == 1
    assert sleeps == []


async def test_retry_after_on_a_status_that_is_not_retried_changes_nothing(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        return_value=error(409, "conflict", headers={"Retry-After": "1"})
    )

    with pytest.raises(ConflictError):
        await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert route.call_count == 1
    assert sleeps == []


async def test_a_retry_finding_its_own_first_attempt_in_flight_waits_for_the_replay(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[httpx.ReadTimeout("slow"), in_flight("20"), httpx.Response(200, json=CALL)]
    )

    answer = await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert answer.content == "hello"
    assert sleeps == [pytest.approx(0.5, rel=0.25), 20.0]  # backoff, then the Retry-After
    assert len({c.request.headers["Idempotency-Key"] for c in route.calls}) == 1


async def test_without_a_deadline_the_wait_for_an_own_attempt_in_flight_is_bounded(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[httpx.ReadTimeout("slow"), *[in_flight("20") for _ in range(10)]]
    )

    with pytest.raises(APITimeoutError, match="still being processed") as info:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert sleeps[1:] == [20.0, 20.0, 20.0]  # a minute in all: then it gives up
    assert route.call_count == 5
    assert isinstance(info.value.__cause__, ConflictError)
    assert route.calls.last.request.headers["Idempotency-Key"] in str(info.value)


async def test_a_first_attempt_finding_its_key_in_flight_is_a_conflict(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    # not this call's earlier attempt: another request reusing the key, a bug worth seeing
    route = respx_mock.post(CALL_URL).mock(return_value=in_flight("20"))

    with pytest.raises(ConflictError, match="still being processed"):
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, idempotency_key="k-1")

    assert route.call_count == 1 and sleeps == []


# -- add_credits: de-duplicated by the server, so retried like any other call -------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_add_credits_is_retried_with_its_key_when_it_may_have_been_applied(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, failure: httpx.HTTPError
) -> None:
    # the server replays the first top-up for the same Idempotency-Key: it is not applied twice
    route = respx_mock.post(CREDITS_URL).mock(side_effect=[failure, ok()])

    balance = await admin_client.add_credits("acme-corp", 5)

    assert balance.credits_remaining == 95
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 2 and len(keys) == 1


# -- requests the server does not de-duplicate -------------------------------------------------

NOT_REPLAY_SAFE = Endpoint(
    "POST", "/api/once", "Once", "admin", "test", CreditBalance, replay_safe=False
)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_a_not_replay_safe_request_is_not_retried_when_it_may_have_been_applied(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, failure: httpx.HTTPError
) -> None:
    route = respx_mock.post("http://api.test/api/once").mock(side_effect=[failure, ok()])

    with pytest.raises(APIConnectionError):
        await admin_client._request(NOT_REPLAY_SAFE)

    assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("connect"), httpx.PoolTimeout("pool")],
)
async def test_a_not_replay_safe_request_is_retried_when_it_was_never_sent(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, failure: httpx.HTTPError
) -> None:
    route = respx_mock.post("http://api.test/api/once").mock(
        side_effect=[failure, error(503), ok()]
    )

    balance = await admin_client._request(NOT_REPLAY_SAFE)

    assert balance.credits_remaining == 95
    assert route.call_count == 3


# -- streams: retried only before the first event ----------------------------------------------


async def test_a_stream_refused_with_a_retryable_status_is_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[error(503), error(429), event_stream(sse(CHUNK, DONE))]
    )

    async with team_client.stream(job_id="job_123", messages=MESSAGES) as stream:
        text = await stream.get_final_text()

    assert text == "Once"
    assert route.call_count == 3


@pytest.mark.parametrize(
    "parts",
    [
        [],  # the connection broke before any event
        [b": keep-alive\n\n", b"event: ping\n\n"],  # … or after keep-alives only
    ],
)
async def test_a_stream_broken_before_its_first_event_is_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, parts: list[bytes]
) -> None:
    broken = event_stream(parts, fail_with=httpx.ReadError("reset by peer"))
    route = respx_mock.post(STREAM_URL).mock(side_effect=[broken, event_stream(sse(CHUNK, DONE))])

    chunks = [
        chunk.content async for chunk in team_client.stream(job_id="job_123", messages=MESSAGES)
    ]

    assert chunks == ["Once"]
    assert route.call_count == 2
    assert isinstance(broken.stream, Body) and broken.stream.closed


@pytest.mark.parametrize("kind", ["upstream_error", "upstream_timeout", "rate_limited"])
async def test_an_error_event_before_the_first_chunk_is_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, kind: str
) -> None:
    failed = {"type": "error", "error": {"type": kind, "message": "provider went away"}}
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[event_stream(sse(failed)), event_stream(sse(CHUNK, DONE))]
    )

    async with team_client.stream(job_id="job_123", messages=MESSAGES) as stream:
        assert await stream.get_final_text() == "Once"

    assert route.call_count == 2


async def test_an_error_event_that_is_not_worth_retrying_is_raised_at_once(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    failed = {"type": "error", "error": {"type": "invalid_request", "message": "bad tool"}}
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[event_stream(sse(failed)), event_stream(sse(CHUNK, DONE))]
    )

    with pytest.raises(StreamError, match="bad tool") as info:
        async with team_client.stream(job_id="job_123", messages=MESSAGES):
            pass

    assert info.value.error_type == "invalid_request"
    assert route.call_count == 1


async def test_a_stream_failing_before_its_first_event_every_time_raises_the_last_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    failed = {"type": "error", "error": {"type": "upstream_error", "message": "down"}}
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[event_stream(sse(failed)) for _ in range(3)]
    )
    stream = team_client.stream(job_id="job_123", messages=MESSAGES)

    with pytest.raises(StreamError, match="down"):
        await stream.get_final_text()

    assert route.call_count == 3
    with pytest.raises(StreamError, match="down"):  # reading on raises the same error
        await stream.get_final_text()


@pytest.mark.parametrize("failure", [httpx.ReadError("reset by peer"), httpx.ReadTimeout("read")])
async def test_a_stream_is_not_retried_once_an_event_reached_the_caller(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, failure: httpx.HTTPError
) -> None:
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[event_stream(sse(CHUNK), fail_with=failure), event_stream(sse(CHUNK, DONE))]
    )
    received: list[str] = []

    with pytest.raises(APIConnectionError) as info:
        async with team_client.stream(job_id="job_123", messages=MESSAGES) as stream:
            async for chunk in stream:
                received.append(chunk.content)

    assert info.value.__cause__ is failure
    assert received == ["Once"]
    assert route.call_count == 1


async def test_an_error_event_after_a_chunk_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    failed = {"type": "error", "error": {"type": "upstream_error", "message": "cut"}}
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[event_stream(sse(CHUNK, failed)), event_stream(sse(CHUNK, DONE))]
    )

    with pytest.raises(StreamError, match="cut"):
        await team_client.stream(job_id="job_123", messages=MESSAGES).get_final_text()

    assert route.call_count == 1


async def test_a_stream_that_is_only_a_done_event_is_fine(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(STREAM_URL).mock(return_value=event_stream(sse(DONE)))

    async with team_client.stream(job_id="job_123", messages=MESSAGES) as stream:
        chunks = [chunk async for chunk in stream]

    assert chunks == []
    assert stream.call_id == "call_9"


async def test_stream_retries_follow_the_per_call_max_retries(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(STREAM_URL).mock(return_value=error(503))

    with pytest.raises(InternalServerError):
        await team_client.stream(
            job_id="job_123", messages=MESSAGES, max_retries=0
        ).get_final_text()

    assert route.call_count == 1


# -- idempotency keys -------------------------------------------------------------------------
# ``Idempotency-Key``: on every POST, one per logical call, the same on all of its retries.
NOW = "2026-01-01T00:00:00Z"
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
JOB = {
    "job_id": "job_123",
    "team_id": "acme-corp",
    "job_type": "x",
    "status": "pending",
    "created_at": NOW,
}
COMPLETION = {"job_id": "job_123", "status": "completed", "completed_at": NOW, "costs": COSTS}
TEAM = {
    "team_id": "acme-corp",
    "organization_id": "org",
    "team_alias": None,
    "access_groups": [],
    "credits_allocated": 10,
    "credits_used": 0,
    "credits_reserved": 0,
    "credits_remaining": 10,
    "status": "active",
    "created_at": NOW,
}
TEAM_CREATED = {
    "team_id": "acme-corp",
    "organization_id": "org",
    "access_groups": [],
    "virtual_key": "sk-new",
    "credits_allocated": 10,
    "credits_remaining": 10,
}
STREAM = (
    b'event: done\nid: 1\ndata: {"type": "done", "call_id": "c", "job_id": "job_123", '
    b'"model": "m", "finish_reason": "stop", "usage": {"prompt_tokens": 1, '
    b'"completion_tokens": 1, "total_tokens": 2}, "latency_ms": 1.0}\n\n'
)

Call = Callable[[SaasLiteLLMClient, SaasLiteLLMAdminClient], Awaitable[object]]


async def _stream(client: SaasLiteLLMClient, **kwargs: Any) -> object:
    return await client.stream(job_id="job_123", messages=MESSAGES, **kwargs).until_done()


# Every POST method: (name, url path, response, call with extra kwargs)
POSTS: list[tuple[str, str, httpx.Response, Callable[..., Awaitable[object]]]] = [
    (
        "create_job",
        "/api/jobs/create",
        httpx.Response(201, json=JOB),
        lambda c, a, **kw: c.create_job("x", **kw),
    ),
    (
        "llm_call",
        "/api/jobs/job_123/llm-call",
        httpx.Response(200, json=CALL),
        lambda c, a, **kw: c.llm_call(job_id="job_123", messages=MESSAGES, **kw),
    ),
    (
        "stream",
        "/api/jobs/job_123/llm-call-stream",
        httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}),
        lambda c, a, **kw: _stream(c, **kw),
    ),
    (
        "complete_job",
        "/api/jobs/job_123/complete",
        httpx.Response(200, json=COMPLETION),
        lambda c, a, **kw: c.complete_job("job_123", **kw),
    ),
    (
        "create_organization",
        "/api/organizations/create",
        httpx.Response(201, json={"organization_id": "org", "name": "Org", "created_at": NOW}),
        lambda c, a, **kw: a.create_organization("org", "Org", **kw),
    ),
    (
        "create_model_access_group",
        "/api/model-access-groups/create",
        httpx.Response(201, json={"group_name": "g", "created_at": NOW}),
        lambda c, a, **kw: a.create_model_access_group("g", **kw),
    ),
    (
        "create_model_alias",
        "/api/model-aliases/create",
        httpx.Response(
            201,
            json={
                "model_alias": "M",
                "access_groups": [],
                "deployments": [{"provider": "mock", "model": "m"}],
                "created_at": NOW,
            },
        ),
        lambda c, a, **kw: a.create_model_alias(
            "M", deployments=[{"provider": "mock", "model": "m"}], **kw
        ),
    ),
    (
        "create_team",
        "/api/teams/create",
        httpx.Response(201, json=TEAM_CREATED),
        lambda c, a, **kw: a.create_team("org", "acme-corp", **kw),
    ),
    (
        "add_credits",
        "/api/teams/acme-corp/credits/add",
        httpx.Response(200, json=BALANCE),
        lambda c, a, **kw: a.add_credits("acme-corp", 5, **kw),
    ),
    (
        "rotate_key",
        "/api/teams/acme-corp/rotate-key",
        httpx.Response(200, json={"team_id": "acme-corp", "virtual_key": "sk-rotated"}),
        lambda c, a, **kw: a.rotate_key("acme-corp", **kw),
    ),
    (
        "rotate_key_with_grace",
        "/api/teams/acme-corp/rotate-key",
        httpx.Response(200, json={"team_id": "acme-corp", "virtual_key": "sk-rotated"}),
        lambda c, a, **kw: a.rotate_key("acme-corp", grace_seconds=60, **kw),
    ),
    (
        "create_key",
        "/api/teams/acme-corp/keys",
        httpx.Response(
            201,
            json={
                "key_id": "key_0123456789abcdef01234567",
                "team_id": "acme-corp",
                "virtual_key": "sk-new",
                "prefix": "sk-new",
                "created_at": NOW,
            },
        ),
        lambda c, a, **kw: a.create_key("acme-corp", name="ci", **kw),
    ),
    (
        "suspend_team",
        "/api/teams/acme-corp/suspend",
        httpx.Response(200, json={**TEAM, "status": "suspended"}),
        lambda c, a, **kw: a.suspend_team("acme-corp", **kw),
    ),
    (
        "resume_team",
        "/api/teams/acme-corp/resume",
        httpx.Response(200, json=TEAM),
        lambda c, a, **kw: a.resume_team("acme-corp", **kw),
    ),
    (
        "set_limits",
        "/api/teams/acme-corp/limits",
        httpx.Response(200, json=TEAM),
        lambda c, a, **kw: a.set_limits("acme-corp", rpm_limit=60, **kw),
    ),
]
"""Every POST the server de-duplicates under an Idempotency-Key (``x`` in the contract test)."""


def _key(request: httpx.Request) -> str | None:
    return request.headers.get("Idempotency-Key")


@pytest.mark.parametrize(("name", "path", "response", "call"), POSTS, ids=[p[0] for p in POSTS])
async def test_every_post_carries_a_fresh_key_the_same_on_its_retries(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    admin_client: SaasLiteLLMAdminClient,
    name: str,
    path: str,
    response: httpx.Response,
    call: Callable[..., Awaitable[object]],
) -> None:
    refused = httpx.Response(503, json={"error": {"type": "x", "message": "busy"}})
    route = respx_mock.post(f"http://api.test{path}").mock(
        side_effect=[refused, response, refused, response]
    )

    await call(team_client, admin_client)  # 503, then the answer: one logical call
    await call(team_client, admin_client)  # the next logical call

    keys = [_key(c.request) for c in route.calls]
    assert route.call_count == 4
    assert all(key and re.fullmatch(r"saas-litellm-[0-9a-f]{32}", key) for key in keys)
    assert keys[0] == keys[1]
    assert keys[2] == keys[3]
    assert keys[0] != keys[2]


@pytest.mark.parametrize(("name", "path", "response", "call"), POSTS, ids=[p[0] for p in POSTS])
async def test_a_callers_own_key_is_sent_on_every_attempt(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    admin_client: SaasLiteLLMAdminClient,
    name: str,
    path: str,
    response: httpx.Response,
    call: Callable[..., Awaitable[object]],
) -> None:
    route = respx_mock.post(f"http://api.test{path}").mock(
        side_effect=[httpx.ConnectError("refused"), response]
    )

    await call(team_client, admin_client, idempotency_key=f"my-{name}-1")

    assert [_key(c.request) for c in route.calls] == [f"my-{name}-1"] * 2


async def test_gets_carry_no_key(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    await team_client.get_balance()

    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_the_key_cannot_be_overridden_by_default_headers(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(201, json=JOB)

    async with SaasLiteLLMClient(
        "http://api.test", "acme-corp", "sk-k", default_headers={"Idempotency-Key": "fixed"}
    ) as client:
        await client.create_job("x")
        await client.create_job("x")

    keys = [_key(c.request) for c in route.calls]
    assert "fixed" not in keys
    assert keys[0] != keys[1]


@pytest.mark.parametrize("bad", ["", "x" * 256, "has space", "caf\u00e9", "tab\there"])
@pytest.mark.respx(assert_all_called=False)
async def test_an_unusable_key_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, bad: str
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValueError, match="idempotency_key"):
        await team_client.create_job("x", idempotency_key=bad)
    with pytest.raises(ValueError, match="idempotency_key"):
        team_client.stream(job_id="job_123", messages=MESSAGES, idempotency_key=bad)

    assert not route.called


async def test_a_conflict_for_a_key_still_in_flight_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").respond(
        409,
        json={
            "error": {
                "type": "conflict",
                "message": "a request with this Idempotency-Key is still being processed",
            }
        },
    )

    with pytest.raises(ConflictError, match="still being processed") as info:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, idempotency_key="k-1")

    assert route.call_count == 1
    assert sleeps == []
    assert info.value.response.request.headers["Idempotency-Key"] == "k-1"


async def test_a_key_reused_with_another_body_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(
        422,
        json={
            "error": {
                "type": "validation_error",
                "message": "this Idempotency-Key was already used with a different request",
                "param": "Idempotency-Key",
            }
        },
    )

    with pytest.raises(UnprocessableEntityError) as info:
        await team_client.create_job("other", idempotency_key="k-1")

    assert info.value.param == "Idempotency-Key"
    assert route.call_count == 1


# -- structured calls: one key per llm_call ----------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


def _answer(content: str) -> httpx.Response:
    return httpx.Response(200, json={**CALL, "response": {**CALL["response"], "content": content}})


async def test_each_re_ask_is_its_own_call_with_its_own_key(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").mock(
        side_effect=[
            _answer('{"name": "Ada"}'),
            httpx.Response(502, json={"error": {"type": "upstream_error", "message": "x"}}),
            _answer('{"name": "Ada", "age": 36}'),
        ]
    )

    person = await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person
    )

    assert person == Person(name="Ada", age=36)
    keys = [_key(c.request) for c in route.calls]
    assert keys[0] != keys[1]  # the re-ask is another request
    assert keys[1] == keys[2]  # … retried after the 502 with its own key


async def test_a_structured_call_with_a_key_derives_one_per_re_ask(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").mock(
        side_effect=[
            _answer("nope"),
            _answer('{"name": "Ada"}'),
            _answer('{"name": "A", "age": 1}'),
        ]
    )

    await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person, idempotency_key="extract-7"
    )

    assert [_key(c.request) for c in route.calls] == [
        "extract-7",
        "extract-7-reask-1",
        "extract-7-reask-2",
    ]
    assert json.loads(route.calls[2].request.content)["messages"][0] == MESSAGES[0]


@pytest.mark.respx(assert_all_called=False)
async def test_a_structured_call_key_too_long_for_its_re_asks_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValueError, match="idempotency_key"):
        await team_client.structured_call(
            job_id="job_123", messages=MESSAGES, response_model=Person, idempotency_key="k" * 250
        )

    assert not route.called
