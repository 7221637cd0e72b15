"""Our call results and stream events as OpenAI's ``chat.completion`` and
``chat.completion.chunk`` objects.

One :class:`Wire` per request fixes the completion's ``id``, ``created`` and ``model``, so that
rendering is a pure function of the events: what is sent live and what an Idempotency-Key keeps
for a replay are the same bytes. A stream is ``data: <chunk>`` lines (no ``event:`` names, as
OpenAI sends them) ending in ``data: [DONE]``; a role chunk opens it; the answer's tool calls come
whole, one ``tool_calls`` delta each (OpenAI sends them in fragments, which clients join the same
way); then a chunk with the ``finish_reason``; then, with ``stream_options.include_usage``, a
chunk with empty ``choices`` and the ``usage``. A failure mid-way is one ``data:
{"error": {…}}`` line (the openai SDK raises it as ``APIError``) and no ``[DONE]``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from saas_litellm_models import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChoiceDelta,
    ChoiceDeltaFunction,
    ChoiceDeltaToolCall,
    ChunkChoice,
    LLMCallResponse,
    OpenAIErrorBody,
    OpenAIErrorResponse,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    Usage,
)

from ._responses import OPENAI_ERROR_TYPES

__all__ = ["DONE", "Wire"]

DONE = b"data: [DONE]\n\n"

_Event = StreamChunk | StreamDone | StreamErrorEvent


def _data(model: BaseModel, *, exclude: set[str] | None = None) -> bytes:
    return b"data: " + model.model_dump_json(exclude=exclude).encode() + b"\n\n"


@dataclass(frozen=True)
class Wire:
    """How one request's answer is written in OpenAI's format."""

    model: str
    """The model alias the client asked for."""
    include_usage: bool = False
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def completion(self, response: LLMCallResponse) -> ChatCompletion:
        answer = response.response
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[
                ChatCompletionChoice(
                    message=ChatCompletionMessage(
                        content=answer.content, tool_calls=answer.tool_calls
                    ),
                    finish_reason=answer.finish_reason,
                )
            ],
            usage=response.usage,
        )

    def answer(self, response: LLMCallResponse) -> ChatCompletion:
        return self.completion(response)

    def render(self, response: LLMCallResponse) -> bytes:
        """The ``chat.completion`` body of ``response``."""
        return self.completion(response).model_dump_json().encode()

    def _chunk(self, delta: ChoiceDelta, finish: str | None = None) -> bytes:
        chunk = ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
        )
        return _data(chunk, exclude=None if self.include_usage else {"usage"})

    def _usage(self, usage: Usage) -> bytes:
        chunk = ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=[], usage=usage
        )
        return _data(chunk)

    def encode(self, event: BaseModel, sequence: int) -> bytes:
        """The bytes of one stream event (``sequence`` counts from 1: the first opens the
        stream with the assistant's role)."""
        out = self._chunk(ChoiceDelta(role="assistant", content="")) if sequence == 1 else b""
        if isinstance(event, StreamChunk):
            return out + self._chunk(ChoiceDelta(content=event.content))
        if isinstance(event, StreamDone):
            for index, call in enumerate(event.tool_calls or ()):
                delta = ChoiceDeltaToolCall(
                    index=index,
                    id=call.id,
                    type="function",
                    function=ChoiceDeltaFunction(
                        name=call.function.name, arguments=call.function.arguments
                    ),
                )
                out += self._chunk(ChoiceDelta(tool_calls=[delta]))
            out += self._chunk(ChoiceDelta(), event.finish_reason or "stop")
            if self.include_usage:
                out += self._usage(event.usage)
            return out + DONE
        assert isinstance(event, StreamErrorEvent)
        error = OpenAIErrorResponse(
            error=OpenAIErrorBody(
                message=event.error.message,
                type=OPENAI_ERROR_TYPES.get(event.error.type, "api_error"),
                code=event.error.type,
            )
        )
        return out + _data(error)

    def render_stream(self, events: Sequence[_Event]) -> bytes:
        """The whole stream of ``events``, as :meth:`encode` sends it."""
        return b"".join(self.encode(e, i) for i, e in enumerate(events, start=1))
