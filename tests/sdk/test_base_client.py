"""The HTTP layer shared by both clients: headers, URLs, bodies, timeouts, errors, lifecycle."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping

import httpx
import pytest
import respx
from pydantic import ValidationError

from saas_litellm_client import (
    NOT_GIVEN,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    CreditBalance,
    InsufficientCreditsError,
    NotGiven,
    SaasLiteLLMError,
)
from saas_litellm_client._base_client import _BaseClient
from saas_litellm_client._endpoints import GET_BALANCE, Endpoint
from saas_litellm_client._types import TimeoutTypes
from saas_litellm_models import LLMCallRequest

BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 100,
    "credits_used": 5,
    "credits_reserved": 1,
    "credits_remaining": 95,
    "credits_available": 94,
}


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


ECHO = Endpoint("POST", "/api/echo", CreditBalance, request=LLMCallRequest)


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
