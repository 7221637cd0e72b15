"""Reading one Server-Sent Event of a stream: its model, or the error it reports. Shared by the
async streams (``_streaming``) and the synchronous ones (``_sync_streaming``)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator

import httpx
from httpx_sse import EventSource, ServerSentEvent
from pydantic import ValidationError

from saas_litellm_models import StreamChunk, StreamDone, StreamErrorEvent, parse_stream_event

from ._exceptions import APIResponseValidationError, StreamError

__all__ = ["parse_event", "sse_events", "stream_error", "sync_sse_events"]

_KNOWN_EVENT_TYPES = frozenset({"chunk", "done", "error"})


def sse_events(response: httpx.Response) -> AsyncGenerator[ServerSentEvent, None]:
    """The events of a ``text/event-stream`` response, read as they arrive."""
    return EventSource(response).aiter_sse()


def sync_sse_events(response: httpx.Response) -> Generator[ServerSentEvent, None, None]:
    """:func:`sse_events` for the synchronous streams (a generator, so that it can be closed)."""
    yield from EventSource(response).iter_sse()


def stream_error(event: StreamErrorEvent, response: httpx.Response) -> StreamError:
    return StreamError(
        event.error.message,
        error_type=event.error.type,
        request_id=response.headers.get("x-request-id"),
    )


def parse_event(
    sse: ServerSentEvent, response: httpx.Response
) -> StreamChunk | StreamDone | StreamErrorEvent | None:
    """The event's model, or ``None`` for an event to skip: one without data (a keep-alive) or
    of a type this SDK does not know yet (a newer server may add some)."""
    if not sse.data:
        return None
    try:
        return parse_stream_event(sse.data)
    except ValidationError as exc:
        validation_error = exc
    try:
        payload = json.loads(sse.data)
    except ValueError:
        payload = None
    kind: str | None = None
    if isinstance(payload, dict) and isinstance(payload.get("type"), str):
        kind = payload["type"]
    elif payload is not None and sse.event != "message":  # typed by its ``event:`` line only
        kind = sse.event
    if kind is not None and kind not in _KNOWN_EVENT_TYPES:
        return None
    first = validation_error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "data"
    raise APIResponseValidationError(
        f"Stream event {sse.event!r} (id {sse.id or '-'}) does not match the contract "
        f"({where}: {first['msg']})",
        response=response,
    ) from validation_error
