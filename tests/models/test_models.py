"""The shared models refuse malformed input at the edge and round-trip what the server sends."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from saas_litellm_models import (
    MAX_METADATA_BYTES,
    ChatMessage,
    CreditBalance,
    JobCompletion,
    JobCreateRequest,
    LLMCallRequest,
    ModelAlias,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    parse_stream_event,
)


def test_metadata_is_bounded_in_size_and_depth() -> None:
    JobCreateRequest(team_id="t", job_type="x", metadata={"a": "b" * 1000})
    with pytest.raises(ValidationError, match="limit is"):
        JobCreateRequest(team_id="t", job_type="x", metadata={"a": "b" * MAX_METADATA_BYTES})
    deep: dict[str, object] = {}
    node = deep
    for _ in range(40):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="deeper"):
        JobCreateRequest(team_id="t", job_type="x", metadata=deep)


@pytest.mark.parametrize("team_id", ["", "a b", "x" * 129, "../etc", "-lead"])
def test_identifiers_are_constrained(team_id: str) -> None:
    with pytest.raises(ValidationError):
        JobCreateRequest(team_id=team_id, job_type="x")


def test_requests_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        JobCreateRequest.model_validate({"team_id": "t", "job_type": "x", "credits": 5})


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user"},
        {"role": "tool", "content": "42"},
        {"role": "user", "content": "x", "tool_calls": []},
        {"role": "robot", "content": "x"},
    ],
)
def test_chat_messages_follow_role_rules(message: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChatMessage.model_validate(message)


def test_assistant_tool_call_message_needs_no_content() -> None:
    ChatMessage.model_validate(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        }
    )


def test_upstream_params_are_openai_wire_format() -> None:
    body = LLMCallRequest.model_validate(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.2,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "P", "schema": {"type": "object"}, "strict": True},
            },
            "purpose": "not forwarded",
        }
    )
    assert body.upstream_params() == {
        "temperature": 0.2,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "P", "schema": {"type": "object"}, "strict": True},
        },
    }
    with pytest.raises(ValidationError):
        LLMCallRequest.model_validate(
            {
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {
                    "type": "json_object",
                    "json_schema": {"name": "P", "schema": {}},
                },
            }
        )


def test_computed_and_convenience_fields() -> None:
    balance = CreditBalance(
        team_id="t", credits_allocated=10, credits_used=3, credits_reserved=2, credits_remaining=7
    )
    assert balance.credits_available == 5
    assert balance.model_dump()["credits_available"] == 5
    assert CreditBalance.model_validate_json(balance.model_dump_json()) == balance
    done = JobCompletion.model_validate(
        {
            "job_id": "j",
            "status": "completed",
            "completed_at": dt.datetime.now(dt.timezone.utc),
            "costs": {
                "total_calls": 1,
                "successful_calls": 1,
                "failed_calls": 0,
                "total_tokens": 5,
                "total_cost_usd": 0.1,
                "avg_latency_ms": 1.0,
                "credit_applied": True,
                "credits_remaining": 41,
                "a_field_from_the_future": 1,
            },
        }
    )
    assert done.credits_remaining == 41 and done.credit_applied


def test_responses_ignore_unknown_fields() -> None:
    alias = ModelAlias.model_validate(
        {
            "model_alias": "A",
            "access_groups": [],
            "created_at": "2026-01-01T00:00:00Z",
            "deployments": [{"provider": "mock", "model": "m", "new_knob": True}],
        }
    )
    assert alias.deployments[0].model == "m"


def test_stream_events_parse_by_type() -> None:
    assert parse_stream_event('{"type": "chunk", "content": "He"}') == StreamChunk(content="He")
    done = parse_stream_event(
        '{"type":"done","call_id":"c","job_id":"j","model":"m",'
        '"finish_reason":"stop","usage":{"prompt_tokens":1,'
        '"completion_tokens":2,"total_tokens":3},"latency_ms":4.5}'
    )
    assert isinstance(done, StreamDone) and done.usage.total_tokens == 3
    error = parse_stream_event('{"type":"error","error":{"type":"upstream_error","message":"x"}}')
    assert isinstance(error, StreamErrorEvent) and error.error.type == "upstream_error"
    with pytest.raises(ValidationError):
        parse_stream_event('{"type": "surprise"}')
