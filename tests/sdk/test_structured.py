"""``client.structured_call(...)`` and ``client.stream_structured(...)`` against a respx-mocked API:
the strict response_format, validation, re-asks, typed failures, partial objects while streaming.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, Field, ValidationError

from saas_litellm_client import (
    ConflictError,
    InsufficientCreditsError,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    StreamError,
    StrictSchemaError,
    StructuredOutputError,
    StructuredOutputRefusedError,
    StructuredOutputTruncatedError,
    StructuredStream,
    Usage,
    to_strict_json_schema,
)

CALL_URL = "http://api.test/api/jobs/job_123/llm-call"
STREAM_URL = "http://api.test/api/jobs/job_123/llm-call-stream"
MESSAGES = [{"role": "user", "content": "Extract: Jane Doe, 42, lives in Paris."}]


class Address(BaseModel):
    city: str
    country: str | None = None


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str
    age: int = Field(ge=0)
    address: Address
    tags: list[str] = []


VALID = {"name": "Jane Doe", "age": 42, "address": {"city": "Paris", "country": None}, "tags": []}
VALID_JSON = json.dumps(VALID)


def answer(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    call_id: str = "call_1",
    tokens: tuple[int, int] = (10, 5),
) -> httpx.Response:
    prompt, completion = tokens
    return httpx.Response(
        200,
        json={
            "call_id": call_id,
            "job_id": "job_123",
            "model": "ChatAgent",
            "response": {"role": "assistant", "content": content, "finish_reason": finish_reason},
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            "latency_ms": 12.5,
        },
    )


def api_error(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"type": kind, "message": message, "request_id": "req_1"}},
        headers={"x-request-id": "req_1"},
    )


def sent(route: respx.Route, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


def strict_format(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": to_strict_json_schema(model),
            "strict": True,
        },
    }


async def structured(client: SaasLiteLLMClient, **kwargs: Any) -> Person:
    return await client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person, **kwargs
    )


# -- structured_call: the happy path ----------------------------------------------------------


async def test_a_valid_answer_is_returned_as_the_model_after_one_call(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer(VALID_JSON))

    person = await structured(team_client)

    assert isinstance(person, Person)
    assert person == Person.model_validate(VALID)
    assert route.call_count == 1


async def test_the_request_carries_the_strict_schema_and_the_other_params(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer(VALID_JSON))

    await structured(
        team_client,
        model="ChatAgent",
        temperature=0.2,
        max_tokens=500,
        top_p=0.9,
        stop=["\n\n"],
        purpose="extract person",
        metadata={"doc": "a.txt"},
    )

    body = sent(route)
    assert body["response_format"] == strict_format(Person)
    assert body["response_format"]["json_schema"]["schema"]["required"] == [
        "name",
        "age",
        "address",
        "tags",
    ]
    assert body["messages"] == MESSAGES
    assert body["model"] == "ChatAgent"
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 500
    assert body["top_p"] == 0.9
    assert body["stop"] == ["\n\n"]
    assert body["purpose"] == "extract person"
    assert body["metadata"] == {"doc": "a.txt"}
    assert "tools" not in body


# -- re-asks -----------------------------------------------------------------------------------


async def test_invalid_json_is_re_asked_with_the_bad_output_and_the_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    bad = '{"name": "Jane Doe", "age": 42,'
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[answer(bad, call_id="call_1"), answer(VALID_JSON, call_id="call_2")]
    )
    messages = list(MESSAGES)

    person = await team_client.structured_call(
        job_id="job_123", messages=messages, response_model=Person
    )

    assert person.name == "Jane Doe"
    assert route.call_count == 2
    first, second = sent(route, 0), sent(route, 1)
    assert first["messages"] == MESSAGES
    assert second["messages"][: len(MESSAGES)] == MESSAGES
    assert second["messages"][len(MESSAGES)] == {"role": "assistant", "content": bad}
    feedback = second["messages"][len(MESSAGES) + 1]
    assert feedback["role"] == "user"
    assert "Invalid JSON" in feedback["content"]
    assert "Person" in feedback["content"]
    assert len(second["messages"]) == len(MESSAGES) + 2
    assert second["response_format"] == first["response_format"] == strict_format(Person)
    assert messages == MESSAGES  # the caller's list is left alone


async def test_validation_errors_are_re_asked_with_their_locations(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    bad = json.dumps({"name": "Jane Doe", "age": "forty-two", "address": {}, "tags": []})
    route = respx_mock.post(CALL_URL).mock(side_effect=[answer(bad), answer(VALID_JSON)])

    person = await structured(team_client)

    assert person.age == 42
    feedback = sent(route, 1)["messages"][-1]["content"]
    assert (
        "- age: Input should be a valid integer, unable to parse string as an integer "
        '(got "forty-two")'
    ) in feedback
    assert "- address.city: Field required" in feedback
    assert "country" not in feedback  # nullable but required in the schema: pydantic accepts it


@pytest.mark.parametrize("max_reasks", [0, 1, 3])
async def test_giving_up_after_one_plus_max_reasks_calls_raises_with_everything(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, max_reasks: int
) -> None:
    responses = [
        answer(f'{{"name": "attempt {i}"}}', call_id=f"call_{i}", tokens=(10 + i, 5))
        for i in range(1, max_reasks + 2)
    ]
    route = respx_mock.post(CALL_URL).mock(side_effect=[*responses, answer(VALID_JSON)])

    with pytest.raises(StructuredOutputError) as caught:
        await structured(team_client, max_reasks=max_reasks)

    error = caught.value
    attempts = max_reasks + 1
    assert type(error) is StructuredOutputError
    assert isinstance(error, SaasLiteLLMError)
    assert route.call_count == attempts
    assert error.attempts == attempts
    assert error.call_ids == [f"call_{i}" for i in range(1, attempts + 1)]
    assert error.last_output == f'{{"name": "attempt {attempts}"}}'
    assert [e["loc"] for e in error.validation_errors] == [("age",), ("address",)]
    assert {e["type"] for e in error.validation_errors} == {"missing"}
    prompt = sum(10 + i for i in range(1, attempts + 1))
    assert error.usage == Usage(
        prompt_tokens=prompt, completion_tokens=5 * attempts, total_tokens=prompt + 5 * attempts
    )
    assert f"after {attempts} attempt(s)" in str(error)
    assert "age: Field required" in str(error)
    # each re-ask carries the whole conversation so far: 2 more messages per attempt
    assert len(sent(route)["messages"]) == len(MESSAGES) + 2 * max_reasks


# -- what is not re-asked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "error_class"),
    [(402, "insufficient_credits", InsufficientCreditsError), (409, "conflict", ConflictError)],
)
async def test_api_errors_propagate_without_a_re_ask(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    status: int,
    kind: str,
    error_class: type[SaasLiteLLMError],
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[api_error(status, kind, "nope"), answer(VALID_JSON)]
    )

    with pytest.raises(error_class, match="nope"):
        await structured(team_client)

    assert route.call_count == 1


async def test_an_api_error_during_a_re_ask_propagates(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[answer("not json"), api_error(409, "conflict", "job completed"), answer("")]
    )

    with pytest.raises(ConflictError, match="job completed"):
        await structured(team_client, max_reasks=5)

    assert route.call_count == 2


async def test_a_truncated_answer_raises_without_a_re_ask(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    cut = VALID_JSON[:20]
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[answer(cut, finish_reason="length", tokens=(30, 8)), answer(VALID_JSON)]
    )

    with pytest.raises(StructuredOutputTruncatedError, match="max_tokens") as caught:
        await structured(team_client, max_tokens=8)

    assert route.call_count == 1
    error = caught.value
    assert isinstance(error, StructuredOutputError)
    assert error.finish_reason == "length"
    assert error.last_output == cut
    assert error.attempts == 1
    assert error.call_ids == ["call_1"]
    assert error.usage == Usage(prompt_tokens=30, completion_tokens=8, total_tokens=38)
    assert error.validation_errors[0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("content", "finish_reason"),
    [(None, "content_filter"), ("", "stop"), ('{"name": "Ja', "content_filter"), (None, None)],
)
async def test_a_refusal_raises_without_a_re_ask(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    content: str | None,
    finish_reason: str | None,
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[answer(content, finish_reason=finish_reason), answer(VALID_JSON)]
    )

    with pytest.raises(StructuredOutputRefusedError, match="refused") as caught:
        await structured(team_client)

    assert route.call_count == 1
    assert isinstance(caught.value, StructuredOutputError)
    assert caught.value.finish_reason == finish_reason
    assert caught.value.last_output == (content or "")


async def test_a_refusal_after_a_re_ask_reports_both_attempts(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(CALL_URL).mock(
        side_effect=[
            answer("{}", call_id="call_1"),
            answer(None, finish_reason="content_filter", call_id="call_2"),
        ]
    )

    with pytest.raises(StructuredOutputRefusedError) as caught:
        await structured(team_client)

    assert caught.value.attempts == 2
    assert caught.value.call_ids == ["call_1", "call_2"]
    assert caught.value.usage.total_tokens == 30


# -- arguments and schemas ---------------------------------------------------------------------


class Scores(BaseModel):
    scores: dict[str, int]


async def test_a_model_strict_mode_cannot_express_fails_before_any_request(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer('{"scores": {}}'))

    with pytest.raises(StrictSchemaError, match=r"Scores\.properties\.scores"):
        await team_client.structured_call(
            job_id="job_123", messages=MESSAGES, response_model=Scores
        )
    with pytest.raises(StrictSchemaError):
        team_client.stream_structured(job_id="job_123", messages=MESSAGES, response_model=Scores)

    assert not route.called


async def test_strict_false_sends_pydantics_schema_non_strictly(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer('{"scores": {"a": 1}}'))

    result = await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Scores, strict=False
    )

    assert result == Scores(scores={"a": 1})
    assert sent(route)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Scores", "schema": Scores.model_json_schema(), "strict": False},
    }


@pytest.mark.parametrize("max_reasks", [-1, 1.5, True])
async def test_a_bad_max_reasks_is_refused_before_any_request(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, max_reasks: Any
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer(VALID_JSON))

    with pytest.raises(ValueError, match="max_reasks"):
        await structured(team_client, max_reasks=max_reasks)

    assert not route.called


async def test_max_retries_is_the_transport_retries_of_each_call_as_everywhere(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[httpx.Response(503, json={"error": {"type": "x", "message": "busy"}})] * 2
        + [answer(VALID_JSON)]
    )

    person = await structured(team_client, max_retries=2, max_reasks=0)

    assert isinstance(person, Person)
    assert route.call_count == 3  # one call, sent three times: not three re-asks
    with pytest.raises(ValueError, match="max_retries"):
        await structured(team_client, max_retries=-1)


async def test_bad_llm_call_arguments_fail_before_any_request(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post(CALL_URL).mock(return_value=answer(VALID_JSON))

    with pytest.raises(ValidationError):
        await structured(team_client, temperature=5)

    assert not route.called


async def test_a_generic_model_gets_a_valid_schema_name(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    from typing import Generic, TypeVar

    T = TypeVar("T")

    class Page(BaseModel, Generic[T]):
        items: list[T]

    route = respx_mock.post(CALL_URL).mock(return_value=answer('{"items": [{"city": "Rome"}]}'))

    page = await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Page[Address]
    )

    assert page.items == [Address(city="Rome")]
    assert sent(route)["response_format"]["json_schema"]["name"] == "Page_Address"


# -- stream_structured -------------------------------------------------------------------------


class FakeBody(httpx.AsyncByteStream):
    """An SSE body that yields ``parts`` one by one and records whether it was closed."""

    def __init__(self, parts: Iterable[bytes]) -> None:
        self.parts = list(parts)
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part

    async def aclose(self) -> None:
        self.closed = True


def sse_events(
    text: str | list[str],
    *,
    size: int = 4,
    finish_reason: str | None = "stop",
    error: dict[str, Any] | None = None,
) -> list[bytes]:
    """``text`` as chunk events of ``size`` characters (or the given pieces), then ``done`` (or
    ``error``)."""
    pieces = (
        text if isinstance(text, list) else [text[i : i + size] for i in range(0, len(text), size)]
    )
    events: list[dict[str, Any]] = [{"type": "chunk", "content": piece} for piece in pieces]
    events.append(
        error
        or {
            "type": "done",
            "call_id": "call_s1",
            "job_id": "job_123",
            "model": "ChatAgent",
            "finish_reason": finish_reason,
            "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
            "latency_ms": 40.0,
        }
    )
    return [
        f"event: {event['type']}\nid: {seq}\ndata: {json.dumps(event)}\n\n".encode()
        for seq, event in enumerate(events)
    ]


def mock_sse(respx_mock: respx.MockRouter, parts: list[bytes]) -> tuple[respx.Route, FakeBody]:
    body = FakeBody(parts)
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    return respx_mock.post(STREAM_URL).mock(return_value=response), body


def open_structured(client: SaasLiteLLMClient, **kwargs: Any) -> StructuredStream[Person]:
    return client.stream_structured(
        job_id="job_123", messages=MESSAGES, response_model=Person, **kwargs
    )


STREAMED = {
    "name": "Jane Doe",
    "age": 42,
    "address": {"city": "Paris", "country": "France"},
    "tags": ["a", "b"],
}


async def test_partial_objects_arrive_before_the_final_validated_instance(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route, body = mock_sse(respx_mock, sse_events(json.dumps(STREAMED), size=3))

    async with open_structured(team_client, temperature=0.1) as stream:
        items = [item async for item in stream]

    final = items[-1]
    assert type(final) is Person
    assert final == Person.model_validate(STREAMED)
    assert stream.final is final
    partials = items[:-1]
    assert partials
    assert not any(isinstance(item, Person) for item in partials)
    first = partials[0].model_dump()
    assert first["age"] is None
    assert first["address"] is None
    # progressively filled: a name growing letter by letter, then the nested object
    names = [p.model_dump()["name"] for p in partials]
    assert any(name and name != "Jane Doe" and "Jane Doe".startswith(name) for name in names)
    cities = [
        (p.model_dump()["address"] or {}).get("city")
        for p in partials
        if p.model_dump()["address"] is not None
    ]
    assert "Paris" in cities
    assert body.closed
    sent_body = sent(route)
    assert sent_body["response_format"] == strict_format(Person)
    assert sent_body["temperature"] == 0.1
    assert stream.usage == Usage(prompt_tokens=20, completion_tokens=9, total_tokens=29)
    assert stream.call_id == "call_s1"
    assert stream.text == json.dumps(STREAMED)


async def test_a_number_cut_between_two_chunks_is_never_shown_half_received(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    pieces = ['{"name": "Jane Doe", "age": 4', '2, "address": {"city": "Paris", "country": nu']
    pieces += ['ll}, "tags": []}']
    mock_sse(respx_mock, sse_events(pieces))

    async with open_structured(team_client) as stream:
        items = [item.model_dump() async for item in stream]

    assert [item["age"] for item in items] == [None, 42, 42]  # the complete JSON: the final
    assert items[0]["name"] == "Jane Doe"
    assert items[1]["address"] == {"city": "Paris", "country": None}
    assert items[-1] == VALID


async def test_a_snapshot_is_yielded_only_when_the_object_grew(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    pieces = ['{"name": "Jane Doe"', ",", ' "age"', ": ", "42", ",\n  ", '"address": {']
    pieces += ['"city": "Paris", "country": null}, "tags": []}']
    mock_sse(respx_mock, sse_events(pieces))

    async with open_structured(team_client) as stream:
        items = [item.model_dump() async for item in stream]

    assert len(items) == 4
    assert items[0] == {"name": "Jane Doe", "age": None, "address": None, "tags": None}
    assert items[1]["age"] == 42
    assert items[2]["address"] == {"city": None, "country": None}
    assert items[3] == VALID


async def test_a_bare_async_for_closes_the_stream_at_the_end(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_sse(respx_mock, sse_events(json.dumps(STREAMED)))

    items = [item async for item in open_structured(team_client)]

    assert isinstance(items[-1], Person)
    assert body.closed


async def test_get_final_reads_the_rest_and_returns_the_model(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_sse(respx_mock, sse_events(json.dumps(STREAMED)))

    async with open_structured(team_client) as stream:
        person = await stream.get_final()

    assert person == Person.model_validate(STREAMED)
    assert body.closed


async def test_leaving_async_with_early_closes_the_stream(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_sse(respx_mock, sse_events(json.dumps(STREAMED)))

    async with open_structured(team_client) as stream:
        async for _ in stream:
            break

    assert body.closed
    assert stream.final is None


async def test_an_invalid_final_object_raises_and_closes_the_stream(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route, body = mock_sse(respx_mock, sse_events('{"name": "Jane Doe", "age": -1}'))

    with pytest.raises(StructuredOutputError) as caught:
        async with open_structured(team_client) as stream:
            async for _ in stream:
                pass

    error = caught.value
    assert type(error) is StructuredOutputError
    assert error.attempts == 1
    assert error.call_ids == ["call_s1"]
    assert error.usage.total_tokens == 29
    assert error.last_output == '{"name": "Jane Doe", "age": -1}'
    assert {e["loc"] for e in error.validation_errors} == {("age",), ("address",)}
    assert route.call_count == 1  # no re-ask in streaming mode
    assert body.closed
    with pytest.raises(StructuredOutputError):  # reading on repeats the error
        await stream.__anext__()


async def test_a_truncated_stream_raises_the_truncated_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_sse(respx_mock, sse_events(VALID_JSON[:25], finish_reason="length"))

    with pytest.raises(StructuredOutputTruncatedError):
        await open_structured(team_client).get_final()

    assert body.closed


async def test_an_empty_filtered_stream_raises_the_refused_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    _, body = mock_sse(respx_mock, sse_events("", finish_reason="content_filter"))

    with pytest.raises(StructuredOutputRefusedError):
        await open_structured(team_client).get_final()

    assert body.closed


async def test_an_error_event_raises_the_stream_error(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    error = {"type": "error", "error": {"type": "upstream_error", "message": "went away"}}
    _, body = mock_sse(respx_mock, sse_events('{"name": "Ja', error=error))

    with pytest.raises(StreamError, match="went away"):
        async with open_structured(team_client) as stream:
            async for _ in stream:
                pass

    assert body.closed


async def test_an_api_error_before_the_stream_is_raised_on_entering(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post(STREAM_URL).mock(return_value=api_error(409, "conflict", "job completed"))

    with pytest.raises(ConflictError):
        async with open_structured(team_client):
            pass


async def test_a_structured_stream_can_be_iterated_only_once(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    mock_sse(respx_mock, sse_events(json.dumps(STREAMED)))

    async with open_structured(team_client) as stream:
        async for _ in stream:
            pass
        with pytest.raises(RuntimeError, match="only once"):
            stream.__aiter__()
