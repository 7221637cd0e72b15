"""LangChain's ``ChatOpenAI`` (on the Responses API, and once on chat completions) and
``OpenAIEmbeddings`` against a live server whose aliases answer with the mock provider: text,
structured output, a forced tool call, streaming, vectors; every call a billed single-call job."""

from __future__ import annotations

import pytest
from clients_gateway import CHAT, EMBED, Gateway
from langchain_core.messages import AIMessageChunk
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel

from saas_litellm_server.providers.mock import DEFAULT_DIMENSIONS, mock_vector

pytestmark = pytest.mark.clients

ANSWER = 'You said: "Say hello". I am the built-in mock model, answering offline.'


class Person(BaseModel):
    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


def chat(gateway: Gateway, *, responses: bool = True) -> ChatOpenAI:
    return ChatOpenAI(
        model=CHAT,
        base_url=f"{gateway.url}/v1",
        api_key=gateway.key,  # type: ignore[arg-type]
        use_responses_api=responses,
        max_retries=0,
    )


def test_responses_invoke_structured_output_tools_and_stream(gateway: Gateway) -> None:
    model = chat(gateway)
    assert model.invoke("Say hello").text == ANSWER

    person = model.with_structured_output(Person).invoke("Ada Lovelace, 36")
    assert isinstance(person, Person)

    forced = model.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather in Oslo?")
    (call,) = forced.tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    assert call["id"]

    chunks = list(model.stream("Say hello"))
    assert len([c for c in chunks if c.text]) > 1  # word by word, not one piece
    assert "".join(c.text for c in chunks) == ANSWER
    whole = sum(chunks[1:], chunks[0])
    assert isinstance(whole, AIMessageChunk) and whole.text == ANSWER

    jobs = gateway.assert_billed(4)
    assert [j["calls"][0]["finish_reason"] for j in jobs] == ["stop", "stop", "tool_calls", "stop"]


def test_chat_completions_mode(gateway: Gateway) -> None:
    answer = chat(gateway, responses=False).invoke("Say hello")
    assert answer.text == ANSWER
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] > 0
    (job,) = gateway.assert_billed(1)
    assert job["calls"][0]["completion_tokens"] == answer.usage_metadata["output_tokens"]


def test_embeddings_query_and_documents(gateway: Gateway) -> None:
    embeddings = OpenAIEmbeddings(
        model=EMBED,
        base_url=f"{gateway.url}/v1",
        api_key=gateway.key,  # type: ignore[arg-type]
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    query = embeddings.embed_query("hello")
    assert len(query) == DEFAULT_DIMENSIONS
    assert query == pytest.approx(mock_vector("hello"), abs=1e-6)
    documents = embeddings.embed_documents(["first text", "second text"])
    assert documents == [
        pytest.approx(mock_vector("first text"), abs=1e-6),
        pytest.approx(mock_vector("second text"), abs=1e-6),
    ]
    assert embeddings.embed_query("hello") == query  # deterministic
    gateway.assert_billed(3, job_type="embeddings")
