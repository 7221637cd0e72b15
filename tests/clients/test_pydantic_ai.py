"""pydantic-ai against a live server whose aliases answer with the mock provider: the default
``Agent("openai:…")`` (pydantic-ai's OpenAI Responses model) with a Pydantic ``output_type`` and
with a tool it calls and gets the result of, then its Anthropic model (``/v1/messages``), plain
and with ``output_type``; every model request a billed single-call job."""

from __future__ import annotations

import pytest
from clients_gateway import CHAT, Gateway
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.messages import ToolCallPart, ToolReturnPart
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider

pytestmark = pytest.mark.clients


ANSWER = 'You said: "Say hello". I am the built-in mock model, answering offline.'


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture
def openai_env(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """``Agent("openai:…")`` reads the base URL and key from the environment."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"{gateway.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", gateway.key)
    return gateway


def anthropic_model(gateway: Gateway) -> AnthropicModel:
    return AnthropicModel(
        CHAT, provider=AnthropicProvider(base_url=gateway.url, api_key=gateway.key)
    )


def test_default_openai_agent_with_output_type(openai_env: Gateway) -> None:
    agent = Agent(f"openai:{CHAT}", output_type=Person)
    assert isinstance(agent.model, OpenAIResponsesModel)
    result = agent.run_sync("Ada Lovelace is 36")
    assert isinstance(result.output, Person)
    usage = result.usage
    assert usage.requests == 1 and usage.output_tokens > 0
    (job,) = openai_env.assert_billed(1)
    (call,) = job["calls"]  # the output tool, called as the mock is asked to
    assert (call["finish_reason"], call["completion_tokens"]) == ("tool_calls", usage.output_tokens)


async def test_default_openai_agent_streams_text(openai_env: Gateway) -> None:
    agent = Agent(f"openai:{CHAT}")
    async with agent.run_stream("Say hello") as result:
        deltas = [delta async for delta in result.stream_text(delta=True, debounce_by=None)]
    assert len(deltas) > 1
    assert "".join(deltas) == ANSWER
    openai_env.assert_billed(1)


def test_default_openai_agent_tool_round_trip(openai_env: Gateway) -> None:
    agent = Agent(f"openai:{CHAT}")
    cities: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        cities.append(city)
        return f"Sunny in {city}"

    result = agent.run_sync("Weather in Oslo?")
    assert len(cities) == 1
    assert (
        result.output
        == 'You said: "Weather in Oslo?". I am the built-in mock model, answering offline.'
    )
    parts = [p for m in result.all_messages() for p in m.parts]
    (call,) = [p for p in parts if isinstance(p, ToolCallPart)]
    (returned,) = [p for p in parts if isinstance(p, ToolReturnPart)]
    assert call.tool_name == returned.tool_name == "get_weather"
    assert call.tool_call_id == returned.tool_call_id
    assert returned.content == f"Sunny in {cities[0]}"
    jobs = openai_env.assert_billed(2)
    assert [j["calls"][0]["finish_reason"] for j in jobs] == ["tool_calls", "stop"]


def test_anthropic_model_plain_and_with_output_type(gateway: Gateway) -> None:
    plain = Agent(anthropic_model(gateway)).run_sync("Say hello")
    assert plain.output == ANSWER
    structured = Agent(anthropic_model(gateway), output_type=Person).run_sync("Ada Lovelace is 36")
    assert isinstance(structured.output, Person)
    jobs = gateway.assert_billed(2)
    assert [j["calls"][0]["finish_reason"] for j in jobs] == ["stop", "tool_calls"]
