"""Anthropic's Messages API wire format, as ``POST /v1/messages`` speaks it.

The request is read tolerantly, as ``_openai`` reads OpenAI's: unknown fields (``cache_control``,
``container``…) are ignored, and what no OpenAI-compatible upstream can do is refused with a
400 that names it (:meth:`MessagesRequest.unsupported`): images and documents, server tools,
extended thinking. ``top_k`` has no counterpart in OpenAI's chat API: it is accepted and
ignored. A request becomes an llm-call (:meth:`MessagesRequest.to_llm_call`): ``system`` the
first message, ``tool_use`` blocks an assistant's ``tool_calls``, ``tool_result`` blocks
``tool`` messages, ``tools`` functions, ``tool_choice`` OpenAI's, ``stop_sequences`` ``stop``.
The responses are Anthropic's objects field for field, so that the anthropic package parses
them as its own.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from ._base import MAX_CONTENT_CHARS, MAX_MESSAGES, Count, FiniteJson, ModelName, NoNul
from ._llm import (
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    LLMCallRequest,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceFunctionName,
)

__all__ = [
    "ANTHROPIC_STOP_REASONS",
    "TOOL_USE_ID_PREFIX",
    "AnthropicError",
    "AnthropicErrorResponse",
    "AnthropicMessage",
    "AnthropicUsage",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "InputJSONDelta",
    "MessageDelta",
    "MessageDeltaBody",
    "MessageDeltaUsage",
    "MessageParam",
    "MessageStart",
    "MessageStop",
    "MessagesMetadata",
    "MessagesRequest",
    "MessagesTool",
    "MessagesToolChoice",
    "TextBlock",
    "TextContent",
    "TextDelta",
    "ToolResultBlock",
    "ToolUseBlock",
    "ToolUseContent",
]

_Text = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_Id = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]
_Object = Annotated[dict[str, JsonValue], FiniteJson]

ANTHROPIC_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""Anthropic's ``stop_reason`` for each OpenAI ``finish_reason`` (any other: ``end_turn``). An
OpenAI-compatible upstream does not say whether a stop sequence ended the answer, so
``stop_sequence`` is never reported: a stop sequence's end is ``end_turn``."""

TOOL_USE_ID_PREFIX = "toolu_"
"""How a tool_use id starts (Anthropic's); an upstream's tool call id gets it in front."""


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class TextBlock(_Tolerant):
    type: Literal["text"]
    text: _Text


class ToolUseBlock(_Tolerant):
    type: Literal["tool_use"]
    id: _Id
    name: _Name
    input: _Object


class ToolResultBlock(_Tolerant):
    type: Literal["tool_result"]
    tool_use_id: _Id
    content: _Text | Annotated[list[TextBlock], Field(max_length=1024)] | None = None
    is_error: bool | None = None

    def text(self) -> str:
        content = self.content
        text = "".join(b.text for b in content) if isinstance(content, list) else content or ""
        return f"Error: {text}" if self.is_error else text


class _Refused(_Tolerant):
    """A block no deployment here takes: declared only to be refused by name."""

    type: Literal["image", "document", "thinking", "redacted_thinking", "server_tool_use"]


_Block = Annotated[
    TextBlock | ToolUseBlock | ToolResultBlock | _Refused, Field(discriminator="type")
]


class MessageParam(_Tolerant):
    role: Literal["user", "assistant"]
    content: _Text | Annotated[list[_Block], Field(max_length=1024)]

    def blocks(self) -> list[TextBlock | ToolUseBlock | ToolResultBlock | _Refused]:
        content = self.content
        return [TextBlock(type="text", text=content)] if isinstance(content, str) else content

    def to_chat_messages(self) -> list[ChatMessage]:
        """This turn as OpenAI chat messages: an assistant's text and tool calls in one
        message; a user's tool results as ``tool`` messages, then its text."""
        blocks = self.blocks()
        text = "".join(b.text for b in blocks if isinstance(b, TextBlock))
        if self.role == "assistant":
            calls = [
                ToolCall(
                    id=b.id,
                    function=FunctionCall(name=b.name, arguments=json.dumps(b.input)),
                )
                for b in blocks
                if isinstance(b, ToolUseBlock)
            ]
            content = text if text or not calls else None  # (an empty turn is empty text)
            return [ChatMessage(role="assistant", content=content, tool_calls=calls or None)]
        out = [
            ChatMessage(role="tool", tool_call_id=b.tool_use_id, content=b.text())
            for b in blocks
            if isinstance(b, ToolResultBlock)
        ]
        if text or not out:
            out.append(ChatMessage(role="user", content=text))
        return out


class MessagesTool(_Tolerant):
    name: _Name
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None
    input_schema: _Object
    type: Literal["custom"] | Annotated[str, StringConstraints(max_length=64)] | None = None

    def to_tool(self) -> Tool:
        return Tool(
            function=FunctionDefinition(
                name=self.name, description=self.description, parameters=self.input_schema
            )
        )


class MessagesToolChoice(_Tolerant):
    type: Literal["auto", "any", "tool", "none"]
    name: _Name | None = None
    disable_parallel_tool_use: bool | None = None

    def to_tool_choice(self) -> ToolChoice:
        if self.type == "any":
            return "required"
        if self.type == "tool":
            assert self.name is not None
            return ToolChoiceFunction(function=ToolChoiceFunctionName(name=self.name))
        return self.type


class MessagesMetadata(_Tolerant):
    user_id: Annotated[str, StringConstraints(max_length=256), NoNul] | None = None


_StopWord = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class MessagesRequest(_Tolerant):
    """Body of ``POST /v1/messages``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "ChatAgent",
                    "max_tokens": 1024,
                    "messages": [{"role": "user", "content": "Hello"}],
                }
            ]
        },
    )

    model: ModelName = Field(description="A model alias the team may use (see /v1/models).")
    max_tokens: Annotated[Count, Field(ge=1, le=1_000_000)] = Field(
        description="Required, as Anthropic requires it: the bound of the answer (and of the "
        "call's worst case that its credits must cover)."
    )
    messages: Annotated[list[MessageParam], Field(min_length=1, max_length=MAX_MESSAGES)]
    system: _Text | Annotated[list[TextBlock], Field(max_length=1024)] | None = None
    tools: Annotated[list[MessagesTool], Field(min_length=1, max_length=128)] | None = None
    tool_choice: MessagesToolChoice | None = None
    stop_sequences: Annotated[list[_StopWord], Field(max_length=4)] | None = Field(
        default=None, description="Up to four (OpenAI's limit), sent upstream as `stop`."
    )
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Accepted and ignored: OpenAI's chat API has no top_k."
    )
    metadata: MessagesMetadata | None = Field(
        default=None, description="`user_id` is a single-call job's user_id."
    )
    stream: bool | None = None
    thinking: dict[str, JsonValue] | None = Field(
        default=None, description="Refused unless disabled (400)."
    )

    def unsupported(self) -> tuple[str, str] | None:
        """The first part of the request this API refuses, and why (``None``: none)."""
        for i, message in enumerate(self.messages):
            for j, block in enumerate(message.blocks()):
                if isinstance(block, _Refused):
                    return (
                        f"messages.{i}.content.{j}",
                        f"{block.type!r} blocks are not supported: text, tool_use and "
                        "tool_result only",
                    )
                if isinstance(block, ToolUseBlock) and message.role != "assistant":
                    return f"messages.{i}.content.{j}", "only an assistant turn has tool_use"
                if isinstance(block, ToolResultBlock) and message.role != "user":
                    return f"messages.{i}.content.{j}", "only a user turn has tool_result"
        for i, tool in enumerate(self.tools or ()):
            if tool.type not in (None, "custom"):
                return f"tools.{i}.type", f"server tools ({tool.type!r}) are not supported"
        choice = self.tool_choice
        if choice is not None and (choice.type == "tool") != (choice.name is not None):
            return "tool_choice.name", "tool_choice needs 'name' exactly when its type is 'tool'"
        if self.thinking is not None and self.thinking.get("type") != "disabled":
            return "thinking", "extended thinking is not supported"
        return None

    def system_text(self) -> str | None:
        system = self.system
        return "".join(b.text for b in system) if isinstance(system, list) else system

    def to_llm_call(self) -> LLMCallRequest:
        messages: list[ChatMessage] = []
        system = self.system_text()
        if system:
            messages.append(ChatMessage(role="system", content=system))
        for message in self.messages:
            messages.extend(message.to_chat_messages())
        choice = self.tool_choice
        return LLMCallRequest(
            messages=messages,
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            top_p=self.top_p,
            stop=self.stop_sequences or None,
            tools=[t.to_tool() for t in self.tools] if self.tools else None,
            tool_choice=choice.to_tool_choice() if choice is not None and self.tools else None,
        )

    def forwarded(self) -> dict[str, Any]:
        """Fields passed upstream beyond the llm-call's: ``disable_parallel_tool_use`` as
        OpenAI's ``parallel_tool_calls``."""
        choice = self.tool_choice
        if self.tools and choice is not None and choice.disable_parallel_tool_use is not None:
            return {"parallel_tool_calls": not choice.disable_parallel_tool_use}
        return {}

    @property
    def user(self) -> str | None:
        return self.metadata.user_id if self.metadata is not None else None


# -- responses ----------------------------------------------------------------------------


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ToolUseContent(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class AnthropicUsage(BaseModel):
    input_tokens: int
    output_tokens: int


class AnthropicMessage(BaseModel):
    """Anthropic's ``message`` object: the answer of ``POST /v1/messages``."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[Annotated[TextContent | ToolUseContent, Field(discriminator="type")]]
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: AnthropicUsage


# -- stream events (``event: <type>`` then ``data: <the event>``) ---------------------------


class MessageStart(BaseModel):
    type: Literal["message_start"] = "message_start"
    message: AnthropicMessage


class ContentBlockStart(BaseModel):
    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: Annotated[TextContent | ToolUseContent, Field(discriminator="type")]


class TextDelta(BaseModel):
    type: Literal["text_delta"] = "text_delta"
    text: str


class InputJSONDelta(BaseModel):
    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str


class ContentBlockDelta(BaseModel):
    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: Annotated[TextDelta | InputJSONDelta, Field(discriminator="type")]


class ContentBlockStop(BaseModel):
    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDeltaBody(BaseModel):
    stop_reason: str | None
    stop_sequence: str | None = None


class MessageDeltaUsage(BaseModel):
    input_tokens: int
    output_tokens: int


class MessageDelta(BaseModel):
    type: Literal["message_delta"] = "message_delta"
    delta: MessageDeltaBody
    usage: MessageDeltaUsage


class MessageStop(BaseModel):
    type: Literal["message_stop"] = "message_stop"


# -- errors -------------------------------------------------------------------------------


class AnthropicError(BaseModel):
    type: str = Field(
        description="invalid_request_error, authentication_error, billing_error, "
        "permission_error, not_found_error, rate_limit_error, timeout_error, api_error or "
        "overloaded_error; the native error type is in `code`."
    )
    message: str
    code: str | None = Field(default=None, description="The native error type.")


class AnthropicErrorResponse(BaseModel):
    """An error in Anthropic's shape (on ``/v1/messages``), also the ``error`` stream event."""

    type: Literal["error"] = "error"
    error: AnthropicError
    request_id: str | None = None
