"""What a Messages request becomes (``MessagesRequest.to_llm_call``): the OpenAI chat call the
upstream gets, block by block."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from saas_litellm_models import MessagesRequest, ToolChoiceFunction

TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}


def _request(**fields: Any) -> MessagesRequest:
    body = {"model": "Chat", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    return MessagesRequest.model_validate_json(json.dumps({**body, **fields}), strict=True)


def test_system_text_and_limits() -> None:
    call = _request(
        system=[{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
        stop_sequences=["END"],
        temperature=0.3,
        top_k=5,
    ).to_llm_call()
    assert [(m.role, m.content) for m in call.messages] == [
        ("system", "Be brief."),
        ("user", "hi"),
    ]
    params = call.upstream_params()
    assert params == {"max_tokens": 10, "stop": ["END"], "temperature": 0.3}  # no top_k


def test_tool_use_and_tool_result_blocks() -> None:
    call = _request(
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"a": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "no such city"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "and?"},
                ],
            },
        ],
    ).to_llm_call()
    roles = [m.role for m in call.messages]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    assistant = call.messages[1]
    assert assistant.content == "Let me look." and assistant.tool_calls is not None
    (used,) = assistant.tool_calls
    assert (used.id, used.function.name, json.loads(used.function.arguments)) == (
        "toolu_1",
        "get_weather",
        {"a": 1},
    )
    assert [(m.tool_call_id, m.content) for m in call.messages[2:4]] == [
        ("toolu_1", "sunny"),
        ("toolu_2", "Error: no such city"),
    ]
    assert call.tools is not None and call.tools[0].function.name == "get_weather"


def test_an_assistant_turn_of_only_tool_use_has_no_text() -> None:
    turn = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "get_weather", "input": {}}],
    }
    call = _request(messages=[{"role": "user", "content": "x"}, turn]).to_llm_call()
    assert call.messages[1].content is None and call.messages[1].tool_calls


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, "get_weather"),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: str) -> None:
    got = _request(tools=[TOOL], tool_choice=choice).to_llm_call().tool_choice
    name = got.function.name if isinstance(got, ToolChoiceFunction) else got
    assert name == expected


def test_disable_parallel_tool_use_is_forwarded() -> None:
    request = _request(
        tools=[TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}
    )
    assert request.forwarded() == {"parallel_tool_calls": False}
    assert _request().forwarded() == {}


def test_max_tokens_is_required() -> None:
    with pytest.raises(ValidationError, match="max_tokens"):
        MessagesRequest.model_validate({"model": "Chat", "messages": []})


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
            "messages.0.content.0",
        ),
        ({"tools": [{**TOOL, "type": "bash_20250124"}]}, "tools.0.type"),
        ({"tools": [TOOL], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"tools": [TOOL], "tool_choice": {"type": "auto", "name": "x"}}, "tool_choice.name"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "thinking"),
    ],
)
def test_what_is_refused_names_its_field(fields: dict[str, Any], param: str) -> None:
    refused = _request(**fields).unsupported()
    assert refused is not None and refused[0] == param
