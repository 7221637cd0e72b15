"""Our call results and stream events as Anthropic's ``message`` object and Messages stream.

As ``_openai_wire`` does for OpenAI's objects: one :class:`MessagesWire` per request fixes the
message's ``id`` and ``model``, so that rendering is a pure function of the events and what is
sent live is what an Idempotency-Key keeps for a replay.

A stream is named SSE events (``event: <type>`` and ``data: <the event>``): ``message_start``
(usage so far: none), then the text as one ``text`` content block (``content_block_start``,
``content_block_delta`` with ``text_delta`` per chunk, ``content_block_stop``), then each tool
call as a ``tool_use`` block whose input comes whole in one ``input_json_delta`` (the upstream's
call arrives whole at the end of ours; the anthropic SDK joins fragments the same way), then
``message_delta`` with the ``stop_reason`` and the usage, then ``message_stop``. A failure
mid-way is one ``error`` event in Anthropic's error shape (the anthropic SDK raises it).

The events of a call are only chunks and then one final event, so which blocks are open is
known from an event and its place: a text block is open at the final event exactly when chunks
came before it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from saas_litellm_models import (
    ANTHROPIC_STOP_REASONS,
    TOOL_USE_ID_PREFIX,
    AnthropicMessage,
    AnthropicUsage,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    InputJSONDelta,
    LLMCallResponse,
    MessageDelta,
    MessageDeltaBody,
    MessageDeltaUsage,
    MessageStart,
    MessageStop,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    TextContent,
    TextDelta,
    ToolCall,
    ToolUseContent,
    Usage,
)

from ._responses import anthropic_error

__all__ = ["MessagesWire", "stop_reason", "tool_use"]

_Event = StreamChunk | StreamDone | StreamErrorEvent


def _sse(event: BaseModel) -> bytes:
    name = getattr(event, "type")  # noqa: B009  (every event model has its own literal type)
    return f"event: {name}\ndata: ".encode() + event.model_dump_json().encode() + b"\n\n"


def stop_reason(finish_reason: str | None) -> str:
    """Anthropic's ``stop_reason`` of an OpenAI ``finish_reason``."""
    return ANTHROPIC_STOP_REASONS.get(finish_reason or "stop", "end_turn")


def _input(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as the ``input`` object (arguments that are not a JSON object,
    as a cut-off answer may leave them, are kept whole under ``arguments``)."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def tool_use(call: ToolCall) -> ToolUseContent:
    """An upstream tool call as a ``tool_use`` block (its id starting ``toolu_``)."""
    tool_id = call.id if call.id.startswith(TOOL_USE_ID_PREFIX) else TOOL_USE_ID_PREFIX + call.id
    return ToolUseContent(
        id=tool_id, name=call.function.name, input=_input(call.function.arguments)
    )


def _usage(usage: Usage) -> AnthropicUsage:
    return AnthropicUsage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)


@dataclass(frozen=True)
class MessagesWire:
    """How one request's answer is written in Anthropic's format."""

    model: str
    """The model alias the client asked for."""
    id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")

    def message(self, response: LLMCallResponse) -> AnthropicMessage:
        answer = response.response
        content: list[TextContent | ToolUseContent] = []
        if answer.content:
            content.append(TextContent(text=answer.content))
        content.extend(tool_use(call) for call in answer.tool_calls or ())
        return AnthropicMessage(
            id=self.id,
            model=self.model,
            content=content,
            stop_reason=stop_reason(answer.finish_reason),
            usage=_usage(response.usage),
        )

    def answer(self, response: LLMCallResponse) -> AnthropicMessage:
        return self.message(response)

    def render(self, response: LLMCallResponse) -> bytes:
        """The ``message`` body of ``response``."""
        return self.message(response).model_dump_json().encode()

    def _start(self) -> bytes:
        empty = AnthropicMessage(
            id=self.id,
            model=self.model,
            content=[],
            stop_reason=None,
            usage=AnthropicUsage(input_tokens=0, output_tokens=0),
        )
        return _sse(MessageStart(message=empty))

    def _done(self, event: StreamDone, text_open: bool) -> bytes:
        out = b""
        index = 0
        if text_open:
            out += _sse(ContentBlockStop(index=0))
            index = 1
        for call in event.tool_calls or ():
            block = tool_use(call)
            out += _sse(
                ContentBlockStart(index=index, content_block=block.model_copy(update={"input": {}}))
            )
            out += _sse(
                ContentBlockDelta(
                    index=index, delta=InputJSONDelta(partial_json=json.dumps(block.input))
                )
            )
            out += _sse(ContentBlockStop(index=index))
            index += 1
        usage = event.usage
        out += _sse(
            MessageDelta(
                delta=MessageDeltaBody(stop_reason=stop_reason(event.finish_reason)),
                usage=MessageDeltaUsage(
                    input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens
                ),
            )
        )
        return out + _sse(MessageStop())

    def encode(self, event: BaseModel, sequence: int) -> bytes:
        """The bytes of one stream event (``sequence`` counts from 1: the first opens the
        message, and a first chunk its text block)."""
        out = self._start() if sequence == 1 else b""
        if isinstance(event, StreamChunk):
            if sequence == 1:
                out += _sse(ContentBlockStart(index=0, content_block=TextContent(text="")))
            return out + _sse(ContentBlockDelta(index=0, delta=TextDelta(text=event.content)))
        if isinstance(event, StreamDone):
            return out + self._done(event, text_open=sequence > 1)
        assert isinstance(event, StreamErrorEvent)
        error = anthropic_error(event.error.type, event.error.message)
        return out + b"event: error\ndata: " + error + b"\n\n"

    def render_stream(self, events: Sequence[_Event]) -> bytes:
        """The whole stream of ``events``, as :meth:`encode` sends it."""
        return b"".join(self.encode(e, i) for i, e in enumerate(events, start=1))
