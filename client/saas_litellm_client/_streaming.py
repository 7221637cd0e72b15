"""``client.stream(...)``: one LLM call answered chunk by chunk over Server-Sent Events.

The HTTP response stays open while the caller iterates, so the stream object owns it and closes it
on every way out: the ``done`` event, an ``error`` event, a broken connection, ``aclose()`` and the
end of ``async with``. A ``break`` out of a bare ``async for`` cannot be noticed (Python does not
tell the iterator), which is why ``async with`` is the recommended form.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import Literal, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent
from pydantic import ValidationError

from saas_litellm_models import (
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
    Usage,
    parse_stream_event,
)

from ._base_client import _aclose_quietly, _connection_error
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    SaasLiteLLMError,
    StreamError,
)

__all__ = ["ChatStream"]

_KNOWN_EVENT_TYPES = frozenset({"chunk", "done", "error"})

_StreamT = TypeVar("_StreamT", bound="ChatStream")
_State = Literal["new", "open", "done", "failed", "closed"]


class ChatStream:
    """The answer of ``client.stream(...)``: an async iterator of :class:`StreamChunk` and an
    async context manager.

    ::

        async with client.stream(job_id=job.job_id, messages=[...]) as stream:
            async for chunk in stream:
                print(chunk.content, end="")
        print(stream.usage, stream.call_id)

    Nothing is sent until the ``async with`` (or the first iteration), so errors before the first
    event — :class:`InsufficientCreditsError`, :class:`NotFoundError`, :class:`ConflictError`, …
    — are those of ``llm_call``, raised there. Afterwards an ``error`` event raises
    :class:`StreamError`, a connection lost before ``done`` :class:`APIConnectionError`.

    A stream can be iterated once. ``text`` holds what arrived so far; ``get_final_text()``
    reads the rest and returns all of it; ``done`` (with ``usage`` and ``call_id``) is set once
    the ``done`` event arrived.
    """

    def __init__(self, open_response: Callable[[], Awaitable[httpx.Response]]) -> None:
        """``open_response`` sends the request and returns a checked, still unread
        ``text/event-stream`` response (see ``_BaseClient._request_stream``)."""
        self._open_response = open_response
        self._state: _State = "new"
        self._iterated = False
        self._response: httpx.Response | None = None
        self._events: AsyncGenerator[ServerSentEvent, None] | None = None
        self._parts: list[str] = []
        self._done: StreamDone | None = None
        self._error: SaasLiteLLMError | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} state={self._state} chunks={len(self._parts)}>"

    # -- results -----------------------------------------------------------------------------

    @property
    def response(self) -> httpx.Response | None:
        """The HTTP response (headers, ``X-Request-ID``), once the request was sent."""
        return self._response

    @property
    def done(self) -> StreamDone | None:
        """The final ``done`` event; ``None`` until the stream has ended successfully."""
        return self._done

    @property
    def usage(self) -> Usage | None:
        """Token usage of the call, from the ``done`` event."""
        return None if self._done is None else self._done.usage

    @property
    def call_id(self) -> str | None:
        """The id under which the server recorded the call, from the ``done`` event."""
        return None if self._done is None else self._done.call_id

    @property
    def text(self) -> str:
        """The content of every chunk received so far."""
        return "".join(self._parts)

    async def until_done(self) -> StreamDone:
        """Read the remaining events and return the ``done`` event.

        Raises what iterating would raise; ``RuntimeError`` if the stream was closed early.
        """
        self._iterated = True  # the chunks are gone: a later ``async for`` must not look empty
        while True:
            try:
                await self.__anext__()
            except StopAsyncIteration:
                break
        assert self._done is not None  # iteration stops without an error only after ``done``
        return self._done

    async def get_final_text(self) -> str:
        """Read the remaining events and return the whole answer, chunks read before included."""
        await self.until_done()
        return self.text

    # -- lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP response, returning its connection to the pool (the server then
        cancels the upstream call). Safe to call at any time, any number of times."""
        if self._state in ("new", "open"):
            self._state = "closed"
        await self._release()

    async def __aenter__(self: _StreamT) -> _StreamT:
        if self._state == "new":
            await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self: _StreamT) -> _StreamT:
        if self._iterated:
            raise RuntimeError(
                "This stream has already been iterated; a stream can be read only once. "
                "What it produced is in .text (and .done); call client.stream(...) again "
                "for a new answer."
            )
        self._iterated = True
        return self

    async def __anext__(self) -> StreamChunk:
        if self._state == "new":
            await self._start()
        if self._state == "done":
            raise StopAsyncIteration
        if self._state == "failed":
            assert self._error is not None
            raise self._error
        if self._state == "closed":
            raise RuntimeError(
                "This stream was closed before its done event; .text holds what had arrived."
            )
        assert self._events is not None
        assert self._response is not None
        try:
            chunk = await self._next_chunk(self._events, self._response)
        except BaseException as exc:
            self._fail(exc)
            await self._release()
            raise
        if chunk is None:
            self._state = "done"
            await self._release()
            raise StopAsyncIteration
        return chunk

    async def _start(self) -> None:
        self._state = "open"
        try:
            self._response = await self._open_response()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._events = EventSource(self._response).aiter_sse()

    def _fail(self, exc: BaseException) -> None:
        """Remember how the stream ended, so that reading on re-raises the same error."""
        if isinstance(exc, SaasLiteLLMError):
            self._state, self._error = "failed", exc
        else:  # cancelled, interrupted: the stream was abandoned, not broken
            self._state = "closed"

    async def _next_chunk(
        self, events: AsyncGenerator[ServerSentEvent, None], response: httpx.Response
    ) -> StreamChunk | None:
        """The next chunk, or ``None`` once the ``done`` event arrived."""
        while True:
            try:
                sse = await events.__anext__()
            except StopAsyncIteration:
                raise APIConnectionError(
                    "The stream ended before the done event (connection closed by the server).",
                    request=response.request,
                ) from None
            except httpx.HTTPError as exc:
                raise _connection_error(exc, response.request) from exc
            event = _parse_event(sse, response)
            if event is None:
                continue
            if isinstance(event, StreamChunk):
                self._parts.append(event.content)
                return event
            if isinstance(event, StreamDone):
                self._done = event
                return None
            raise StreamError(
                event.error.message,
                error_type=event.error.type,
                request_id=response.headers.get("x-request-id"),
            )

    async def _release(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            # A failure here does not matter: the response is closed next either way.
            with contextlib.suppress(httpx.HTTPError):
                await events.aclose()
        if self._response is not None:
            await _aclose_quietly(self._response)


def _parse_event(
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
