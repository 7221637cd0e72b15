"""Shapes of an LLM call: the request a job sends and the response it gets back."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, JsonValue, StringConstraints, model_validator

from ._base import (
    MAX_CONTENT_CHARS,
    MAX_MESSAGES,
    Count,
    FiniteJson,
    Metadata,
    ModelName,
    NoNul,
    RequestModel,
    ResponseModel,
)

__all__ = [
    "AssistantMessage",
    "ChatMessage",
    "FunctionCall",
    "FunctionDefinition",
    "JSONSchemaFormat",
    "LLMCallRequest",
    "LLMCallResponse",
    "ResponseFormat",
    "Role",
    "Stop",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolChoiceFunction",
    "Usage",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_Content = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]
_Schema = Annotated[dict[str, JsonValue], FiniteJson, Field(description="A JSON Schema object.")]


class FunctionCall(ResponseModel):
    name: str
    arguments: str = Field(description="The arguments as a JSON-encoded string.")


class ToolCall(ResponseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(RequestModel):
    """One message of the conversation, in the OpenAI chat format."""

    role: Role
    content: _Content | None = None
    name: _Name | None = None
    tool_calls: Annotated[list[ToolCall], Field(max_length=128)] | None = None
    tool_call_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None

    @model_validator(mode="after")
    def _check_role_fields(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role!r} message needs 'content'")
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("a 'tool' message needs 'tool_call_id'")
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError("only an 'assistant' message may carry 'tool_calls'")
        return self


class JSONSchemaFormat(RequestModel):
    name: _Name
    schema_: _Schema = Field(alias="schema")
    strict: bool | None = None
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None


class ResponseFormat(RequestModel):
    """``{"type": "text" | "json_object"}`` or ``{"type": "json_schema", "json_schema": {…}}``."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _check_schema(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("'json_schema' is required exactly when type is 'json_schema'")
        return self


class FunctionDefinition(RequestModel):
    name: _Name
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None
    parameters: _Schema | None = None
    strict: bool | None = None


class Tool(RequestModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


_StopWord = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Stop = _StopWord | Annotated[list[_StopWord], Field(min_length=1, max_length=4)]
"""Where the model stops: one string or up to four."""


class ToolChoiceFunctionName(RequestModel):
    name: _Name


class ToolChoiceFunction(RequestModel):
    type: Literal["function"] = "function"
    function: ToolChoiceFunctionName


ToolChoice = Literal["none", "auto", "required"] | ToolChoiceFunction


class LLMCallRequest(RequestModel):
    """Body of ``POST /api/jobs/{job_id}/llm-call`` and ``…/llm-call-stream``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "messages": [{"role": "user", "content": "Analyze this..."}],
                    "model": "ChatAgent",
                    "temperature": 0.2,
                    "purpose": "extract",
                }
            ]
        },
    )

    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    model: ModelName | None = Field(
        default=None, description="A model alias; omitted, the team's default model."
    )
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stop: Stop | None = None
    response_format: ResponseFormat | None = None
    tools: Annotated[list[Tool], Field(min_length=1, max_length=128)] | None = None
    tool_choice: ToolChoice | None = None
    purpose: Annotated[str, StringConstraints(max_length=200), NoNul] | None = Field(
        default=None, description="What this call is for, recorded with the call."
    )
    metadata: Metadata | None = None

    def upstream_params(self) -> dict[str, Any]:
        """The sampling parameters to forward upstream, in OpenAI's wire format."""
        return self.model_dump(
            include={
                "temperature",
                "max_tokens",
                "top_p",
                "stop",
                "response_format",
                "tools",
                "tool_choice",
            },
            exclude_none=True,
            by_alias=True,
        )


class Usage(ResponseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AssistantMessage(ResponseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    finish_reason: str | None = None
    tool_calls: list[ToolCall] | None = None


class LLMCallResponse(ResponseModel):
    """Response of ``POST /api/jobs/{job_id}/llm-call``."""

    call_id: str
    job_id: str
    model: str
    response: AssistantMessage
    usage: Usage
    latency_ms: float

    @property
    def content(self) -> str:
        """The assistant's text (empty when it answered only with tool calls)."""
        return self.response.content or ""

    @property
    def finish_reason(self) -> str | None:
        return self.response.finish_reason
