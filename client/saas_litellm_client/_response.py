"""``client.with_raw_response``: the HTTP response behind a method's result, as openai-python
offers it.

``client.with_raw_response.llm_call(...)`` makes the same call as ``client.llm_call(...)`` —
same retries, idempotency key and errors — and returns a :class:`RawResponse`: the status, the
headers (``X-Request-ID``, ``X-Job-Id``, ``Idempotent-Replayed``, rate-limit headers…) and
``parse()`` for the model the method would have returned.

The request layer hands the final response of each call to :func:`record_response`, which keeps
it only while a ``with_raw_response`` method runs (a context variable, so concurrent calls in
other tasks or threads never see each other's responses). Methods that make several requests
(``structured_call`` re-asking) report the last one, the one whose answer was parsed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Generic, ParamSpec, TypeVar

import httpx

from ._exceptions import SaasLiteLLMError

__all__ = ["RawResponse", "async_raw_response", "record_response", "sync_raw_response"]

_T = TypeVar("_T")
_P = ParamSpec("_P")

_responses: ContextVar[list[httpx.Response] | None] = ContextVar(
    "saas_litellm_raw_responses", default=None
)


def record_response(response: httpx.Response) -> None:
    """Called by the request layer with each call's final response; kept only for a
    ``with_raw_response`` method running in this context."""
    responses = _responses.get()
    if responses is not None:
        responses.append(response)


class RawResponse(Generic[_T]):
    """The HTTP response of a call made through ``with_raw_response``, and its parsed result.

    Its body has been read and its connection returned to the pool: ``parse()``, ``headers``
    and ``content`` can be used at any time.
    """

    def __init__(self, http_response: httpx.Response, parsed: _T) -> None:
        self.http_response = http_response
        self._parsed = parsed

    def __repr__(self) -> str:
        request = self.http_response.request
        return f"<RawResponse [{self.status_code}] {request.method} {request.url.path}>"

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-ID``; quote it when reporting a problem."""
        request_id: str | None = self.http_response.headers.get("x-request-id")
        return request_id

    @property
    def content(self) -> bytes:
        return self.http_response.content

    def parse(self) -> _T:
        """What the method returns without ``with_raw_response``."""
        return self._parsed


def _last(responses: list[httpx.Response], name: str) -> httpx.Response:
    if not responses:  # a method that sent nothing: a bug of the SDK, not of the caller
        raise SaasLiteLLMError(f"{name} made no request to report a raw response for")
    return responses[-1]


def async_raw_response(
    method: Callable[_P, Awaitable[_T]],
) -> Callable[_P, Awaitable[RawResponse[_T]]]:
    """``method`` (an async client method) answering a :class:`RawResponse`."""

    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        responses: list[httpx.Response] = []
        token = _responses.set(responses)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            _responses.reset(token)
        return RawResponse(_last(responses, method.__name__), parsed)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def sync_raw_response(method: Callable[_P, _T]) -> Callable[_P, RawResponse[_T]]:
    """``method`` (a synchronous client method) answering a :class:`RawResponse`."""

    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        responses: list[httpx.Response] = []
        token = _responses.set(responses)
        try:
            parsed = method(*args, **kwargs)
        finally:
            _responses.reset(token)
        return RawResponse(_last(responses, method.__name__), parsed)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper
