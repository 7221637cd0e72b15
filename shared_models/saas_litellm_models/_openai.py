"""OpenAI's wire format, as ``/v1/chat/completions`` and ``/v1/models`` speak it.

The request is tolerant the way a gateway must be: the OpenAI SDK and the tools built on it send
fields this API has no use for, and refusing them would break those clients. So every field is
in one of three sets: *forwarded* upstream as sent (:data:`FORWARDED_FIELDS`, plus the llm-call
fields), *refused* with a 400 that names it (:meth:`ChatCompletionRequest.unsupported`), or
*ignored* (any other field, unknown ones included: accepted, not forwarded). The responses are
OpenAI's objects field for field, so that the openai package parses them as its own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from ._base import MAX_CONTENT_CHARS, MAX_MESSAGES, Count, Metadata, ModelName, NoNul
from ._llm import (
    ChatMessage,
    LLMCallRequest,
    ResponseFormat,
    Stop,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)

__all__ = [
    "FORWARDED_FIELDS",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionRequest",
    "ChoiceDelta",
    "ChoiceDeltaFunction",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "OpenAIChatMessage",
    "OpenAIErrorBody",
    "OpenAIErrorResponse",
    "OpenAIModel",
    "OpenAIModelList",
    "StreamOptions",
    "TextContentPart",
]

FORWARDED_FIELDS = (
    "seed",
    "user",
    "metadata",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "parallel_tool_calls",
    "reasoning_effort",
)
"""OpenAI fields passed upstream as sent, beyond those an llm-call takes (``temperature``,
``top_p``, ``max_tokens``, ``stop``, ``response_format``, ``tools``, ``tool_choice``).
``max_completion_tokens`` is the same limit as ``max_tokens``: one of them goes upstream, under
the name the client used (see :meth:`ChatCompletionRequest.output_limit`)."""

_Bias = Annotated[float, Field(ge=-100, le=100)]
_Short = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]


class _Tolerant(BaseModel):
    """Unknown fields are ignored (not an error, not forwarded); numbers are finite; known
    fields must have their JSON type, as OpenAI's API requires (the server reads bodies in
    strict mode: ``"stream": "yes"`` and ``"n": true`` are refused, not coerced)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class TextContentPart(_Tolerant):
    type: Literal["text"]
    text: Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]


class OpenAIChatMessage(ChatMessage):
    """A message as the openai SDK sends it: ``content`` may be a list of text parts (images,
    audio and files are refused: no deployment here takes them); other fields (``refusal``…)
    are ignored."""

    model_config = ConfigDict(extra="ignore")

    content: (
        Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]
        | Annotated[list[TextContentPart], Field(max_length=1024)]
        | None
    ) = None  # type: ignore[assignment]

    def to_chat_message(self) -> ChatMessage:
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        return ChatMessage.model_validate(
            {**self.model_dump(exclude_none=True, exclude={"content"}), "content": content}
        )


class StreamOptions(_Tolerant):
    include_usage: bool | None = None


class ChatCompletionRequest(_Tolerant):
    """Body of ``POST /v1/chat/completions``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "ChatAgent", "messages": [{"role": "user", "content": "Hello"}]}]
        },
    )

    model: ModelName = Field(description="A model alias the team may use (see /v1/models).")
    messages: Annotated[list[OpenAIChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    max_completion_tokens: Annotated[Count, Field(ge=1, le=1_000_000)] | None = None
    stop: Stop | None = None
    seed: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | None = None
    response_format: ResponseFormat | None = None
    tools: Annotated[list[Tool], Field(min_length=1, max_length=128)] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    user: _Short | None = Field(default=None, description="Forwarded; a single-call job's user_id.")
    metadata: Metadata | None = Field(
        default=None, description="Forwarded, and recorded on the call (and a single-call job)."
    )
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    logit_bias: Annotated[dict[str, _Bias], Field(max_length=300)] | None = None
    reasoning_effort: Annotated[str, StringConstraints(max_length=32), NoNul] | None = None
    # Declared only to be refused with a clear message (see ``unsupported``).
    n: Count | None = Field(default=None, description="Only 1 (400 otherwise).")
    logprobs: bool | None = Field(default=None, description="Refused when true (400).")
    top_logprobs: int | None = Field(default=None, description="Refused (400).")
    functions: list[Any] | None = Field(default=None, description="Refused (400): use tools.")
    function_call: Any = Field(default=None, description="Refused (400): use tool_choice.")
    audio: Any = Field(default=None, description="Refused (400): text output only.")
    modalities: list[str] | None = Field(default=None, description="Only ['text'] (400).")

    def unsupported(self) -> tuple[str, str] | None:
        """The first field this API refuses, and why (``None``: none)."""
        if (
            self.max_tokens is not None
            and self.max_completion_tokens is not None
            and self.max_tokens != self.max_completion_tokens
        ):
            return (
                "max_completion_tokens",
                "max_tokens and max_completion_tokens are one limit on the answer; "
                "send one of them (or the same value in both)",
            )
        if self.n not in (None, 1):
            return "n", "only n=1 is supported: make one request per choice"
        if self.logprobs or self.top_logprobs:
            return "logprobs", "logprobs are not supported"
        if self.functions is not None or self.function_call is not None:
            return "functions", "'functions'/'function_call' are deprecated: use 'tools'"
        if self.audio is not None or (self.modalities and set(self.modalities) != {"text"}):
            return "modalities", "only text output is supported"
        return None

    def output_limit(self) -> int | None:
        """The one limit on the answer's tokens, whichever name it was sent under."""
        return self.max_tokens or self.max_completion_tokens

    def to_llm_call(self) -> LLMCallRequest:
        """The llm-call this request makes (``forwarded`` holds the rest)."""
        return LLMCallRequest(
            messages=[m.to_chat_message() for m in self.messages],
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.output_limit(),
            top_p=self.top_p,
            stop=self.stop,
            response_format=self.response_format,
            tools=self.tools,
            tool_choice=self.tool_choice,
            metadata=self.metadata,
        )

    def forwarded(self) -> dict[str, Any]:
        """The :data:`FORWARDED_FIELDS` the request set, in OpenAI's wire format; a limit
        sent as ``max_completion_tokens`` goes upstream under that name (and only that one)."""
        out = self.model_dump(include=set(FORWARDED_FIELDS), exclude_none=True)
        if self.max_tokens is None and self.max_completion_tokens is not None:
            out["max_completion_tokens"] = self.max_completion_tokens
        return out

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class _OmitNone(BaseModel):
    """Leaves out the fields that are ``None`` (OpenAI omits them: a delta carries only what
    changed)."""

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None

    @model_serializer(mode="wrap")
    def _omit_no_tools(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("tool_calls") is None:
            data.pop("tool_calls", None)
        return data


class ChatCompletionChoice(BaseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A ``chat.completion`` object; ``id`` is ``chatcmpl-<call_id>``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatCompletionChoice]
    usage: Usage
    system_fingerprint: str | None = None


class ChoiceDeltaFunction(_OmitNone):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(_OmitNone):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaFunction | None = None


class ChoiceDelta(_OmitNone):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """A ``chat.completion.chunk``. With ``stream_options.include_usage`` every chunk has a
    ``usage`` key, ``null`` but on the last one (whose ``choices`` is empty); without, none has."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class OpenAIModel(BaseModel):
    id: str = Field(description="The model alias.")
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "saas-litellm"


class OpenAIModelList(BaseModel):
    """``GET /v1/models``: exactly the aliases the team may use."""

    object: Literal["list"] = "list"
    data: list[OpenAIModel]


class OpenAIErrorBody(BaseModel):
    message: str
    type: str = Field(description="OpenAI's kind of error (invalid_request_error…).")
    param: str | None = None
    code: str | None = Field(
        default=None, description="The native error type (insufficient_credits, not_found…)."
    )


class OpenAIErrorResponse(BaseModel):
    """Every error under ``/v1``, in OpenAI's shape; the status is the native one."""

    error: OpenAIErrorBody
