# Generated from _base_client.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""The one place where the synchronous clients speak HTTP: sending, the retry loop, streams.

Both public synchronous clients are thin layers of typed methods over
:meth:`_SyncBaseClient._request` (and :meth:`_SyncBaseClient._request_stream` for SSE); both go
through :meth:`_SyncBaseClient._attempts`, the retry loop. What a call sends and how a failure
is judged is decided without I/O in ``_core``; the retry policy is in ``_retry``.

Generated from ``_base_client`` by ``scripts/unasync.py``: edit that module, not this one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from saas_litellm_models.endpoints import Endpoint

from . import _retry, _tracing
from ._core import (
    CallOptions,
    ClientCore,
    _Call,
    _clamp,
    _own_request_in_flight,
    _reason,
    parsed_url,
    request_body,
    url_path,
)
from ._exceptions import (
    APIResponseValidationError,
    RateLimitError,
    SaasLiteLLMError,
    _make_status_error,
)
from ._logs import log, redact_headers
from ._pagination import SyncPage, sync_paginate
from ._request_id import set_request_id
from ._response import record_response
from ._retry import MAX_IN_FLIGHT_WAIT, backoff_delay, server_delay
from ._sync_streaming import OpenedStream, SyncChatStream, read_first_event
from ._types import DEFAULT_MAX_RETRIES, NotGiven, TimeoutTypes
from ._utils import close_quietly, connection_error, media_type, sync_move_on_after

__all__ = ["_SyncBaseClient"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_ClientT = TypeVar("_ClientT", bound="_SyncBaseClient")
_T = TypeVar("_T")


class _SyncBaseClient(ClientCore):
    """Owns an ``httpx.Client`` (or borrows the caller's) and sends each call, retrying
    what is worth retrying (see ``ClientCore``)."""

    _http_client: httpx.Client

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: TimeoutTypes | NotGiven,
        http_client: httpx.Client | None,
        default_headers: Mapping[str, str] | None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError(
                f"http_client must be an httpx.Client, got {type(http_client).__name__}"
            )
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            http_client=http_client,
            default_headers=default_headers,
            max_retries=max_retries,
            deadline=deadline,
        )
        self._http_client = http_client if http_client is not None else httpx.Client()
        # Injectable for tests: how to wait between attempts.
        self._sleep: Callable[[float], None] = _retry.sync_sleep

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the connection pool. A passed-in ``http_client`` belongs to the caller and is
        left open. Calling ``close()`` again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http_client:
            self._http_client.close()

    def __enter__(self: _ClientT) -> _ClientT:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        endpoint: Endpoint[_ModelT],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, object] | BaseModel | None = None,
        options: Mapping[str, Any] | CallOptions | None = None,
    ) -> _ModelT:
        """Call ``endpoint`` (retried as configured) with its ``path`` parameters, ``query``
        and ``body``, and return its 2xx body as ``endpoint.response``, with the response's
        request id attached (see :func:`request_id_of`).

        The body is validated by the endpoint's body model first (pydantic's
        ``ValidationError``, before anything is sent) and leaves out its ``None`` fields, or —
        for a ``partial`` endpoint — the fields it was not given: for a partial update, where
        an explicit ``null`` means "remove".

        Raises :class:`APIConnectionError`/:class:`APITimeoutError` without a response (also
        when the deadline ran out), an :class:`APIStatusError` subclass for a non-2xx and
        :class:`APIResponseValidationError` for a 2xx that does not parse (never retried).
        """
        if endpoint.stream:
            raise TypeError(f"{endpoint} is a stream: use _request_stream")
        assert endpoint.response is not None
        call = self._prepare(
            endpoint, path, query, request_body(endpoint, body), CallOptions.of(options)
        )

        def attempt(request: httpx.Request, number: int) -> httpx.Response:
            response = self._send(request, call, number, stream=False)
            if not response.is_success:
                raise _make_status_error(response)
            return response

        response = self._attempts(call, attempt)
        result = self._process_response(response, endpoint.response)
        set_request_id(result, response.headers.get("x-request-id"))
        record_response(response)
        return result

    def _stream(
        self,
        endpoint: Endpoint[Any],
        *,
        path: Mapping[str, str] | None = None,
        body: Mapping[str, object] | BaseModel,
        options: Mapping[str, Any] | CallOptions | None = None,
    ) -> SyncChatStream:
        """A :class:`SyncChatStream` of ``endpoint``, sent when it is entered or first iterated.
        Its arguments are checked now, so that a bad one raises here, at once."""
        checked = request_body(endpoint, body)
        call_options = CallOptions.of(options)
        url_path(endpoint, path)
        return SyncChatStream(
            partial(self._request_stream, endpoint, path=path, body=checked, options=call_options)
        )

    def _request_stream(
        self,
        endpoint: Endpoint[Any],
        *,
        path: Mapping[str, str] | None = None,
        body: BaseModel | None = None,
        options: CallOptions | None = None,
    ) -> OpenedStream:
        """Send one API call answered by Server-Sent Events and read up to its first event,
        retrying as :meth:`_request` does — a stream is retried only until its first event,
        which has not reached the caller yet. The deadline, too, covers only this opening.

        The caller owns the returned response and must ``close()`` it. An error status carries
        an ordinary JSON error body (read here, then the response is closed); a 2xx that is not
        ``text/event-stream`` raises :class:`APIResponseValidationError` (httpx-sse would
        otherwise fail with its own ``SSEError``); an ``error`` event before the first chunk
        raises :class:`StreamError`.
        """
        if not endpoint.stream:
            raise TypeError(f"{endpoint} is not a stream: use _request")
        call = self._prepare(
            endpoint, path, None, body, CallOptions.of(options), accept="text/event-stream"
        )

        def attempt(request: httpx.Request, number: int) -> OpenedStream:
            response = self._send(request, call, number, stream=True)
            try:
                if not response.is_success:
                    try:
                        response.read()
                    except httpx.HTTPError as exc:
                        raise connection_error(exc, request) from exc
                    raise _make_status_error(response)
                if media_type(response) != "text/event-stream":
                    raise APIResponseValidationError(
                        f"The response to {request.method} {request.url.path} should be "
                        f"text/event-stream, got {media_type(response) or 'no content type'!r}",
                        response=response,
                    )
                return read_first_event(response)
            except BaseException:
                close_quietly(response)
                raise

        return self._attempts(call, attempt)

    def _paginate(
        self,
        endpoint: Endpoint[Any],
        item: type[_T],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, object],
        options: Mapping[str, Any] | CallOptions | None = None,
    ) -> SyncPage[_T]:
        r"""The cursor-paginated list ``endpoint`` answers (its ``page_items`` field holds the
        ``item``\ s), from ``query["cursor"]`` on."""
        items = endpoint.page_items
        assert items is not None, f"{endpoint} is not a cursor-paginated list"
        call_options = CallOptions.of(options)
        url_path(endpoint, path, query)  # a bad argument raises now, not when awaited

        def fetch(cursor: str | None) -> SyncPage[_T]:
            response = self._request(
                endpoint, path=path, query={**query, "cursor": cursor}, options=call_options
            )
            return SyncPage(list(getattr(response, items)), response.next_cursor, fetch)

        cursor = query.get("cursor")
        return sync_paginate(fetch, cursor if isinstance(cursor, str) else None)

    def _attempts(self, call: _Call, attempt: Callable[[httpx.Request, int], _T]) -> _T:
        """The retry loop: run ``attempt`` until it succeeds, fails for good, runs out of retries
        or the deadline passes. Each attempt sends the same request, ``Idempotency-Key``
        included."""
        number = 0
        polls = 0  # attempts that only asked for our own in-flight request's outcome
        waited_in_flight = 0.0
        last_error: SaasLiteLLMError | None = None
        while True:
            number += 1
            remaining = self._remaining(call)
            if remaining is not None and remaining <= 0:
                raise self._deadline_error(call, number - 1, last_error) from last_error
            self._check_open()
            request = self._http_client.build_request(
                call.method,
                parsed_url(call.url),
                headers=call.headers,
                content=call.content,
                timeout=_clamp(call.timeout, remaining),
            )
            try:
                if remaining is None:
                    return attempt(request, number)
                with sync_move_on_after(remaining):
                    return attempt(request, number)
            except SaasLiteLLMError as exc:
                if _own_request_in_flight(exc, call, number):
                    # An earlier attempt of this call is still running on the server: its
                    # outcome is what we want, so ask again for the replay (not a retry).
                    asked = server_delay(exc.response.headers)
                    delay = backoff_delay(1, self._random()) if asked is None else asked
                    remaining = self._remaining(call)
                    if remaining is None and waited_in_flight + delay > MAX_IN_FLIGHT_WAIT:
                        raise self._in_flight_error(call, waited_in_flight) from exc
                    waited_in_flight += delay
                    polls += 1
                else:
                    retry_delay = self._retry_delay(call, exc, number - polls)
                    if retry_delay is None:
                        raise
                    delay = retry_delay
                    remaining = self._remaining(call)
                if remaining is not None and delay >= remaining:
                    log.info(
                        "Not retrying %s %s: waiting %.2fs would pass the deadline (%.2fs left)",
                        call.method,
                        call.url,
                        delay,
                        remaining,
                    )
                    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
                        raise  # the server said when: a RateLimitError, with its retry_after
                    raise self._deadline_error(call, number, exc) from exc
                log.info(
                    "Retrying %s %s in %.2fs (retry %d of %d) after: %s",
                    call.method,
                    call.url,
                    delay,
                    number - polls,
                    call.max_retries,
                    _reason(exc),
                )
                last_error = exc
                self._sleep(delay)
                continue
            # Only reached when the deadline cancelled the attempt.
            log.info(
                "%s %s -> deadline of %gs reached (attempt %d of %d)",
                call.method,
                call.url,
                call.deadline,
                number,
                call.attempts,
            )
            raise self._deadline_error(call, number, last_error) from last_error

    def _send(
        self, request: httpx.Request, call: _Call, number: int, *, stream: bool
    ) -> httpx.Response:
        """One attempt; no httpx exception escapes. The body is read before returning, unless
        ``stream`` is true: then the caller reads it and must close the response."""
        if log.isEnabledFor(logging.DEBUG):  # the headers are redacted only to be logged
            log.debug(
                "%s %s (attempt %d of %d) headers=%s",
                request.method,
                request.url,
                number,
                call.attempts,
                redact_headers(request.headers),
            )
        started = self._clock()
        try:
            with _tracing.span(request, call.route, number) as span:
                response = self._http_client.send(request, stream=stream)
                span.answered(response)
        except httpx.HTTPError as exc:
            error = connection_error(exc, request)
            log.info(
                "%s %s -> failed in %.3fs (attempt %d of %d): %s",
                request.method,
                request.url,
                self._clock() - started,
                number,
                call.attempts,
                error,
            )
            raise error from exc
        log.info(
            "%s %s -> %d in %.3fs (attempt %d of %d, request_id=%s%s)",
            request.method,
            request.url,
            response.status_code,
            self._clock() - started,
            number,
            call.attempts,
            response.headers.get("x-request-id"),
            ", replayed" if response.headers.get("idempotent-replayed") == "true" else "",
        )
        return response
