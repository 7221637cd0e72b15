"""Server-Sent Events of ``POST /api/jobs/{job_id}/llm-call-stream``.

Each event has ``event: <type>``, ``id: <sequence>`` and one ``data:`` line holding one of these
objects as JSON, so that a naive reader can ``json.loads`` every ``data:`` line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ._base import ResponseModel
from ._jobs import JobCosts
from ._llm import ToolCall, Usage

__all__ = [
    "StreamChunk",
    "StreamDone",
    "StreamErrorDetail",
    "StreamErrorEvent",
    "StreamEvent",
    "parse_stream_event",
]


class StreamChunk(ResponseModel):
    """A piece of the answer, forwarded as soon as the upstream produced it."""

    type: Literal["chunk"] = "chunk"
    content: str


class StreamDone(ResponseModel):
    """The last event of a successful stream."""

    type: Literal["done"] = "done"
    call_id: str
    job_id: str
    model: str
    finish_reason: str | None = None
    usage: Usage
    latency_ms: float
    tool_calls: list[ToolCall] | None = Field(
        default=None, description="The tool calls of the answer, whole (finish_reason tool_calls)."
    )
    costs: JobCosts | None = Field(
        default=None,
        description="Only from ``create-and-call-stream``: the job's settlement, once completed.",
    )


class StreamErrorDetail(ResponseModel):
    type: str
    message: str


class StreamErrorEvent(ResponseModel):
    """Sent instead of ``done`` when the call fails mid-way."""

    type: Literal["error"] = "error"
    error: StreamErrorDetail


StreamEvent = Annotated[StreamChunk | StreamDone | StreamErrorEvent, Field(discriminator="type")]

_adapter: TypeAdapter[StreamChunk | StreamDone | StreamErrorEvent] = TypeAdapter(StreamEvent)


def parse_stream_event(data: str | bytes) -> StreamChunk | StreamDone | StreamErrorEvent:
    """Parse one ``data:`` payload into its event model."""
    return _adapter.validate_json(data)
