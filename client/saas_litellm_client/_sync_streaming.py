# Generated from _streaming.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""``client.stream(...)``: one LLM call answered chunk by chunk over Server-Sent Events.

The HTTP response stays open while the caller iterates, so the stream object owns it and closes it
on every way out: the ``done`` event, an ``error`` event, a broken connection, ``close()`` and the
end of ``with``. A ``break`` out of a bare ``for`` cannot be noticed (Python does not
tell the iterator), which is why ``with`` is the recommended form.

Generated from ``_streaming`` by ``scripts/unasync.py``: edit that module, not this one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, TypeVar

import httpx
from httpx_sse import ServerSentEvent

from saas_litellm_models import StreamChunk, StreamDone, StreamErrorEvent, Usage

from ._exceptions import APIConnectionError, SaasLiteLLMError
from ._request_id import set_request_id
from ._stream_events import parse_event, stream_error, sync_sse_events
from ._utils import close_quietly, connection_error, sync_move_on_after

__all__ = ["OpenedStream", "SyncChatStream", "read_first_event"]

_DRAIN_SECONDS = 1.0

_StreamT = TypeVar("_StreamT", bound="SyncChatStream")
_State = Literal["new", "open", "done", "failed", "closed"]


@dataclass
class OpenedStream:
    """A stream whose first event has arrived: what ``SyncChatStream`` needs to go on reading.

    Opening reads up to the first ``chunk`` or ``done`` event (keep-alives skipped), so that
    everything that can go wrong before the caller sees an event — the status, the content
    type, an early ``error`` event — happens while the request may still be retried.
    """

    response: httpx.Response
    events: Generator[ServerSentEvent, None, None]
    first: StreamChunk | StreamDone


def read_first_event(response: httpx.Response) -> OpenedStream:
    """Read up to the first ``chunk`` or ``done`` event of a checked ``text/event-stream``
    response. An ``error`` event raises :class:`StreamError`; the caller closes the response
    when this raises."""
    events = sync_sse_events(response)
    try:
        first = _next_event(events, response)
    except BaseException:
        with contextlib.suppress(httpx.HTTPError):
            events.close()
        raise
    if isinstance(first, StreamErrorEvent):
        with contextlib.suppress(httpx.HTTPError):
            events.close()
        raise stream_error(first, response)
    return OpenedStream(response, events, first)


class SyncChatStream:
    """The answer of ``client.stream(...)``: an iterator of :class:`StreamChunk` and a
    context manager.

    ::

        with client.stream(job_id=job.job_id, messages=[...]) as stream:
            for chunk in stream:
                print(chunk.content, end="")
        print(stream.usage, stream.call_id)

    Nothing is sent until the ``with`` (or the first iteration), which sends the request
    and waits for the first event; errors until then — :class:`InsufficientCreditsError`,
    :class:`NotFoundError`, :class:`ConflictError`, … — are those of ``llm_call``, raised there,
    after the same retries (a 5xx, a broken connection or an early upstream ``error`` event is
    retried). Once an event has reached the caller nothing is retried: an ``error`` event raises
    :class:`StreamError`, a connection lost before ``done`` :class:`APIConnectionError`.

    A stream can be iterated once. ``text`` holds what arrived so far; ``get_final_text()``
    reads the rest and returns all of it; ``done`` (with ``usage`` and ``call_id``) is set once
    the ``done`` event arrived.
    """

    def __init__(self, open_stream: Callable[[], OpenedStream]) -> None:
        """``open_stream`` sends the request (retrying as the client is configured to) and
        returns the response with its first event read (see ``_SyncBaseClient._request_stream``)."""
        self._open_stream = open_stream
        self._state: _State = "new"
        self._iterated = False
        self._response: httpx.Response | None = None
        self._events: Generator[ServerSentEvent, None, None] | None = None
        self._first: StreamChunk | StreamDone | None = None
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
    def request_id(self) -> str | None:
        """The server's ``X-Request-ID`` of the (last) attempt, once the stream is open."""
        return None if self._response is None else self._response.headers.get("x-request-id")

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

    def until_done(self) -> StreamDone:
        """Read the remaining events and return the ``done`` event.

        Raises what iterating would raise; ``RuntimeError`` if the stream was closed early.
        """
        self._iterated = True  # the chunks are gone: a later ``for`` must not look empty
        while True:
            try:
                self.__next__()
            except StopIteration:
                break
        assert self._done is not None  # iteration stops without an error only after ``done``
        return self._done

    def get_final_text(self) -> str:
        """Read the remaining events and return the whole answer, chunks read before included."""
        self.until_done()
        return self.text

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP response, returning its connection to the pool (the server then
        cancels the upstream call). Safe to call at any time, any number of times."""
        if self._state in ("new", "open"):
            self._state = "closed"
        self._release()

    def __enter__(self: _StreamT) -> _StreamT:
        if self._state == "new":
            self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- iteration ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamChunk]:
        if self._iterated:
            raise RuntimeError(
                "This stream has already been iterated; a stream can be read only once. "
                "What it produced is in .text (and .done); call client.stream(...) again "
                "for a new answer."
            )
        self._iterated = True
        return self._chunks()

    def _chunks(self) -> Generator[StreamChunk, None, None]:
        # A generator, so that a ``break`` out of a bare ``for`` still closes the
        # connection: an abandoned generator is finalized, which runs ``finally``.
        try:
            while True:
                try:
                    chunk = self.__next__()
                except StopIteration:
                    return
                yield chunk
        finally:
            if self._state in ("new", "open"):
                self.close()

    def __next__(self) -> StreamChunk:
        if self._state == "new":
            self._start()
        if self._state == "done":
            raise StopIteration
        if self._state == "failed":
            assert self._error is not None
            raise self._error
        if self._state == "closed":
            raise RuntimeError(
                "This stream was closed before its done event; .text holds what had arrived."
            )
        assert self._events is not None
        assert self._response is not None
        event: StreamChunk | StreamDone | StreamErrorEvent | None
        event, self._first = self._first, None
        try:
            if event is None:
                event = _next_event(self._events, self._response)
        except BaseException as exc:
            self._fail(exc)
            self._release()
            raise
        if isinstance(event, StreamChunk):
            self._parts.append(event.content)
            return event
        if isinstance(event, StreamDone):
            set_request_id(event, self.request_id)
            self._done = event
            self._state = "done"
            self._drain()
            self._release()
            raise StopIteration
        error = stream_error(event, self._response)
        self._fail(error)
        self._release()
        raise error

    def _start(self) -> None:
        self._state = "open"
        try:
            opened = self._open_stream()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._response, self._events, self._first = opened.response, opened.events, opened.first
        if self._state != "open":  # closed while opening (from another task)
            self._release()

    def _fail(self, exc: BaseException) -> None:
        """Remember how the stream ended, so that reading on re-raises the same error."""
        if isinstance(exc, SaasLiteLLMError):
            self._state, self._error = "failed", exc
        else:  # cancelled, interrupted: the stream was abandoned, not broken
            self._state = "closed"

    def _drain(self) -> None:
        """Read what follows ``done`` (normally just the end of the response), so that the
        connection goes back to the pool instead of being dropped. Bounded, for a server that
        would keep the stream open."""
        events = self._events
        if events is None:
            return
        with sync_move_on_after(_DRAIN_SECONDS), contextlib.suppress(httpx.HTTPError):
            for _ in events:
                pass

    def _release(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            # A failure here does not matter: the response is closed next either way.
            with contextlib.suppress(httpx.HTTPError):
                events.close()
        if self._response is not None:
            close_quietly(self._response)


def _next_event(
    events: Generator[ServerSentEvent, None, None], response: httpx.Response
) -> StreamChunk | StreamDone | StreamErrorEvent:
    """The next event that means something (keep-alives and unknown types are skipped)."""
    while True:
        try:
            sse = events.__next__()
        except StopIteration:
            raise APIConnectionError(
                "The stream ended before the done event (connection closed by the server).",
                request=response.request,
            ) from None
        except httpx.HTTPError as exc:
            raise connection_error(exc, response.request) from exc
        event = parse_event(sse, response)
        if event is not None:
            return event
