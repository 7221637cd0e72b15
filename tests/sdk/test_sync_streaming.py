"""``SyncChatStream`` and ``SyncStructuredStream`` (``_sync_streaming``,
``_sync_structured_calls``): a stream is a plain iterator and context manager that owns its HTTP
response and closes it on every way out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel
from sdk_payloads import COSTS, DONE, MESSAGES, STREAM_URL, sent_json, sse

from saas_litellm_client import (
    APIConnectionError,
    InsufficientCreditsError,
    SaasLiteLLMSyncClient,
    StreamChunk,
    StreamError,
    SyncChatStream,
    SyncStructuredStream,
    request_id_of,
)

CHUNKS = [{"type": "chunk", "content": text} for text in ("Once", " upon", " a time")]
SHORTCUT_STREAM_URL = "http://api.test/api/jobs/create-and-call-stream"


class FakeBody(httpx.SyncByteStream):
    """A response body sent part by part, that records whether it was closed."""

    def __init__(self, parts: Iterable[bytes], fail_with: Exception | None = None) -> None:
        self.parts = list(parts)
        self.fail_with = fail_with
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True


def mock_stream(
    respx_mock: respx.MockRouter,
    parts: Iterable[bytes],
    *,
    url: str = STREAM_URL,
    fail_with: Exception | None = None,
) -> tuple[respx.Route, FakeBody]:
    body = FakeBody(parts, fail_with)
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream", "x-request-id": "req_s1"}, stream=body
    )
    return respx_mock.post(url).mock(return_value=response), body


def open_stream(client: SaasLiteLLMSyncClient) -> SyncChatStream:
    return client.stream(job_id="job_123", messages=MESSAGES)


def test_with_and_for_read_the_chunks_then_expose_done(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    with open_stream(sync_client) as stream:
        assert stream.done is None
        received = [chunk for chunk in stream]

    assert all(isinstance(chunk, StreamChunk) for chunk in received)
    assert stream.text == "Once upon a time"
    assert stream.call_id == "call_9" and stream.usage is not None
    assert stream.request_id == "req_s1" and request_id_of(stream) == "req_s1"
    assert body.closed


def test_a_bare_for_loop_closes_the_response_at_the_end(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    contents = [chunk.content for chunk in open_stream(sync_client)]

    assert contents == ["Once", " upon", " a time"]
    assert body.closed


def test_nothing_is_sent_until_the_stream_is_entered(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route, _ = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    stream = open_stream(sync_client)
    assert route.call_count == 0
    assert stream.get_final_text() == "Once upon a time"
    assert route.call_count == 1
    assert route.calls.last.request.headers["accept"] == "text/event-stream"


def test_leaving_the_block_early_closes_the_response(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS, DONE))

    with open_stream(sync_client) as stream:
        for _ in stream:
            break

    assert body.closed
    assert stream.done is None and stream.text == "Once"
    with pytest.raises(RuntimeError, match="closed before its done event"):
        stream.until_done()


def test_an_error_status_raises_the_typed_error_when_opening(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    respx_mock.post(STREAM_URL).respond(
        402, json={"error": {"type": "insufficient_credits", "message": "none left"}}
    )

    with pytest.raises(InsufficientCreditsError), open_stream(sync_client):
        pass


def test_an_error_event_after_chunks_raises_stream_error(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    error = {"type": "error", "error": {"type": "upstream_error", "message": "provider fell"}}
    _, body = mock_stream(respx_mock, sse(CHUNKS[0], error))
    received: list[str] = []

    with pytest.raises(StreamError, match="provider fell") as info, open_stream(sync_client) as s:
        for chunk in s:
            received.append(chunk.content)

    assert info.value.error_type == "upstream_error"
    assert received == ["Once"]
    assert body.closed


def test_an_early_error_event_is_retried_before_anything_reached_the_caller(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient, sleeps: list[float]
) -> None:
    error = {"type": "error", "error": {"type": "upstream_error", "message": "retry me"}}
    headers = {"content-type": "text/event-stream"}
    route = respx_mock.post(STREAM_URL).mock(
        side_effect=[
            httpx.Response(200, headers=headers, stream=FakeBody(sse(error))),
            httpx.Response(200, headers=headers, stream=FakeBody(sse(*CHUNKS, DONE))),
        ]
    )

    assert open_stream(sync_client).get_final_text() == "Once upon a time"
    assert route.call_count == 2 and len(sleeps) == 1
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1


def test_a_connection_cut_mid_stream_is_an_api_connection_error(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    _, body = mock_stream(respx_mock, sse(*CHUNKS[:2]), fail_with=httpx.ReadError("reset"))

    with pytest.raises(APIConnectionError), open_stream(sync_client) as stream:
        for _ in stream:
            pass

    assert stream.text == "Once upon"
    assert body.closed


def test_create_and_call_stream_ends_with_the_jobs_settlement(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    route, _ = mock_stream(
        respx_mock, sse(*CHUNKS, {**DONE, "costs": COSTS}), url=SHORTCUT_STREAM_URL
    )

    with sync_client.create_and_call_stream("chat", messages=MESSAGES) as stream:
        text = "".join(chunk.content for chunk in stream)

    assert text == "Once upon a time"
    assert stream.done is not None and stream.done.costs is not None
    assert stream.done.costs.credit_applied
    assert sent_json(route)["job_type"] == "chat" and sent_json(route)["team_id"] == "acme-corp"


class Person(BaseModel):
    name: str
    age: int


def test_stream_structured_yields_partials_then_the_model(
    respx_mock: respx.MockRouter, sync_client: SaasLiteLLMSyncClient
) -> None:
    parts = ['{"name": "A', 'da", "a', 'ge": 36}']
    chunks: list[dict[str, Any]] = [{"type": "chunk", "content": part} for part in parts]
    _, body = mock_stream(respx_mock, sse(*chunks, DONE))

    with sync_client.stream_structured(
        job_id="job_123", messages=MESSAGES, response_model=Person
    ) as stream:
        assert isinstance(stream, SyncStructuredStream)
        items = list(stream)

    assert items[-1] == Person(name="Ada", age=36)
    assert stream.final == Person(name="Ada", age=36)
    assert any(getattr(item, "name", None) == "A" for item in items[:-1])
    assert body.closed
