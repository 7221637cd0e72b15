"""The Responses API's shapes without a server: how a request becomes a chat call
(``ResponseCreateRequest``) and how a call's answer and stream events are written
(``_responses_api_wire``), including what the mock never produces (text and a tool call in one
answer, a failure mid-stream), checked against the openai package's own models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent as SDKStreamEvent
from pydantic import TypeAdapter, ValidationError

from saas_litellm_models import (
    AssistantMessage,
    FunctionCall,
    LLMCallResponse,
    ResponseCreateRequest,
    StreamChunk,
    StreamDone,
    StreamErrorDetail,
    StreamErrorEvent,
    ToolCall,
    Usage,
)
from saas_litellm_server._responses_api_wire import ResponsesWire

CALL = ToolCall(id="call_9", function=FunctionCall(name="lookup", arguments='{"q": "x"}'))
USAGE = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
SDK_EVENT: TypeAdapter[Any] = TypeAdapter(SDKStreamEvent)


def _request(**fields: Any) -> ResponseCreateRequest:
    return ResponseCreateRequest.model_validate({"model": "Chat", "input": "hi", **fields})


def _answer(content: str | None, calls: list[ToolCall] | None, finish: str) -> LLMCallResponse:
    return LLMCallResponse(
        call_id="c",
        job_id="j",
        model="Chat",
        response=AssistantMessage(content=content, tool_calls=calls, finish_reason=finish),
        usage=USAGE,
        latency_ms=1.0,
    )


def _events(body: bytes) -> list[dict[str, Any]]:
    out = []
    for block in body.decode().strip().split("\n\n"):
        event_line, data_line = block.splitlines()
        event = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {event['type']}"
        SDK_EVENT.validate_python(event)  # the openai package's own model of the event
        out.append(event)
    return out


def test_function_calls_join_the_assistant_message_before_them() -> None:
    request = _request(
        instructions="Be brief.",
        input=[
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "Let me look."},
            {"type": "function_call", "call_id": "a", "name": "lookup", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "1"},
            {"type": "function_call_output", "call_id": "b", "output": "2"},
            {"type": "function_call", "call_id": "c", "name": "lookup", "arguments": "{}"},
        ],
        tools=[{"type": "function", "name": "lookup"}],
        tool_choice="required",
        max_output_tokens=7,
    )
    call = request.to_llm_call()
    roles = [(m.role, m.content, [t.id for t in m.tool_calls or ()]) for m in call.messages]
    assert roles == [
        ("system", "Be brief.", []),
        ("user", "q", []),
        ("assistant", "Let me look.", ["a", "b"]),
        ("tool", "1", []),
        ("tool", "2", []),
        ("assistant", None, ["c"]),
    ]
    params = call.upstream_params()
    assert params["tools"] == [{"type": "function", "function": {"name": "lookup"}}]
    assert (params["tool_choice"], params["max_tokens"]) == ("required", 7)


def test_text_format_and_forced_function_become_their_chat_equivalents() -> None:
    schema = {"type": "object", "properties": {}}
    request = _request(
        text={"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
        tools=[{"type": "function", "name": "lookup", "parameters": schema}],
        tool_choice={"type": "function", "name": "lookup"},
        parallel_tool_calls=False,
        user="u",
    )
    params = request.to_llm_call().upstream_params()
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema, "strict": True},
    }
    assert params["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert request.forwarded() == {"user": "u", "parallel_tool_calls": False}


def test_unknown_item_types_and_non_function_tools_are_refused() -> None:
    with pytest.raises(ValidationError, match="a message, a function_call or"):
        _request(input=[{"type": "reasoning", "id": "r"}])
    with pytest.raises(ValidationError, match="input is a text or a list of items"):
        _request(input={"role": "user"})
    assert _request(tools=[{"type": "file_search"}]).unsupported() == (
        "tools",
        "only function tools are supported (not 'file_search')",
    )


def test_text_and_a_tool_call_in_one_answer_are_two_output_items() -> None:
    wire = ResponsesWire(request=_request())
    body = wire.render(_answer("Looking.", [CALL], "tool_calls"))
    response = SDKResponse.model_validate_json(body)
    assert [item.type for item in response.output] == ["message", "function_call"]
    assert response.output_text == "Looking." and response.status == "completed"
    assert response.usage is not None and response.usage.total_tokens == 15


def test_a_stream_with_text_and_a_tool_call_and_its_replay_are_the_same_bytes() -> None:
    wire = ResponsesWire(request=_request(stream=True))
    events = [
        StreamChunk(content="Look"),
        StreamChunk(content="ing."),
        StreamDone(
            call_id="c",
            job_id="j",
            model="Chat",
            finish_reason="tool_calls",
            usage=USAGE,
            latency_ms=1.0,
            tool_calls=[CALL],
        ),
    ]
    live = b"".join(wire.encode(e, i) for i, e in enumerate(events, start=1))
    assert live == wire.render_stream(events)  # what an Idempotency-Key replays
    sent = _events(live)
    assert [e["sequence_number"] for e in sent] == list(range(len(sent)))
    added = [e for e in sent if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "message"),
        (1, "function_call"),
    ]
    final = SDKResponse.model_validate(sent[-1]["response"])
    assert sent[-1]["type"] == "response.completed" and final.output_text == "Looking."
    assert final.output[1].type == "function_call" and final.output[1].call_id == "call_9"


FAILURES = [("upstream_error", "server_error"), ("rate_limited", "rate_limit_exceeded")]


@pytest.mark.parametrize(("kind", "code"), FAILURES)
def test_a_failure_mid_stream_is_response_failed(kind: str, code: str) -> None:
    wire = ResponsesWire(request=_request(stream=True))
    events = [
        StreamChunk(content="Hal"),
        StreamErrorEvent(error=StreamErrorDetail(type=kind, message="model 'Chat' failed")),
    ]
    sent = _events(wire.render_stream(events))
    assert sent[-1]["type"] == "response.failed"
    failed = SDKResponse.model_validate(sent[-1]["response"])
    assert failed.status == "failed" and failed.error is not None and failed.error.code == code
    assert failed.error.message == "model 'Chat' failed"
