"""The one place that speaks HTTP: headers, URLs, timeouts, error mapping, response parsing.

Both public clients are thin layers of typed methods over :meth:`_BaseClient._request` (and
:meth:`_BaseClient._request_stream` for SSE), so that cross-cutting behaviour (retries with
backoff, an ``Idempotency-Key`` per logical request, logging) is written once, here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    SaasLiteLLMError,
    _make_status_error,
)
from ._types import DEFAULT_TIMEOUT, NotGiven, TimeoutTypes
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "USER_AGENT"]

log = logging.getLogger("saas_litellm_client")

DEFAULT_BASE_URL = "http://localhost:8003"
USER_AGENT = f"saas-litellm-python/{__version__}"
ENV_BASE_URL = "SAAS_LITELLM_BASE_URL"

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_ClientT = TypeVar("_ClientT", bound="_BaseClient")


def _from_env(value: str | None, env_var: str) -> str | None:
    """An explicit argument wins; otherwise the environment; an empty string counts as unset."""
    if value is None:
        value = os.environ.get(env_var)
    return value or None


def _normalize_base_url(url: str) -> str:
    """Accept ``http://host:8003``, ``http://host:8003/`` and ``http://host:8003/api`` alike:
    the guide uses all three, and every path the SDK sends starts with ``/api``."""
    url = url.strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")].rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SaasLiteLLMError(f"Invalid base_url {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SaasLiteLLMError(
            f"base_url must be an absolute http:// or https:// URL, got {url!r} "
            f"(e.g. {DEFAULT_BASE_URL!r})"
        )
    return url


def _path_segment(value: str, name: str) -> str:
    """Quote an id as exactly one path segment, so that ``/``, ``?`` or ``..`` in it cannot
    send the request to another route."""
    if not value or value in (".", ".."):
        raise ValueError(f"{name} must be a non-empty id, got {value!r}")
    return quote(value, safe="")


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _connection_error(exc: httpx.HTTPError, request: httpx.Request | None) -> APIConnectionError:
    """The SDK error for an httpx failure without a usable response — while sending, or while
    reading a body or a stream later on. Raise it ``from exc``."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {_describe(exc)}", request=request)
    return APIConnectionError(f"Connection error: {_describe(exc)}", request=request)


async def _aclose_quietly(response: httpx.Response) -> None:
    """Close a response while another error is on its way: a failure to close must not hide it,
    and the connection is dropped from the pool either way."""
    try:
        await response.aclose()
    except httpx.HTTPError as exc:
        log.debug("Closing %s failed: %s", response.request.url, _describe(exc))


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.partition(";")[0].strip().lower()


class _BaseClient:
    """Owns an ``httpx.AsyncClient`` (or borrows the caller's) and turns each response into a
    shared model or a :class:`SaasLiteLLMError`."""

    base_url: str
    timeout: TimeoutTypes

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: TimeoutTypes | NotGiven,
        http_client: httpx.AsyncClient | None,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = _normalize_base_url(base_url)
        if isinstance(timeout, NotGiven):
            # A caller who configured their own client's timeout should not see it overridden.
            timeout = http_client.timeout if http_client is not None else DEFAULT_TIMEOUT
        self.timeout = timeout
        self._api_key = api_key
        self._extra_headers = dict(default_headers or {})
        self._owns_http_client = http_client is None
        self._http_client = http_client if http_client is not None else httpx.AsyncClient()
        self._closed = False

    def __repr__(self) -> str:  # never shows the key
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Release the connection pool. A passed-in ``http_client`` belongs to the caller and is
        left open. Calling ``close()`` again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http_client:
            await self._http_client.aclose()

    async def __aenter__(self: _ClientT) -> _ClientT:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"This {type(self).__name__} is closed; create a new one.")
        if self._http_client.is_closed:
            raise RuntimeError(
                f"The http_client passed to this {type(self).__name__} was closed by its owner."
            )

    # -- requests ----------------------------------------------------------------------------

    def _default_headers(self, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(self._extra_headers)
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        cast_to: type[_ModelT],
    ) -> _ModelT:
        """Send one API request and return its 2xx body parsed as ``cast_to``.

        Raises :class:`APIConnectionError`/:class:`APITimeoutError` without a response, an
        :class:`APIStatusError` subclass for a non-2xx, :class:`APIResponseValidationError` for a
        2xx that does not parse. Retries belong here: build the request once (with its
        idempotency key), then loop over :meth:`_send` for the retryable outcomes.
        """
        request = self._build_request(method, path, body)
        response = await self._send(request)
        return self._process_response(response, cast_to)

    async def _request_stream(
        self, method: str, path: str, *, body: BaseModel | None = None
    ) -> httpx.Response:
        """Send one API request answered by Server-Sent Events; return the response as soon as
        its headers arrived, with the body unread.

        The caller owns the response and must ``aclose()`` it. Errors are those of
        :meth:`_request`, raised before any event is read: an error status carries an ordinary
        JSON error body (read here, then the response is closed), and a 2xx that is not
        ``text/event-stream`` raises :class:`APIResponseValidationError` — httpx-sse would
        otherwise fail with its own ``SSEError``, an httpx exception.
        """
        request = self._build_request(method, path, body, accept="text/event-stream")
        response = await self._send(request, stream=True)
        try:
            if not response.is_success:
                try:
                    await response.aread()
                except httpx.HTTPError as exc:
                    raise _connection_error(exc, request) from exc
                raise _make_status_error(response)
            if _media_type(response) != "text/event-stream":
                raise APIResponseValidationError(
                    f"The response to {request.method} {request.url.path} should be "
                    f"text/event-stream, got {_media_type(response) or 'no content type'!r}",
                    response=response,
                )
        except BaseException:
            await _aclose_quietly(response)
            raise
        return response

    def _build_request(
        self, method: str, path: str, body: BaseModel | None, *, accept: str = "application/json"
    ) -> httpx.Request:
        self._check_open()
        json_body = (
            None if body is None else body.model_dump(mode="json", exclude_none=True, by_alias=True)
        )
        return self._http_client.build_request(
            method,
            self.base_url + path,
            headers=self._default_headers(accept),
            json=json_body,
            timeout=self.timeout,
        )

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """One attempt; no httpx exception escapes. The body is read before returning, unless
        ``stream`` is true: then the caller reads it and must close the response."""
        log.debug("%s %s", request.method, request.url)
        try:
            response = await self._http_client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise _connection_error(exc, request) from exc
        log.debug(
            "%s %s -> %s (request_id=%s)",
            request.method,
            request.url,
            response.status_code,
            response.headers.get("x-request-id"),
        )
        return response

    def _process_response(self, response: httpx.Response, cast_to: type[_ModelT]) -> _ModelT:
        if not response.is_success:
            raise _make_status_error(response)
        try:
            return cast_to.model_validate_json(response.content)
        except ValidationError as exc:
            request = response.request
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise APIResponseValidationError(
                f"The response to {request.method} {request.url.path} does not match "
                f"{cast_to.__name__} ({exc.error_count()} error(s); {where}: {first['msg']})",
                response=response,
            ) from exc
