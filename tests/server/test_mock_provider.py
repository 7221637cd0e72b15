"""The built-in mock provider (providers/mock.py, providers/_schema_fill.py), and the bounds it
stays within (providers/_tokens.py)."""

from __future__ import annotations

import enum
import json
import math
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from saas_litellm_server.providers import ProviderRequest, input_bound
from saas_litellm_server.providers.mock import DEFAULT_DIMENSIONS, MockProvider, mock_vector


def request(content: str, **params: object) -> ProviderRequest:
    return ProviderRequest(
        model="mock-1", messages=[{"role": "user", "content": content}], params=dict(params)
    )


async def test_answer_is_deterministic_and_reflects_the_prompt() -> None:
    mock = MockProvider()
    a = await mock.complete(request("Summarize the Q3 report"))
    b = await mock.complete(request("Summarize the Q3 report"))
    c = await mock.complete(request("Translate to French"))
    assert a == b
    assert "Summarize the Q3 report" in (a.message.content or "")
    assert a.message.content != c.message.content
    assert a.message.finish_reason == "stop"


async def test_usage_is_plausible() -> None:
    short = await MockProvider().complete(request("hi"))
    long = await MockProvider().complete(request("word " * 400))
    assert short.usage.total_tokens == short.usage.prompt_tokens + short.usage.completion_tokens
    assert 0 < short.usage.prompt_tokens < long.usage.prompt_tokens
    assert 400 <= long.usage.prompt_tokens <= 800  # ~4 characters per token


async def test_max_tokens_truncates_with_finish_reason_length() -> None:
    result = await MockProvider().complete(request("tell me everything " * 20, max_tokens=5))
    assert result.message.finish_reason == "length"
    assert result.usage.completion_tokens <= 5


async def test_stream_yields_the_same_text_in_pieces() -> None:
    mock = MockProvider()
    whole = await mock.complete(request("Tell me a story about a fox"))
    pieces = [d async for d in mock.stream(request("Tell me a story about a fox"))]
    text = "".join(d.content for d in pieces)
    assert text == whole.message.content
    assert len([d for d in pieces if d.content]) > 3
    assert pieces[-1].usage == whole.usage and pieces[-1].finish_reason == "stop"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    email: str


class Rich(BaseModel):
    person: Person
    addresses: list[Address] = Field(min_length=1)
    favorite: Color
    kind: Literal["customer", "vendor"]
    nickname: str | None = None
    score: float = 0.5
    tags: list[str] = []
    either: int | str


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


@pytest.mark.parametrize("model", [Person, Address, Rich, Tree])
async def test_json_schema_answers_validate(model: type[BaseModel]) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
    }
    result = await MockProvider().complete(request("Extract it", response_format=fmt))
    model.model_validate_json(result.message.content or "")


async def test_json_answers_are_filled_from_the_prompt() -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": Person.model_json_schema()},
    }
    prompt = "Extract: John Smith is 42 years old, reach him at john.smith@acme.com"
    person = Person.model_validate_json(
        (await MockProvider().complete(request(prompt, response_format=fmt))).message.content or ""
    )
    assert person == Person(name="John Smith", age=42, email="john.smith@acme.com")
    rich_fmt = {
        "type": "json_schema",
        "json_schema": {"name": "Rich", "schema": Rich.model_json_schema()},
    }
    rich = Rich.model_validate_json(
        (
            await MockProvider().complete(
                request("a vendor who likes blue", response_format=rich_fmt)
            )
        ).message.content
        or ""
    )
    assert (rich.kind, rich.favorite) == ("vendor", Color.BLUE)


async def test_json_object_and_tool_calls() -> None:
    result = await MockProvider().complete(request("hi", response_format={"type": "json_object"}))
    assert json.loads(result.message.content or "") == {"answer": "hi"}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    result = await MockProvider().complete(request("Weather in Paris?", tools=tools))
    assert result.message.finish_reason == "tool_calls"
    call = (result.message.tool_calls or [])[0]
    assert call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}
    none = await MockProvider().complete(request("hi", tools=tools, tool_choice="none"))
    assert none.message.tool_calls is None and none.message.content


def _embed_request(texts: list[str], **params: object) -> ProviderRequest:
    return ProviderRequest(model="mock-embed", messages=[], params=dict(params), input=texts)


async def test_embeddings_are_deterministic_unit_vectors_of_the_asked_length() -> None:
    provider = MockProvider()
    first = await provider.embed(_embed_request(["alpha", "beta", "alpha"]))
    again = await provider.embed(_embed_request(["alpha"]))
    assert first.vectors[0] == first.vectors[2] == again.vectors[0] == mock_vector("alpha")
    assert first.vectors[1] != first.vectors[0]
    assert all(len(v) == DEFAULT_DIMENSIONS for v in first.vectors)
    for vector in first.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
        assert all(-1.0 <= x <= 1.0 for x in vector)
    # ceil(len / 4) a text; nothing for an answer
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (2 + 1 + 2, 0)
    assert first.usage.total_tokens == first.usage.prompt_tokens
    long = await provider.embed(_embed_request(["alpha"], dimensions=100))
    assert len(long.vectors[0]) == 100 and long.vectors[0][:16] != first.vectors[0]
    (one,) = (await provider.embed(_embed_request(["alpha"], dimensions=1))).vectors
    assert one in ([1.0], [-1.0])


async def test_embedding_usage_is_within_the_servers_bound() -> None:
    texts = ["a", "héllo wörld", "日本語のテキスト", "x" * 1000]
    result = await MockProvider().embed(_embed_request(texts))
    assert result.usage.prompt_tokens <= input_bound(texts)
