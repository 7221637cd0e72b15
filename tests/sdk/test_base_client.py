"""The HTTP layer shared by both clients: headers, URLs, bodies, timeouts, errors, lifecycle."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, ValidationError
from sdk_payloads import BALANCE, BALANCE_URL, CALL_URL, MESSAGES, STREAM_URL, call_body, in_flight

from saas_litellm_client import (
    NOT_GIVEN,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ConflictError,
    CreditBalance,
    InsufficientCreditsError,
    InternalServerError,
    NotGiven,
    RateLimitError,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    UpstreamError,
)
from saas_litellm_client._base_client import _BaseClient
from saas_litellm_client._types import TimeoutTypes
from saas_litellm_models import LLMCallRequest
from saas_litellm_models.endpoints import GET_BALANCE, Endpoint


def make_client(
    *,
    base_url: str = "http://api.test",
    api_key: str | None = "sk-secret-key",
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    http_client: httpx.AsyncClient | None = None,
    default_headers: Mapping[str, str] | None = None,
) -> _BaseClient:
    return _BaseClient(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout,
        http_client=http_client,
        default_headers=default_headers,
    )


ECHO = Endpoint("POST", "/api/echo", "Echo", "team", "test", CreditBalance, body=LLMCallRequest)


async def get_balance(client: _BaseClient) -> CreditBalance:
    return await client._request(GET_BALANCE)


# -- headers and URLs --------------------------------------------------------------------------


async def test_sends_bearer_key_user_agent_and_accept(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    async with make_client(default_headers={"X-Trace": "t-1"}) as client:
        balance = await get_balance(client)

    assert balance == CreditBalance.model_validate(BALANCE)
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == "Bearer sk-secret-key"
    assert headers["User-Agent"] == "saas-litellm-python/0.1.0"
    assert headers["Accept"] == "application/json"
    assert headers["X-Trace"] == "t-1"


async def test_no_key_means_no_authorization_header(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    async with make_client(api_key=None) as client:
        await get_balance(client)

    assert "Authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://api.test", "http://api.test/api/credits/balance"),
        ("http://api.test/", "http://api.test/api/credits/balance"),
        ("http://api.test/api", "http://api.test/api/credits/balance"),
        ("http://api.test/api/", "http://api.test/api/credits/balance"),
        (" https://api.test:8443/gw/api ", "https://api.test:8443/gw/api/credits/balance"),
    ],
)
async def test_base_url_is_normalised(
    respx_mock: respx.MockRouter, base_url: str, expected: str
) -> None:
    route = respx_mock.get(expected).respond(200, json=BALANCE)

    async with make_client(base_url=base_url) as client:
        await get_balance(client)

    assert route.call_count == 1


@pytest.mark.parametrize("base_url", ["localhost:8003", "ftp://api.test", "", "http://"])
def test_unusable_base_url_is_refused_at_construction(base_url: str) -> None:
    with pytest.raises(SaasLiteLLMError, match="base_url"):
        make_client(base_url=base_url)


def test_repr_does_not_leak_the_key() -> None:
    assert "sk-secret-key" not in repr(make_client())


# -- bodies and responses ----------------------------------------------------------------------


async def test_body_is_json_without_nulls_and_with_field_aliases(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post("http://api.test/api/echo").respond(200, json=BALANCE)
    body = LLMCallRequest.model_validate(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Person", "schema": {"type": "object", "default": None}},
            },
        }
    )

    async with make_client() as client:
        await client._request(ECHO, body=body)

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            # ``schema_`` goes out as ``schema``; a null *inside* user data is kept.
            "json_schema": {"name": "Person", "schema": {"type": "object", "default": None}},
        },
    }


async def test_error_status_raises_the_typed_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("http://api.test/api/credits/balance").respond(
        402,
        json={"error": {"type": "insufficient_credits", "message": "no credits left"}},
        headers={"X-Request-ID": "req_42"},
    )

    async with make_client() as client:
        with pytest.raises(InsufficientCreditsError) as info:
            await get_balance(client)

    assert info.value.request_id == "req_42"
    assert info.value.message == "no credits left"
    assert info.value.response.status_code == 402


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"team_id": "acme-corp"}).encode(),  # fields missing
        json.dumps({**BALANCE, "credits_used": "many"}).encode(),  # wrong type
        b"<html>OK</html>",  # not JSON at all
        b"",
    ],
)
async def test_2xx_with_a_body_that_does_not_fit_raises_response_validation_error(
    respx_mock: respx.MockRouter, content: bytes
) -> None:
    respx_mock.get("http://api.test/api/credits/balance").respond(
        200, content=content, headers={"X-Request-ID": "req_bad"}
    )

    async with make_client() as client:
        with pytest.raises(APIResponseValidationError, match="CreditBalance") as info:
            await get_balance(client)

    assert info.value.status_code == 200
    assert info.value.request_id == "req_bad"
    assert isinstance(info.value.__cause__, ValidationError)


# -- transport failures ------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections (in the backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_connection_refused_is_api_connection_error(closed_port: int) -> None:
    async with make_client(base_url=f"http://127.0.0.1:{closed_port}") as client:
        with pytest.raises(APIConnectionError) as info:
            await get_balance(client)

    assert type(info.value) is APIConnectionError
    assert not isinstance(info.value, httpx.HTTPError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_server_that_never_answers_is_api_timeout_error(silent_server: int) -> None:
    async with make_client(base_url=f"http://127.0.0.1:{silent_server}", timeout=0.2) as client:
        with pytest.raises(APITimeoutError) as info:
            await get_balance(client)

    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.RemoteProtocolError("peer closed connection"), APIConnectionError),
        (httpx.ReadError("reset by peer"), APIConnectionError),
        (httpx.ConnectTimeout("connect"), APITimeoutError),
        (httpx.ReadTimeout("read"), APITimeoutError),
        (httpx.PoolTimeout("pool"), APITimeoutError),
    ],
)
async def test_transport_errors_are_wrapped(
    respx_mock: respx.MockRouter, raised: httpx.HTTPError, expected: type[SaasLiteLLMError]
) -> None:
    respx_mock.get("http://api.test/api/credits/balance").mock(side_effect=raised)

    async with make_client() as client:
        with pytest.raises(SaasLiteLLMError) as info:
            await get_balance(client)

    assert type(info.value) is expected
    assert info.value.__cause__ is raised


async def test_undecodable_response_body_is_api_connection_error(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("http://api.test/api/credits/balance").respond(
        200, stream=httpx.ByteStream(b"not gzip at all"), headers={"Content-Encoding": "gzip"}
    )

    async with make_client() as client:
        with pytest.raises(APIConnectionError) as info:
            await get_balance(client)

    assert isinstance(info.value.__cause__, httpx.DecodingError)


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (NOT_GIVEN, {"connect": 5.0, "read": 60.0, "write": 60.0, "pool": 60.0}),
        (3.0, {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}),
        (
            httpx.Timeout(9.0, read=120.0),
            {"connect": 9.0, "read": 120.0, "write": 9.0, "pool": 9.0},
        ),
        (None, {"connect": None, "read": None, "write": None, "pool": None}),
    ],
)
async def test_timeout_applies_to_every_request(
    respx_mock: respx.MockRouter,
    timeout: TimeoutTypes | NotGiven,
    expected: dict[str, float | None],
) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    async with make_client(timeout=timeout) as client:
        await get_balance(client)

    assert route.calls.last.request.extensions["timeout"] == expected


async def test_passed_in_client_keeps_its_own_timeout_unless_one_is_given(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    async with httpx.AsyncClient(timeout=7.0) as http_client:
        await get_balance(make_client(http_client=http_client))
        assert route.calls.last.request.extensions["timeout"]["read"] == 7.0

        await get_balance(make_client(http_client=http_client, timeout=2.0))
        assert route.calls.last.request.extensions["timeout"]["read"] == 2.0


# -- lifecycle ---------------------------------------------------------------------------------


async def test_passed_in_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=BALANCE)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http_client:
        async with make_client(http_client=http_client) as client:
            await get_balance(client)

        assert client.is_closed
        assert not http_client.is_closed
        assert (await http_client.get("http://api.test/api/credits/balance")).status_code == 200

    assert seen[0].headers["Authorization"] == "Bearer sk-secret-key"


async def test_owned_http_client_is_closed_on_exit() -> None:
    async with make_client() as client:
        pass

    assert client.is_closed
    assert client._http_client.is_closed


async def test_closed_client_refuses_to_send() -> None:
    client = make_client()
    await client.close()

    with pytest.raises(RuntimeError, match="is closed; create a new one"):
        await get_balance(client)
    with pytest.raises(RuntimeError, match="is closed"):
        await client.__aenter__()


async def test_http_client_closed_by_its_owner_gives_a_clear_error() -> None:
    http_client = httpx.AsyncClient()
    client = make_client(http_client=http_client)
    await http_client.aclose()

    with pytest.raises(RuntimeError, match="closed by its owner"):
        await get_balance(client)


# -- timeouts and deadlines -------------------------------------------------------------------
# Timeouts and deadlines: ``timeout`` per request, ``deadline`` across all attempts of a call.
#
# The retry loop reads the time from ``client._clock`` and waits with ``client._sleep``: here a
# fake clock that only moves when the test (or a fake sleep) moves it, so that nothing waits.
CALL = call_body("x")


class FakeClock:
    """``time.monotonic`` and ``sleep`` for a client: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(team_client: SaasLiteLLMClient) -> FakeClock:
    fake = FakeClock()
    team_client._clock = fake
    team_client._sleep = fake.sleep
    team_client._random = lambda: 0.0  # backoff 0.5, 1, 2, 4, 8 …
    return fake


def failing_after(clock: FakeClock, seconds: float, status: int = 503) -> Any:
    """A side effect: each attempt takes ``seconds`` of fake time, then fails with ``status``."""

    def effect(request: httpx.Request) -> httpx.Response:
        clock.now += seconds
        return httpx.Response(status, json={"error": {"type": "x", "message": "busy"}})

    return effect


async def test_no_retry_starts_that_could_not_finish_before_the_deadline(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=failing_after(clock, 1.0))
    start = clock.now

    with pytest.raises(
        APITimeoutError, match=r"Deadline of 5s exceeded .* after 3 attempt"
    ) as info:
        await team_client.get_balance(max_retries=10, deadline=5)

    # t=0 attempt 1 (1 s), wait 0.5; t=1.5 attempt 2, wait 1; t=3.5 attempt 3 ends at 4.5:
    # waiting 2 s more would pass the deadline, so the call ends now, without that sleep.
    assert route.call_count == 3
    assert clock.slept == [0.5, 1.0]
    assert clock.now - start == 4.5
    assert isinstance(info.value.__cause__, InternalServerError)
    assert "last error: 503" in str(info.value)


async def test_a_deadline_reached_while_waiting_is_checked_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, json=BALANCE),
        ]
    )

    with pytest.raises(APITimeoutError, match=r"Deadline of 1\.5s"):
        await team_client.get_balance(deadline=1.5)

    assert route.call_count == 1
    assert clock.slept == []  # a Retry-After past the deadline is not waited for


def timing_out_then(clock: FakeClock, *answers: httpx.Response) -> Any:
    """A side effect: the first attempt times out after 1 s (the server keeps working on it);
    each later one gets the next of ``answers``, taking 0.1 s."""
    attempts: list[httpx.Request] = []

    def effect(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            clock.now += 1.0
            raise httpx.ReadTimeout("timed out", request=request)
        clock.now += 0.1
        return answers[len(attempts) - 2]

    return effect


async def test_a_call_waits_for_the_replay_of_its_own_attempt_still_in_flight(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    # The first attempt timed out client-side, but the server is still running it: the retry
    # gets 409 for its own key; waiting Retry-After and asking again gets the original answer.
    route = respx_mock.post(CALL_URL).mock(
        side_effect=timing_out_then(
            clock, in_flight(), in_flight(), in_flight(), httpx.Response(200, json=CALL)
        )
    )

    answer = await team_client.llm_call(
        job_id="job_123", messages=MESSAGES, timeout=1.0, deadline=10, max_retries=1
    )

    assert answer.content == "x"
    assert route.call_count == 5  # the waits for the replay are not retries: max_retries=1
    assert clock.slept == [0.5, 1.0, 1.0, 1.0]
    keys = {c.request.headers["Idempotency-Key"] for c in route.calls}
    assert len(keys) == 1


async def test_waiting_for_an_own_attempt_in_flight_ends_at_the_deadline(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    # llm_call(timeout=1.0, deadline=3) against an upstream slower than that
    route = respx_mock.post(CALL_URL).mock(
        side_effect=timing_out_then(clock, *[in_flight() for _ in range(5)])
    )
    start = clock.now

    with pytest.raises(APITimeoutError, match=r"Deadline of 3s exceeded") as info:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, timeout=1.0, deadline=3)

    # t=0 attempt (1 s), wait 0.5; t=1.5 409 (0.1 s), wait 1; t=2.6 409: 1 s more would pass 3 s
    assert route.call_count == 3
    assert clock.slept == [0.5, 1.0]
    assert clock.now - start == pytest.approx(2.7)
    assert isinstance(info.value.__cause__, ConflictError)


async def test_a_429_asking_for_longer_than_the_deadline_leaves_is_a_rate_limit_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    limited = {"error": {"type": "rate_limited", "message": "team reached its limit"}}
    route = respx_mock.get(BALANCE_URL).mock(
        return_value=httpx.Response(429, json=limited, headers={"Retry-After": "30"})
    )

    with pytest.raises(RateLimitError) as info:
        await team_client.get_balance(deadline=5)

    assert info.value.retry_after == 30.0  # the caller learns when to come back
    assert route.call_count == 1 and clock.slept == []


async def test_the_client_deadline_and_with_options(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=failing_after(clock, 1.0))

    hurried = team_client.with_options(deadline=2.0, max_retries=10)
    with pytest.raises(APITimeoutError):
        await hurried.get_balance()
    assert route.call_count == 2  # 1 s, wait 0.5, 1 s: then 1 s of backoff would pass 2 s

    with pytest.raises(InternalServerError):
        await hurried.get_balance(deadline=None)  # per call: no deadline, all 11 attempts
    assert route.call_count == 2 + 11


async def test_a_client_built_with_a_deadline(respx_mock: respx.MockRouter) -> None:
    async with SaasLiteLLMClient(
        "http://api.test", "acme-corp", "sk-k", deadline=0.75, max_retries=5
    ) as client:
        clock = FakeClock()
        client._clock, client._sleep, client._random = clock, clock.sleep, lambda: 0.0
        route = respx_mock.get(BALANCE_URL).mock(side_effect=failing_after(clock, 0.5))

        with pytest.raises(APITimeoutError):
            await client.get_balance()

    assert route.call_count == 1


async def test_without_a_deadline_the_retries_are_bounded_by_max_retries_only(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(side_effect=failing_after(clock, 100.0))

    with pytest.raises(InternalServerError):
        await team_client.get_balance()

    assert route.call_count == 3


async def test_each_attempts_timeout_is_cut_to_what_is_left_of_the_deadline(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(
        side_effect=[failing_after(clock, 3.0), httpx.Response(200, json=BALANCE)]
    )

    await team_client.get_balance(timeout=httpx.Timeout(10.0, connect=2.0), deadline=8)

    first, second = (call.request.extensions["timeout"] for call in route.calls)
    assert first == {"connect": 2.0, "read": 8.0, "write": 8.0, "pool": 8.0}
    # 3 s of the first attempt and 0.5 s of backoff are gone: 4.5 s left
    assert second == {"connect": 2.0, "read": 4.5, "write": 4.5, "pool": 4.5}


async def test_an_attempt_that_hangs_is_cut_off_at_the_deadline(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    never = asyncio.Event()
    started: list[float] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        started.append(asyncio.get_running_loop().time())
        await never.wait()  # a server that takes the request and never answers
        raise AssertionError("unreachable")

    respx_mock.get(BALANCE_URL).mock(side_effect=hang)

    with pytest.raises(APITimeoutError, match=r"Deadline of 0\.2s exceeded .* after 1 attempt"):
        await asyncio.wait_for(team_client.get_balance(deadline=0.2), timeout=10)

    assert len(started) == 1  # (respx counts a call only once it was answered)


async def test_a_per_request_timeout_is_an_api_timeout_error_and_is_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get(BALANCE_URL).mock(
        side_effect=[httpx.ReadTimeout("read"), httpx.Response(200, json=BALANCE)]
    )

    balance = await team_client.get_balance(timeout=0.5)

    assert balance.credits_remaining == 95
    assert route.call_count == 2
    assert route.calls.last.request.extensions["timeout"]["read"] == 0.5


@pytest.mark.parametrize("deadline", [0, -1, float("nan"), float("inf"), "5"])
async def test_unusable_deadlines_are_refused(
    team_client: SaasLiteLLMClient, deadline: Any
) -> None:
    with pytest.raises(ValueError, match="deadline"):
        await team_client.get_balance(deadline=deadline)


# -- calls made of several requests ------------------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


async def test_a_structured_calls_deadline_covers_its_re_asks(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    def slow_invalid_answer(request: httpx.Request) -> httpx.Response:
        clock.now += 2.0
        return httpx.Response(200, json={**CALL, "response": {**CALL["response"], "content": "{}"}})

    route = respx_mock.post(CALL_URL).mock(side_effect=slow_invalid_answer)

    with pytest.raises(APITimeoutError, match="structured_call after 2 call"):
        await team_client.structured_call(
            job_id="job_123",
            messages=MESSAGES,
            response_model=Person,
            max_retries=5,
            deadline=3.5,
        )

    assert route.call_count == 2  # 2 s + 2 s: no third call starts after 3.5 s
    assert route.calls[1].request.extensions["timeout"]["read"] == 1.5


async def test_a_streams_deadline_bounds_its_opening(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, clock: FakeClock
) -> None:
    route = respx_mock.post(STREAM_URL).mock(side_effect=failing_after(clock, 1.0, status=502))
    stream = team_client.stream(job_id="job_123", messages=MESSAGES, deadline=2.0)
    clock.now += 100  # the deadline starts when the stream is opened, not when it is made

    with pytest.raises(APITimeoutError) as info:
        async with stream:
            pass

    assert route.call_count == 2
    assert isinstance(info.value.__cause__, UpstreamError)
