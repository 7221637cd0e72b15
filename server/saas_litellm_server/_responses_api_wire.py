"""Our call results and stream events as the Responses API's ``response`` object and its event
stream (``POST /v1/responses``).

One :class:`ResponsesWire` per request fixes the response's ``id``, ``created_at``, item ids and
the request fields it echoes, so that rendering is a function of the events alone: what is sent
live and what an Idempotency-Key keeps for a replay are the same bytes. The chat call's events
(``services.calls.stream_call``) map onto the Responses events, with no second streaming engine:

- the first event opens the stream with ``response.created`` and ``response.in_progress``;
- text chunks: the message item and its text part are added at the first one, then one
  ``response.output_text.delta`` each;
- the last event (``done``) closes the text (``output_text.done``, ``content_part.done``,
  ``output_item.done``), adds each tool call whole (``output_item.added``, its arguments as one
  ``function_call_arguments.delta``, ``.done``, ``output_item.done``), then ends the stream with
  ``response.completed`` (``response.incomplete`` when the answer hit ``max_output_tokens``)
  carrying the whole response and its usage;
- a failure mid-way is ``response.failed`` with the error (OpenAI's code ``server_error``,
  ``rate_limit_exceeded`` for a rate limit).

Each event is ``event: <type>`` and ``data: <json>`` with a ``sequence_number`` counting every
event sent, from 0.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from saas_litellm_models import (
    LLMCallResponse,
    OutputFunctionCall,
    OutputMessage,
    OutputText,
    ResponseContentPartEvent,
    ResponseCreateRequest,
    ResponseError,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseIncompleteDetails,
    ResponseLifecycleEvent,
    ResponseObject,
    ResponseOutputItemEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    ToolCall,
    Usage,
)

__all__ = ["ResponsesWire"]

_Event = StreamChunk | StreamDone | StreamErrorEvent
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""A chat ``finish_reason`` that makes the response ``incomplete``, and why."""
_FAILED_CODES = {"rate_limited": "rate_limit_exceeded"}
"""Our error type → the Responses API's error code (any other is ``server_error``)."""


def _usage(usage: Usage) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _sse(event: ResponseStreamEvent) -> bytes:
    return f"event: {event.type}\ndata: {event.model_dump_json()}\n\n".encode()


@dataclass(frozen=True)
class ResponsesWire:
    """How one request's answer is written as a Responses API ``response``."""

    request: ResponseCreateRequest
    hex: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: int = field(default_factory=lambda: int(time.time()))
    _live: _StreamEncoder | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"resp_{self.hex}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.hex}"

    def function_call_id(self, index: int) -> str:
        return f"fc_{self.hex}_{index}"

    def _echo(self) -> dict[str, Any]:
        """The request fields a response repeats."""
        body = self.request
        dumped = body.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {
            "model": body.model,
            "instructions": body.instructions,
            "tools": dumped.get("tools", []),
            "tool_choice": dumped.get("tool_choice", "auto"),
            "text": dumped.get("text") or {"format": {"type": "text"}},
            "temperature": body.temperature,
            "top_p": body.top_p,
            "max_output_tokens": body.max_output_tokens,
            "metadata": body.metadata or {},
            "parallel_tool_calls": body.parallel_tool_calls is not False,
            "user": body.user,
        }

    def _response(
        self,
        status: str,
        output: Sequence[OutputMessage | OutputFunctionCall] = (),
        *,
        usage: Usage | None = None,
        finish_reason: str | None = None,
        error: ResponseError | None = None,
    ) -> ResponseObject:
        reason = _INCOMPLETE.get(finish_reason or "")
        if reason is not None and status == "completed":
            status = "incomplete"
        return ResponseObject.model_validate(
            {
                **self._echo(),
                "id": self.id,
                "created_at": self.created_at,
                "status": status,
                "output": list(output),
                "usage": _usage(usage) if usage is not None else None,
                "error": error,
                "incomplete_details": (
                    ResponseIncompleteDetails.model_validate({"reason": reason})
                    if reason is not None
                    else None
                ),
            }
        )

    def _message(self, text: str, status: str = "completed") -> OutputMessage:
        return OutputMessage.model_validate(
            {"id": self.message_id, "status": status, "content": [OutputText(text=text)]}
        )

    def _function_call(
        self, index: int, call: ToolCall, *, arguments: str | None = None, done: bool = True
    ) -> OutputFunctionCall:
        return OutputFunctionCall(
            id=self.function_call_id(index),
            call_id=call.id,
            name=call.function.name,
            arguments=call.function.arguments if arguments is None else arguments,
            status="completed" if done else "in_progress",
        )

    def _output(
        self, content: str | None, tool_calls: Sequence[ToolCall] | None, finish: str | None
    ) -> list[OutputMessage | OutputFunctionCall]:
        output: list[OutputMessage | OutputFunctionCall] = []
        if content:
            status = "incomplete" if finish in _INCOMPLETE else "completed"
            output.append(self._message(content, status))
        output.extend(self._function_call(i, c) for i, c in enumerate(tool_calls or ()))
        return output

    def answer(self, response: LLMCallResponse) -> ResponseObject:
        """The ``response`` object of a finished call."""
        answer = response.response
        output = self._output(answer.content, answer.tool_calls, answer.finish_reason)
        return self._response(
            "completed", output, usage=response.usage, finish_reason=answer.finish_reason
        )

    def render(self, response: LLMCallResponse) -> bytes:
        return self.answer(response).model_dump_json().encode()

    def encode(self, event: BaseModel, sequence: int) -> bytes:
        """The bytes of the Responses events one chat-call event makes, in the live stream
        (``sequence`` counts from 1). The stream's state — sequence numbers, the text so far —
        is this wire's: one wire writes one stream, and its first event starts it afresh."""
        live = self._live
        if sequence == 1 or live is None:
            live = _StreamEncoder(self)
            object.__setattr__(self, "_live", live)
        return live.encode(event, sequence)

    def render_stream(self, events: Sequence[_Event]) -> bytes:
        """The whole stream of ``events``, as :meth:`encode` sends it (with a fresh state:
        rendering what is kept for a replay does not disturb the live stream)."""
        encoder = _StreamEncoder(self)
        return b"".join(encoder.encode(e, i) for i, e in enumerate(events, start=1))


class _StreamEncoder:
    """The Responses events of one stream of chat-call events, in order."""

    def __init__(self, wire: ResponsesWire) -> None:
        self.wire = wire
        self.sequence = 0
        self.text = ""
        self.message_open = False

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence - 1

    def _emit(self, events: list[ResponseStreamEvent]) -> bytes:
        return b"".join(_sse(e) for e in events)

    def _lifecycle(self, kind: str, response: ResponseObject) -> ResponseLifecycleEvent:
        return ResponseLifecycleEvent.model_validate(
            {"type": kind, "sequence_number": self._next(), "response": response}
        )

    def _item(self, kind: str, index: int, item: BaseModel) -> ResponseOutputItemEvent:
        return ResponseOutputItemEvent.model_validate(
            {"type": kind, "sequence_number": self._next(), "output_index": index, "item": item}
        )

    def _part(self, kind: str, text: str) -> ResponseContentPartEvent:
        return ResponseContentPartEvent.model_validate(
            {
                "type": kind,
                "sequence_number": self._next(),
                "item_id": self.wire.message_id,
                "output_index": 0,
                "part": OutputText(text=text),
            }
        )

    def encode(self, event: BaseModel, sequence: int) -> bytes:
        """The bytes of the Responses events that one chat-call event makes (``sequence``
        counts the chat-call events from 1: the first opens the response)."""
        wire = self.wire
        out: list[ResponseStreamEvent] = []
        if sequence == 1:
            opened = wire._response("in_progress")
            out.append(self._lifecycle("response.created", opened))
            out.append(self._lifecycle("response.in_progress", opened))
        if isinstance(event, StreamChunk):
            if not self.message_open:
                self.message_open = True
                out.append(
                    self._item("response.output_item.added", 0, wire._message("", "in_progress"))
                )
                out.append(self._part("response.content_part.added", ""))
            self.text += event.content
            out.append(
                ResponseTextDeltaEvent(
                    sequence_number=self._next(),
                    item_id=wire.message_id,
                    output_index=0,
                    delta=event.content,
                )
            )
        elif isinstance(event, StreamDone):
            out.extend(self._done(event))
        else:
            assert isinstance(event, StreamErrorEvent)
            error = ResponseError(
                code=_FAILED_CODES.get(event.error.type, "server_error"),
                message=event.error.message,
            )
            out.append(self._lifecycle("response.failed", wire._response("failed", error=error)))
        return self._emit(out)

    def _done(self, event: StreamDone) -> list[ResponseStreamEvent]:
        wire, out = self.wire, list[ResponseStreamEvent]()
        incomplete = event.finish_reason in _INCOMPLETE
        if self.message_open:
            message = wire._message(self.text, "incomplete" if incomplete else "completed")
            out.append(
                ResponseTextDoneEvent(
                    sequence_number=self._next(),
                    item_id=wire.message_id,
                    output_index=0,
                    text=self.text,
                )
            )
            out.append(self._part("response.content_part.done", self.text))
            out.append(self._item("response.output_item.done", 0, message))
        first = 1 if self.message_open else 0
        for index, call in enumerate(event.tool_calls or ()):
            at, item_id = first + index, wire.function_call_id(index)
            opened = wire._function_call(index, call, arguments="", done=False)
            out.append(self._item("response.output_item.added", at, opened))
            out.append(
                ResponseFunctionCallArgumentsDeltaEvent(
                    sequence_number=self._next(),
                    item_id=item_id,
                    output_index=at,
                    delta=call.function.arguments,
                )
            )
            out.append(
                ResponseFunctionCallArgumentsDoneEvent(
                    sequence_number=self._next(),
                    item_id=item_id,
                    output_index=at,
                    name=call.function.name,
                    arguments=call.function.arguments,
                )
            )
            out.append(
                self._item("response.output_item.done", at, wire._function_call(index, call))
            )
        final = wire._response(
            "completed",
            wire._output(self.text, event.tool_calls, event.finish_reason),
            usage=event.usage,
            finish_reason=event.finish_reason,
        )
        kind = "response.incomplete" if incomplete else "response.completed"
        out.append(self._lifecycle(kind, final))
        return out
