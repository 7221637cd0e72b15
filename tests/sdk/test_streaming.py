"""``client.stream(...)``: SSE parsing, typed errors, and that the connection is always closed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from sdk_payloads import sse

from saas_litellm_client import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ChatStream,
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    StreamChunk,
    StreamDone,
    StreamError,
    Usage,
)

STREAM_URL = "http://api.test/api/jobs/job_123/llm-call-stream"
CALL_URL = "http://api.test/api/jobs/job_123/llm-call"
MESSAGES = [{"role": "user", "content": "Tell me a story"}]

CHUNKS = [{"type": "chunk", "content": text} for text in ("Once", " upon", " a time")]
DONE = {
    "type": "done",
    "call_id": "call_9",
    "job_id": "job_123",
    "model": "ChatAgent",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    "latency_ms": 42.0,
}
ERROR = {"type": "error", "error": {"type": "upstream_error", "message": "provider went away"}}


class FakeBody(httpx.AsyncByteStream):
    """A response body that yields ``parts`` one by one, then optionally fails like a cut
    connection, and records how far it was read and whether it was closed."""

    def __init__(self, parts: Iterable[bytes], *, fail_with: Exception | None = None) -> None:
        self.parts = list(parts)
        self.fail_with = fail_with
        self.sent = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part
        if self.fail_with is not None:
            raise self.fail_with

    async def aclose(self) -> None:
        self.closed = True


def mock_stream(
    respx_mock: respx.MockRouter,
    parts: Iterable[bytes],
    *,
    fail_with: Exception | None = None,
    content_type: str = "text/event-stream; charset=utf-8",
) -> tuple[respx.Route, FakeBody]:
    body = FakeBody(parts, fail_with=fail_with)
    response = httpx.Response(
        200, headers={"content-type": content_type, "x-request-id": "req_s1"}, stream=body
    )
    return respx_mock.post(STREAM_URL).mock(return_value=response), body


def open_stream(client: SaasLiteLLMClient, **kwargs: Any) -> ChatStream:
    return client.stream(job_id="job_123", messages=MESSAGES, **kwargs)


async def read_with(stream: ChatStream, into: list[str]) -> None:
    """The recommended form: ``async with`` around ``async for``."""
    async with stream:
        async for chunk in stream:
            into.append(chunk.content)


async def read_loop(stream: ChatStream, into: list[str]) -> None:
    """The contract's short form: a bare ``async for``."""
    async for chunk in stream:
        into.append(chunk.content)


# -- the happy path ----------------------------------------------------------------------------


async def test_chunks_arrive_in_order_and_done_is_exposed_after_the_loop(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    async with open_stream(team_client) as stream:
        assert stream.done is None
        received = [chunk async for chunk in stream]

    assert all(isinstance(chunk, StreamChunk) for chunk in received)
    assert [chunk.content for chunk in received] == ["Once", " upon", " a time"]
    assert stream.text == "Once upon a time"
    assert isinstance(stream.done, StreamDone)
    assert stream.call_id == "call_9"
    assert stream.usage == Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8)
    assert stream.done.finish_reason == "stop"
    assert body.closed


async def test_plain_async_for_as_in_the_contract_closes_the_response_at_the_end(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    contents = [chunk.content async for chunk in open_stream(team_client)]

    assert contents == ["Once", " upon", " a time"]
    assert body.closed


async def test_get_final_text_reads_the_whole_stream(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    text = await open_stream(team_client).get_final_text()

    assert text == "Once upon a time"
    assert body.closed


async def test_get_final_text_after_a_partial_loop_includes_the_chunks_already_read(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_stream(respx_mock, sse(*CHUNKS, DONE))

    async with open_stream(team_client) as stream:
        async for chunk in stream:
            assert chunk.content == "Once"
            break
        text = await stream.get_final_text()

    assert text == "Once upon a time"
    assert stream.call_id == "call_9"


async def test_until_done_returns_the_done_event(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_stream(respx_mock, sse(*CHUNKS, DONE))

    async with open_stream(team_client) as stream:
        done = await stream.until_done()

    assert done == StreamDone.model_validate(DONE)
    assert done is stream.done


async def test_events_split_across_network_reads_are_reassembled(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    raw = b"".join(sse(*CHUNKS, DONE)).replace(b"\n", b"\r\n")
    mock_stream(respx_mock, [raw[i : i + 7] for i in range(0, len(raw), 7)])

    text = await open_stream(team_client).get_final_text()

    assert text == "Once upon a time"


async def test_keep_alives_and_unknown_event_types_are_skipped(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    parts = [
        b": keep-alive comment\n\n",
        b"event: ping\n\n",  # no data at all
        b"event: ping\ndata: {}\n\n",  # typed by its event: line only
        b'event: progress\nid: 7\ndata: {"type": "progress", "percent": 50}\n\n',
        *sse(*CHUNKS, DONE),
    ]
    mock_stream(respx_mock, parts)

    async with open_stream(team_client) as stream:
        contents = [chunk.content async for chunk in stream]

    assert contents == ["Once", " upon", " a time"]
    assert stream.call_id == "call_9"


# -- the request -------------------------------------------------------------------------------


async def test_request_body_is_the_llm_call_body_and_asks_for_an_event_stream(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    stream_route, _ = mock_stream(respx_mock, sse(DONE))
    call_route = respx_mock.post(CALL_URL).respond(
        200,
        json={
            "call_id": "call_1",
            "job_id": "job_123",
            "model": "ChatAgent",
            "response": {"role": "assistant", "content": "x", "finish_reason": "stop"},
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "latency_ms": 1.0,
        },
    )
    params: dict[str, Any] = {
        "job_id": "job_123",
        "messages": [{"role": "system", "content": "Be brief."}, *MESSAGES],
        "model": "ChatAgent",
        "temperature": 0.0,
        "max_tokens": 50,
        "stop": ["\n\n"],
        "purpose": "story",
        "metadata": {"attempt": 1},
    }

    await team_client.llm_call(**params)
    await team_client.stream(**params).until_done()

    stream_request = stream_route.calls.last.request
    sent = json.loads(stream_request.content)
    assert sent == json.loads(call_route.calls.last.request.content)
    assert sent["temperature"] == 0.0  # a falsy value that was given is sent
    assert stream_request.headers["Accept"] == "text/event-stream"
    assert stream_request.headers["Authorization"] == "Bearer sk-test-team-key"
    assert stream_request.headers["Content-Type"] == "application/json"


@pytest.mark.respx(assert_all_called=False)
async def test_nothing_is_sent_until_the_stream_is_entered_or_iterated(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route, _ = mock_stream(respx_mock, sse(DONE))

    stream = open_stream(team_client)
    await asyncio.sleep(0)
    assert not route.called

    async with stream:
        assert route.call_count == 1


@pytest.mark.respx(assert_all_called=False)
async def test_invalid_arguments_fail_at_the_call_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValidationError):
        team_client.stream(job_id="job_123", messages=[], temperature=5)
    with pytest.raises(ValueError, match="job_id"):
        team_client.stream(job_id="..", messages=MESSAGES)

    assert not route.called


@pytest.mark.respx(assert_all_called=False)
async def test_stream_closed_before_use_sends_nothing_and_refuses_to_iterate(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route, _ = mock_stream(respx_mock, sse(DONE))
    stream = open_stream(team_client)

    await stream.aclose()

    with pytest.raises(RuntimeError, match="closed before its done event"):
        await stream.get_final_text()
    assert not route.called


# -- errors before the stream starts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (402, "insufficient_credits", InsufficientCreditsError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
    ],
)
async def test_error_status_raises_the_same_typed_error_as_llm_call(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    status: int,
    error_type: str,
    expected: type[APIStatusError],
) -> None:
    error = {"error": {"type": error_type, "message": "nope", "request_id": "req_e"}}
    respx_mock.post(STREAM_URL).respond(status, json=error)
    respx_mock.post(CALL_URL).respond(status, json=error)

    with pytest.raises(APIStatusError) as from_call:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES)
    with pytest.raises(APIStatusError) as from_with:
        async with open_stream(team_client):
            pass
    with pytest.raises(APIStatusError) as from_loop:
        async for _ in open_stream(team_client):
            pass

    for info in (from_call, from_with, from_loop):
        assert type(info.value) is expected
        assert info.value.status_code == status
        assert info.value.error_type == error_type
        assert info.value.message == "nope"
        assert info.value.request_id == "req_e"
        assert info.value.response.is_closed


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
async def test_a_2xx_that_is_not_an_event_stream_is_a_response_validation_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, content_type: str
) -> None:
    _, body = mock_stream(respx_mock, [json.dumps(DONE).encode()], content_type=content_type)

    with pytest.raises(APIResponseValidationError, match="text/event-stream") as info:
        async with open_stream(team_client):
            pass

    assert info.value.status_code == 200
    assert info.value.request_id == "req_s1"
    assert body.closed


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ConnectTimeout("connect"), APITimeoutError),
    ],
)
async def test_transport_errors_when_sending_are_wrapped(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    raised: httpx.HTTPError,
    expected: type[SaasLiteLLMError],
) -> None:
    respx_mock.post(STREAM_URL).mock(side_effect=raised)

    with pytest.raises(SaasLiteLLMError) as info:
        async with open_stream(team_client):
            pass

    assert type(info.value) is expected
    assert info.value.__cause__ is raised


# -- errors during the stream ------------------------------------------------------------------


async def test_error_event_raises_stream_error_after_the_chunks_before_it(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(CHUNKS[0], ERROR))
    received: list[str] = []

    stream = open_stream(team_client)

    with pytest.raises(StreamError) as info:
        await read_with(stream, received)

    assert received == ["Once"]
    assert isinstance(info.value, SaasLiteLLMError)
    assert not isinstance(info.value, APIStatusError)
    assert info.value.error_type == "upstream_error"
    assert info.value.message == "provider went away"
    assert info.value.request_id == "req_s1"
    assert stream.done is None
    assert stream.text == "Once"
    assert body.closed


async def test_reading_on_after_an_error_raises_it_again(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_stream(respx_mock, sse(ERROR))
    stream = open_stream(team_client)

    with pytest.raises(StreamError) as first:
        await stream.get_final_text()
    with pytest.raises(StreamError) as second:
        await stream.get_final_text()

    assert second.value is first.value


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        (httpx.ReadError("connection reset by peer"), APIConnectionError),
        (httpx.RemoteProtocolError("peer closed connection mid-body"), APIConnectionError),
        (httpx.ReadTimeout("read"), APITimeoutError),
    ],
)
async def test_connection_cut_mid_stream_is_api_connection_error(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    cut: httpx.HTTPError,
    expected: type[APIConnectionError],
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS[:2]), fail_with=cut)
    received: list[str] = []

    with pytest.raises(APIConnectionError) as info:
        await read_loop(open_stream(team_client), received)

    assert type(info.value) is expected
    assert not isinstance(info.value, httpx.HTTPError)
    assert info.value.__cause__ is cut
    assert received == ["Once", " upon"]
    assert body.closed


async def test_stream_ending_without_done_is_api_connection_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS))

    async with open_stream(team_client) as stream:
        with pytest.raises(APIConnectionError, match="before the done event") as info:
            await stream.get_final_text()

    assert type(info.value) is APIConnectionError
    assert stream.text == "Once upon a time"
    assert stream.done is None
    assert body.closed


@pytest.mark.parametrize(
    "part",
    [
        b"event: chunk\ndata: not json\n\n",
        b'event: chunk\ndata: {"type": "chunk"}\n\n',  # content missing
        b'event: done\ndata: {"type": "done", "call_id": "c"}\n\n',  # usage etc. missing
        b'data: {"content": "untyped"}\n\n',  # neither a type nor an event name
        b"data: [DONE]\n\n",
    ],
)
async def test_malformed_event_is_a_response_validation_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, part: bytes
) -> None:
    _, body = mock_stream(respx_mock, [*sse(CHUNKS[0]), part, *sse(DONE)])

    async with open_stream(team_client) as stream:
        with pytest.raises(APIResponseValidationError, match="does not match") as info:
            await stream.get_final_text()

    assert isinstance(info.value.__cause__, ValidationError)
    assert info.value.request_id == "req_s1"
    assert body.closed


# -- closing -----------------------------------------------------------------------------------


async def test_breaking_out_of_async_with_closes_the_response_at_once(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    many = [{"type": "chunk", "content": str(i)} for i in range(100)]
    _, body = mock_stream(respx_mock, sse(*many, DONE))

    async with open_stream(team_client) as stream:
        async for chunk in stream:
            if chunk.content == "2":
                break
        assert not body.closed

    assert body.closed
    assert stream.response is not None
    assert stream.response.is_closed
    assert body.sent < 10  # the rest was never read
    assert stream.done is None
    with pytest.raises(RuntimeError, match="closed before its done event"):
        await stream.get_final_text()


async def test_an_exception_in_the_caller_closes_the_response(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    async def caller_with_a_bug() -> None:
        async with open_stream(team_client) as stream:
            async for _ in stream:
                raise KeyError("caller bug")

    with pytest.raises(KeyError):
        await caller_with_a_bug()

    assert body.closed


async def test_iterating_twice_raises(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_stream(respx_mock, sse(*CHUNKS, DONE))

    async with open_stream(team_client) as stream:
        assert [chunk.content async for chunk in stream] == ["Once", " upon", " a time"]
        with pytest.raises(RuntimeError, match="already been iterated"):
            async for _ in stream:
                pass


async def test_iterating_after_get_final_text_raises(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_stream(respx_mock, sse(*CHUNKS, DONE))
    stream = open_stream(team_client)

    assert await stream.get_final_text() == "Once upon a time"

    with pytest.raises(RuntimeError, match="already been iterated"):
        async for _ in stream:
            pass


# -- a real socket: the connection really goes back to the pool ---------------------------------


BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 10,
    "credits_used": 1,
    "credits_reserved": 1,
    "credits_remaining": 9,
    "credits_available": 8,
}


class LoopbackServer:
    """A minimal HTTP/1.1 server: ``llm-call-stream`` sends two chunks and then waits for the
    client to hang up (an endless answer); anything else gets the balance as JSON."""

    def __init__(self) -> None:
        self.hung_up = asyncio.Event()
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                if b"llm-call-stream" in head.split(b"\r\n", 1)[0]:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                        b"transfer-encoding: chunked\r\n\r\n"
                    )
                    for event in sse(*CHUNKS[:2]):
                        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    await writer.drain()
                    await reader.read()  # returns at EOF: the client closed the connection
                    self.hung_up.set()
                    return
                body = json.dumps(BALANCE).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer()
    tcp = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = tcp.sockets[0].getsockname()[1]
    async with tcp:
        yield server


async def test_leaving_async_with_early_frees_the_pooled_connection(
    loopback: LoopbackServer,
) -> None:
    # One connection, and a short wait for it: a leaked connection makes the next call fail.
    pool = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5.0, pool=2.0)
    )
    base_url = f"http://127.0.0.1:{loopback.port}"
    async with pool, SaasLiteLLMClient(base_url, "acme-corp", "sk-k", http_client=pool) as client:
        async with open_stream(client) as stream:
            async for chunk in stream:
                assert chunk.content == "Once"
                break

        balance = await client.get_balance()  # a pool timeout if the stream kept the connection
        await asyncio.wait_for(loopback.hung_up.wait(), timeout=2.0)

    assert balance.credits_remaining == 9
