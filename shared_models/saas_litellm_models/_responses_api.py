"""OpenAI's Responses API, as ``POST /v1/responses`` speaks it: stateless, translated to a chat
call.

The request is tolerant as ``/v1/chat/completions`` is (``_openai``): unknown fields are ignored,
fields this API cannot honour are refused with a 400 that names them
(:meth:`ResponseCreateRequest.unsupported`), and known fields must have their JSON type. Nothing
is stored: ``store`` is accepted and ignored, and ``previous_response_id`` is refused (the client
sends the whole conversation as ``input``). :meth:`ResponseCreateRequest.to_llm_call` makes the
chat call (messages, tools, tool_choice, response_format, max_tokens) that any OpenAI-compatible
upstream serves; the answer is a ``response`` object field for field as the openai package
parses it, and streamed as its event stream (:data:`ResponseStreamEvent`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StringConstraints,
    Tag,
    model_validator,
)

from ._base import MAX_CONTENT_CHARS, MAX_MESSAGES, Count, FiniteJson, Metadata, ModelName, NoNul
from ._llm import (
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    JSONSchemaFormat,
    LLMCallRequest,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceFunctionName,
)

__all__ = [
    "RESPONSES_FORWARDED_FIELDS",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionToolParam",
    "InputMessageItem",
    "InputTextPart",
    "OutputFunctionCall",
    "OutputMessage",
    "OutputText",
    "ResponseContentPartEvent",
    "ResponseCreateRequest",
    "ResponseError",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseIncompleteDetails",
    "ResponseLifecycleEvent",
    "ResponseObject",
    "ResponseOutputItemEvent",
    "ResponseStreamEvent",
    "ResponseTextConfig",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseTextFormat",
    "ResponseUsage",
    "ResponsesToolChoiceFunction",
]

RESPONSES_FORWARDED_FIELDS = ("user", "metadata", "parallel_tool_calls")
"""Fields passed upstream as sent, beyond those the chat call takes."""

_Text = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_CallId = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]
_Short = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]
_Schema = Annotated[dict[str, JsonValue], FiniteJson, Field(description="A JSON Schema object.")]


class _Tolerant(BaseModel):
    """Unknown fields are ignored, numbers are finite, known fields keep their JSON type."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class InputTextPart(_Tolerant):
    """A text part of an input message (``output_text`` in an assistant's earlier turn)."""

    type: Literal["input_text", "output_text"]
    text: _Text


class InputMessageItem(_Tolerant):
    """A message of the conversation (``type`` may be left out, as the openai SDK allows)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: _Text | Annotated[list[InputTextPart], Field(max_length=1024)]

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class FunctionCallItem(_Tolerant):
    """A function call the model made earlier (sent back to continue the conversation)."""

    type: Literal["function_call"]
    call_id: _CallId
    name: _Name
    arguments: _Text
    id: _Short | None = None
    status: str | None = None


class FunctionCallOutputItem(_Tolerant):
    """The result of a function call, for the model to go on with."""

    type: Literal["function_call_output"]
    call_id: _CallId
    output: _Text
    id: _Short | None = None
    status: str | None = None


def _item_type(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type", "message")
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", None)


InputItem = Annotated[
    Annotated[InputMessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(
        _item_type,
        custom_error_type="input_item_type",
        custom_error_message="an input item is a message, a function_call or a "
        "function_call_output",
    ),
]


def _input_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    return "items" if isinstance(value, list) else None


class FunctionToolParam(_Tolerant):
    """A function tool, in the Responses API's flat shape."""

    type: Literal["function"]
    name: _Name
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None
    parameters: _Schema | None = None
    strict: bool | None = None

    def to_tool(self) -> Tool:
        return Tool(
            function=FunctionDefinition(
                name=self.name,
                description=self.description,
                parameters=self.parameters,
                strict=self.strict,
            )
        )


class _OtherTool(_Tolerant):
    """A built-in tool (web_search, file_search…): declared only to be refused with a 400."""

    type: Annotated[str, StringConstraints(max_length=64)]


def _tool_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "function" if kind == "function" else "other"


_ToolParam = Annotated[
    Annotated[FunctionToolParam, Tag("function")] | Annotated[_OtherTool, Tag("other")],
    Discriminator(_tool_type),
]


class ResponsesToolChoiceFunction(_Tolerant):
    type: Literal["function"]
    name: _Name


ResponsesToolChoice = Literal["none", "auto", "required"] | ResponsesToolChoiceFunction


class ResponseTextFormat(_Tolerant):
    """``{"type": "text" | "json_object"}`` or ``{"type": "json_schema", name, schema, strict}``."""

    type: Literal["text", "json_object", "json_schema"]
    name: _Name | None = None
    schema_: _Schema | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None

    @model_validator(mode="after")
    def _check_schema(self) -> ResponseTextFormat:
        if self.type == "json_schema" and (self.name is None or self.schema_ is None):
            raise ValueError("a json_schema format needs 'name' and 'schema'")
        return self

    def to_response_format(self) -> ResponseFormat:
        if self.type != "json_schema":
            return ResponseFormat(type=self.type)
        return ResponseFormat(
            type="json_schema",
            json_schema=JSONSchemaFormat.model_validate(
                {
                    "name": self.name,
                    "schema": self.schema_,
                    "strict": self.strict,
                    "description": self.description,
                }
            ),
        )


class ResponseTextConfig(_Tolerant):
    format: ResponseTextFormat | None = None


class ResponseCreateRequest(_Tolerant):
    """Body of ``POST /v1/responses``."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"model": "ChatAgent", "input": "Hello"}]},
    )

    model: ModelName = Field(description="A model alias the team may use (see /v1/models).")
    input: Annotated[
        Annotated[
            Annotated[str, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS)],
            Tag("text"),
        ]
        | Annotated[
            Annotated[list[InputItem], Field(min_length=1, max_length=MAX_MESSAGES)],
            Tag("items"),
        ],
        Discriminator(
            _input_kind,
            custom_error_type="input_type",
            custom_error_message="input is a text or a list of items",
        ),
    ] = Field(description="A text, or the whole conversation as items.")
    instructions: _Text | None = Field(default=None, description="A system message, first.")
    tools: Annotated[list[_ToolParam], Field(max_length=128)] | None = None
    tool_choice: ResponsesToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: ResponseTextConfig | None = None
    max_output_tokens: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    metadata: Metadata | None = Field(
        default=None, description="Forwarded, and recorded on the call (and a single-call job)."
    )
    user: _Short | None = Field(default=None, description="Forwarded; a single-call job's user_id.")
    stream: bool | None = None
    store: bool | None = Field(default=None, description="Accepted; nothing is ever stored.")
    # Declared only to be refused with a clear message (see ``unsupported``).
    previous_response_id: str | None = Field(
        default=None, description="Refused (400 unsupported_parameter): send the whole input."
    )
    conversation: Any = Field(default=None, description="Refused (400): send the whole input.")
    background: bool | None = Field(default=None, description="Refused when true (400).")
    prompt: Any = Field(default=None, description="Refused (400): no stored prompts.")

    def unsupported(self) -> tuple[str, str] | None:
        """The first field this API refuses, and why (``None``: none)."""
        if self.previous_response_id is not None:
            return (
                "previous_response_id",
                "responses are not stored here: send the whole conversation as 'input' "
                "(earlier turns, function_call and function_call_output items included)",
            )
        if self.conversation is not None:
            return "conversation", "conversations are not stored here: send the whole input"
        if self.background:
            return "background", "background responses are not supported"
        if self.prompt is not None:
            return "prompt", "stored prompts are not supported: send 'instructions' and 'input'"
        for tool in self.tools or ():
            if not isinstance(tool, FunctionToolParam):
                return "tools", f"only function tools are supported (not {tool.type[:64]!r})"
        return None

    def messages(self) -> list[ChatMessage]:
        """The conversation as chat messages: ``instructions`` first, as a system message; a
        run of function_call items is one assistant message with those tool calls (joined to
        the assistant message just before, if any); a function_call_output is a tool message."""
        out: list[ChatMessage] = []
        if self.instructions is not None:
            out.append(ChatMessage(role="system", content=self.instructions))
        if isinstance(self.input, str):
            return [*out, ChatMessage(role="user", content=self.input)]
        for item in self.input:
            if isinstance(item, InputMessageItem):
                out.append(ChatMessage(role=item.role, content=item.text))
            elif isinstance(item, FunctionCallOutputItem):
                out.append(ChatMessage(role="tool", tool_call_id=item.call_id, content=item.output))
            else:
                call = ToolCall(
                    id=item.call_id, function=FunctionCall(name=item.name, arguments=item.arguments)
                )
                last = out[-1] if out else None
                if last is not None and last.role == "assistant":
                    out[-1] = ChatMessage(
                        role="assistant",
                        content=last.content,
                        tool_calls=[*(last.tool_calls or ()), call],
                    )
                else:
                    out.append(ChatMessage(role="assistant", tool_calls=[call]))
        return out

    def chat_tool_choice(self) -> ToolChoice | None:
        choice = self.tool_choice
        if isinstance(choice, ResponsesToolChoiceFunction):
            return ToolChoiceFunction(function=ToolChoiceFunctionName(name=choice.name))
        return choice

    def to_llm_call(self) -> LLMCallRequest:
        """The chat call this request makes (once :meth:`unsupported` said nothing)."""
        tools = [t.to_tool() for t in self.tools or () if isinstance(t, FunctionToolParam)]
        fmt = self.text.format if self.text is not None else None
        return LLMCallRequest(
            messages=self.messages(),
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.max_output_tokens,
            top_p=self.top_p,
            response_format=fmt.to_response_format() if fmt is not None else None,
            tools=tools or None,
            tool_choice=self.chat_tool_choice() if tools else None,
            metadata=self.metadata,
        )

    def forwarded(self) -> dict[str, Any]:
        """The :data:`RESPONSES_FORWARDED_FIELDS` the request set, in OpenAI's wire format."""
        return self.model_dump(include=set(RESPONSES_FORWARDED_FIELDS), exclude_none=True)


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[JsonValue] = Field(default_factory=list)
    logprobs: list[JsonValue] = Field(default_factory=list)


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    role: Literal["assistant"] = "assistant"
    status: Literal["in_progress", "completed", "incomplete"] = "completed"
    content: list[OutputText]


class OutputFunctionCall(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"] = "completed"


OutputItem = OutputMessage | OutputFunctionCall


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)


class ResponseIncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseError(BaseModel):
    code: str = Field(description="OpenAI's code ('server_error', 'rate_limit_exceeded').")
    message: str


def _plain_text() -> JsonValue:
    return {"format": {"type": "text"}}


class ResponseObject(BaseModel):
    """A ``response`` object; ``model`` is the alias; ``id`` is ``resp_<hex>``."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["completed", "incomplete", "in_progress", "failed"]
    model: str
    output: list[OutputItem]
    usage: ResponseUsage | None = None
    instructions: str | None = None
    tools: list[JsonValue] = Field(default_factory=list)
    tool_choice: JsonValue = "auto"
    text: JsonValue = Field(default_factory=_plain_text)
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    parallel_tool_calls: bool = True
    previous_response_id: None = None
    error: ResponseError | None = None
    incomplete_details: ResponseIncompleteDetails | None = None
    store: bool = False
    user: str | None = None


class _Event(BaseModel):
    sequence_number: int


class ResponseLifecycleEvent(_Event):
    """The response as a whole: created and in progress (no output yet), then completed,
    incomplete (``max_output_tokens``) or failed (``error``)."""

    type: Literal[
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    ]
    response: ResponseObject


class ResponseOutputItemEvent(_Event):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OutputItem


class ResponseContentPartEvent(_Event):
    type: Literal["response.content_part.added", "response.content_part.done"]
    item_id: str
    output_index: int
    content_index: int = 0
    part: OutputText


class ResponseTextDeltaEvent(_Event):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    item_id: str
    output_index: int
    content_index: int = 0
    delta: str
    logprobs: list[JsonValue] = Field(default_factory=list)


class ResponseTextDoneEvent(_Event):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    item_id: str
    output_index: int
    content_index: int = 0
    text: str
    logprobs: list[JsonValue] = Field(default_factory=list)


class ResponseFunctionCallArgumentsDeltaEvent(_Event):
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    item_id: str
    output_index: int
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(_Event):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    item_id: str
    output_index: int
    name: str
    arguments: str


ResponseStreamEvent = (
    ResponseLifecycleEvent
    | ResponseOutputItemEvent
    | ResponseContentPartEvent
    | ResponseTextDeltaEvent
    | ResponseTextDoneEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
)
"""One event of a streamed response (``event: <type>`` and ``data: <the event>``)."""
